-- Scheduler (fenced): a queued job becomes running.
-- KEYS[1] fence  KEYS[2] job hash
-- ARGV[1] term  ARGV[2] now (ms)
-- Returns the job's status after the call, or 'missing'.
local err = fenceOrFail(tonumber(ARGV[1]))
if err then return err end
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'missing' end
if status == 'queued' then
  redis.call('HSET', KEYS[2], 'status', 'running', 'startedAt', ARGV[2], 'term', ARGV[1])
  return 'running'
end
return status
