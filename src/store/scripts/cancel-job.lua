-- API: cancels a job that has not ended and tells every worker node.
-- KEYS[1] fence (unused)  KEYS[2] job hash  KEYS[3] active set
-- ARGV[1] job id  ARGV[2] now (ms)  ARGV[3] events channel
-- Returns the job's status after the call, or 'missing'.
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'missing' end
if isTerminal(status) then return status end
redis.call('HSET', KEYS[2], 'status', 'cancelled', 'finishedAt', ARGV[2])
queueWebhook(KEYS[2], ARGV[1], 'cancelled')
redis.call('SREM', KEYS[3], ARGV[1])
expireEndedJob(KEYS[2])
redis.call('PUBLISH', ARGV[3], 'cancel:' .. ARGV[1])
return 'cancelled'
