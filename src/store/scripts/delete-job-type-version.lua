-- API: deletes a version of a deployed job type that is not active and that no job in flight runs.
-- KEYS[1] versions hash  KEYS[2] active hash  KEYS[3] revision  KEYS[4] set of jobs in flight
-- KEYS[5] the version's code key
-- ARGV[1] name  ARGV[2] version  ARGV[3] job hash key prefix (the key of job `id` is prefix .. id)
-- Returns 1. Refusals are CONFLICT (active, or in use: names a job) and NOT_FOUND.
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if not raw then
  return redis.error_reply('NOT_FOUND job type ' .. ARGV[1] .. ' has no version ' .. ARGV[2])
end
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  return redis.error_reply('CONFLICT version ' .. ARGV[2] .. ' of ' .. ARGV[1] .. ' is the active one; activate another version first')
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local f = redis.call('HMGET', ARGV[3] .. id, 'name', 'version')
  if f[1] == ARGV[1] and f[2] == ARGV[2] then
    return redis.error_reply('CONFLICT version ' .. ARGV[2] .. ' of ' .. ARGV[1] .. ' is in use by job ' .. id .. ', which has not ended')
  end
end
redis.call('HDEL', KEYS[1], ARGV[2])
-- The code goes with its last version (two versions may share it: a rollback redeployed).
local digest = cjson.decode(raw).digest
local shared = false
for _, other in ipairs(redis.call('HVALS', KEYS[1])) do
  if cjson.decode(other).digest == digest then shared = true end
end
if not shared then redis.call('DEL', KEYS[5]) end
redis.call('INCR', KEYS[3])
return 1
