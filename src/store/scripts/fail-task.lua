-- Worker: a task failed for good (no attempts left, or not retryable); the job fails with it.
-- KEYS[1] fence (unused)  KEYS[2] job hash  KEYS[3] task errors hash  KEYS[4] active set
-- ARGV[1] job id  ARGV[2] task index  ARGV[3] JSON error  ARGV[4] now (ms)  ARGV[5] events channel
-- ARGV[6] the batch's scheduler term (0: not from a batch)  ARGV[7] the batch's last task index
-- Returns the job's status after the call, or 'stale' (nothing changed) for a batch of a stale
-- term. The job keeps the first failing task's error.
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'missing' end
if isTerminal(status) then return status end
if isStaleBatch(KEYS[2], tonumber(ARGV[6]), tonumber(ARGV[7])) then return 'stale' end
if redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'failed', 1)
end
redis.call('HSET', KEYS[2], 'status', 'failed', 'error', ARGV[3], 'finishedAt', ARGV[4])
queueWebhook(KEYS[2], ARGV[1], 'failed')
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('PUBLISH', ARGV[5], 'end:' .. ARGV[1])
return 'failed'
