-- Worker: a task failed for good (no attempts left, or not retryable); the job fails with it.
-- KEYS[1] fence (unused)  KEYS[2] job hash  KEYS[3] task errors hash  KEYS[4] active set
-- ARGV[1] job id  ARGV[2] task index  ARGV[3] JSON error  ARGV[4] now (ms)  ARGV[5] events channel
-- Returns the job's status after the call. The job keeps the first failing task's error.
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'missing' end
if isTerminal(status) then return status end
if redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'failed', 1)
end
redis.call('HSET', KEYS[2], 'status', 'failed', 'error', ARGV[3], 'finishedAt', ARGV[4])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('PUBLISH', ARGV[5], 'end:' .. ARGV[1])
return 'failed'
