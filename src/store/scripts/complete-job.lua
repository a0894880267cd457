-- Scheduler (fenced): stores the reduced result, ends the job and frees its task results.
-- KEYS[1] fence  KEYS[2] job hash  KEYS[3] job result  KEYS[4] active set  KEYS[5] results hash
-- KEYS[6] stored-results bitmap  KEYS[7] task errors hash (a partial job's, kept as long as its result)
-- ARGV[1] term  ARGV[2] job id  ARGV[3] now (ms)  ARGV[4] result (JSON)  ARGV[5] TTL seconds  ARGV[6] events channel
-- Returns the job's status after the call.
local err = fenceOrFail(tonumber(ARGV[1]))
if err then return err end
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'missing' end
if status ~= 'running' then return status end
completeWith(KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[2], ARGV[4], ARGV[5], ARGV[6],
  { 'finishedAt', ARGV[3], 'term', ARGV[1], 'reducedOn', 'scheduler' })
redis.call('EXPIRE', KEYS[7], ARGV[5])
return 'completed'
