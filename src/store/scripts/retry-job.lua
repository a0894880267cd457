-- API: a failed job runs again; only tasks without a stored result are re-enqueued.
-- KEYS[1] fence (unused)  KEYS[2] job hash  KEYS[3] task errors hash  KEYS[4] active set  KEYS[5] wake list
-- KEYS[6] stored-results bitmap
-- ARGV[1] job id
-- Returns the job's status before the call, or 'missing'.
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'missing' end
if status ~= 'failed' then return status end
redis.call('HSET', KEYS[2], 'status', 'queued', 'failed', '0', 'placed', '0', 'reduceQueued', '0')
redis.call('HDEL', KEYS[2], 'error', 'finishedAt', 'splitDone', 'total')
redis.call('HINCRBY', KEYS[2], 'retries', 1)
-- Live again: no longer expiring with what it stored.
for _, key in ipairs(jobKeys(KEYS[2])) do redis.call('PERSIST', key) end
-- Tasks whose failure was tolerated (fail-task.lua) run again: their bit is cleared, their count taken off `done`.
for _, e in ipairs(redis.call('HVALS', KEYS[3])) do
  local err = cjson.decode(e)
  if err.tolerated and err.taskIndex and redis.call('GETBIT', KEYS[6], err.taskIndex) == 1 then
    redis.call('SETBIT', KEYS[6], err.taskIndex, 0)
    redis.call('HINCRBY', KEYS[2], 'done', -1)
  end
end
redis.call('DEL', KEYS[3])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('RPUSH', KEYS[5], 'split:' .. ARGV[1])
return 'failed'
