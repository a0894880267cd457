-- Scheduler (fenced): a schedule's ticks up to ARGV[2] are dealt with (fired, or skipped as missed);
-- the last tick only moves forward. With an entry, the job a tick started is listed (newest first), once.
-- KEYS[1] fence  KEYS[2] schedule hash  KEYS[3] the schedule's jobs list
-- ARGV[1] term  ARGV[2] tick (ms)  ARGV[3] JSON entry {tick, jobId}, or ''  ARGV[4] entries kept
-- Returns 1, or 0 when the schedule is gone (deleted meanwhile).
local err = fenceOrFail(tonumber(ARGV[1]))
if err then return err end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local last = tonumber(redis.call('HGET', KEYS[2], 'lastTick') or '0')
if tonumber(ARGV[2]) > last then redis.call('HSET', KEYS[2], 'lastTick', ARGV[2]) end
if ARGV[3] ~= '' and not redis.call('LPOS', KEYS[3], ARGV[3]) then
  redis.call('LPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
end
return 1
