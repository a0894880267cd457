-- Scheduler (fenced): how far the split has enqueued, and its total once it has ended.
-- KEYS[1] fence  KEYS[2] job hash  KEYS[3] wake list
-- ARGV[1] term  ARGV[2] job id  ARGV[3] tasks placed so far  ARGV[4] total, or '' while splitting
-- Returns the job's status.
local err = fenceOrFail(tonumber(ARGV[1]))
if err then return err end
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'missing' end
if isTerminal(status) then return status end
redis.call('HSET', KEYS[2], 'placed', ARGV[3], 'term', ARGV[1])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], 'total', ARGV[4], 'splitDone', '1', 'splitDoneAt', nowMs())
  queueReduceIfDone(KEYS[2], KEYS[3], ARGV[2])
end
return status
