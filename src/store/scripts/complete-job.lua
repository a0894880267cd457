-- Scheduler (fenced): stores the reduced result, ends the job and frees its task results.
-- KEYS[1] fence  KEYS[2] job hash  KEYS[3] job result  KEYS[4] active set  KEYS[5] results hash
-- KEYS[6] stored-results bitmap
-- ARGV[1] term  ARGV[2] job id  ARGV[3] now (ms)  ARGV[4] result (JSON)  ARGV[5] TTL seconds  ARGV[6] events channel
-- Returns the job's status after the call.
local err = fenceOrFail(tonumber(ARGV[1]))
if err then return err end
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'missing' end
if status ~= 'running' then return status end
redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5])
redis.call('HSET', KEYS[2], 'status', 'completed', 'finishedAt', ARGV[3], 'term', ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('SREM', KEYS[4], ARGV[2])
redis.call('UNLINK', KEYS[5], KEYS[6])
redis.call('PUBLISH', ARGV[6], 'end:' .. ARGV[2])
return 'completed'
