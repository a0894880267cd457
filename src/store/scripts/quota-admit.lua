-- API: reserves a slot for a job in its principal's jobs in flight, unless they are at the limit.
-- KEYS[1] the principal's quota set (job id -> reservation ms)
-- ARGV[1] job hash key prefix  ARGV[2] limit  ARGV[3] now (ms)  ARGV[4] grace (ms)  ARGV[5] job id
-- Returns {1, count} when admitted (count includes it), {0, count} when the principal is at its limit.
--
-- A job leaves the set lazily: pruning runs only when the set is full, so a principal under its
-- limit pays one ZCARD and one ZADD per submission. A member is pruned when its job
--   - has ended (completed/failed/cancelled) after the reservation was made, or
--   - is missing (expired, or its creation failed) and the reservation is older than the grace, or
--   - has ended and the reservation is older than the grace (a retry whose re-queue never happened).
-- queued and running jobs are never pruned. Only this script adds members, and only below the
-- limit, so the set never holds more than the limit.
--
-- The job hashes are read by name (ARGV[1] .. id) rather than through KEYS, as BullMQ's scripts
-- do: fine on a single master (with or without Sentinel), not on Redis Cluster.
local key, jobPrefix, limit, now, grace, id = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
if redis.call('ZSCORE', key, id) then
  redis.call('ZADD', key, now, id)
  return {1, redis.call('ZCARD', key)}
end
local count = redis.call('ZCARD', key)
if count >= limit then
  local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    local member, reserved = entries[i], tonumber(entries[i + 1])
    local job = redis.call('HMGET', jobPrefix .. member, 'status', 'finishedAt')
    local status, finished = job[1], tonumber(job[2])
    local old = now - reserved > grace
    local prune
    if status == 'queued' or status == 'running' then prune = false
    elseif not status then prune = old
    else prune = old or (finished ~= nil and finished >= reserved) end
    if prune then redis.call('ZREM', key, member) end
  end
  count = redis.call('ZCARD', key)
  if count >= limit then return {0, count} end
end
redis.call('ZADD', key, now, id)
return {1, count + 1}
