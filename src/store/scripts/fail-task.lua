-- Worker: a task failed for good (no attempts left, or not retryable). The job fails with it,
-- unless the job tolerates failures (options maxFailedTasks / maxFailedRatio, docs/tenants.md
-- "Tolerated failures") and this one stays within them: then the task counts as done with an error
-- (its stored-results bit is set, so no later result of it is stored: first write wins) and the job goes on.
-- KEYS[1] fence (unused)  KEYS[2] job hash  KEYS[3] task errors hash  KEYS[4] active set
-- KEYS[5] stored-results bitmap  KEYS[6] wake list
-- ARGV[1] job id  ARGV[2] task index  ARGV[3] JSON error  ARGV[4] now (ms)  ARGV[5] events channel
-- ARGV[6] the batch's scheduler term (0: not from a batch)  ARGV[7] the batch's last task index
-- Returns the job's status after the call, or 'stale' (nothing changed) for a batch of a stale
-- term. The job keeps the first failing task's error.
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'missing' end
if isTerminal(status) then return status end
if isStaleBatch(KEYS[2], tonumber(ARGV[6]), tonumber(ARGV[7])) then return 'stale' end
local options = cjson.decode(redis.call('HGET', KEYS[2], 'options') or '{}')
local maxTasks, maxRatio = options.maxFailedTasks, options.maxFailedRatio
if type(maxTasks) == 'number' or type(maxRatio) == 'number' then
  -- A task whose result is stored (another run of it succeeded) has not failed.
  if redis.call('GETBIT', KEYS[5], ARGV[2]) == 1 then return status end
  local f = redis.call('HMGET', KEYS[2], 'failed', 'splitDone', 'total')
  local failed = tonumber(f[1] or '0') + 1
  -- The ratio needs the task count: until the split has ended, the reduce checks it (scheduler.ts).
  local within = (type(maxTasks) ~= 'number' or failed <= maxTasks)
    and (type(maxRatio) ~= 'number' or f[2] ~= '1' or failed <= math.floor(maxRatio * tonumber(f[3])))
  if within then
    local err = cjson.decode(ARGV[3])
    err.tolerated = true
    redis.call('SETBIT', KEYS[5], ARGV[2], 1)
    redis.call('HSETNX', KEYS[3], ARGV[2], cjson.encode(err))
    redis.call('HINCRBY', KEYS[2], 'failed', 1)
    redis.call('HINCRBY', KEYS[2], 'done', 1)
    queueReduceIfDone(KEYS[2], KEYS[6], ARGV[1])
    return status
  end
end
if redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'failed', 1)
end
redis.call('HSET', KEYS[2], 'status', 'failed', 'error', ARGV[3], 'finishedAt', ARGV[4])
queueWebhook(KEYS[2], ARGV[1], 'failed')
redis.call('SREM', KEYS[4], ARGV[1])
expireEndedJob(KEYS[2])
redis.call('PUBLISH', ARGV[5], 'end:' .. ARGV[1])
return 'failed'
