-- Scheduler (fenced): the job fails for a reason of its own (split or reduce threw, too many tasks).
-- KEYS[1] fence  KEYS[2] job hash  KEYS[3] active set
-- ARGV[1] term  ARGV[2] job id  ARGV[3] JSON error  ARGV[4] now (ms)  ARGV[5] events channel
-- Returns the job's status after the call.
local err = fenceOrFail(tonumber(ARGV[1]))
if err then return err end
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'missing' end
if isTerminal(status) then return status end
redis.call('HSET', KEYS[2], 'status', 'failed', 'error', ARGV[3], 'finishedAt', ARGV[4])
queueWebhook(KEYS[2], ARGV[2], 'failed')
redis.call('SREM', KEYS[3], ARGV[2])
expireEndedJob(KEYS[2])
redis.call('PUBLISH', ARGV[5], 'end:' .. ARGV[2])
return 'failed'
