-- Scheduler (fenced): records one attempt at a webhook delivery and what comes next (docs/webhooks.md).
-- KEYS[1] fence  KEYS[2] delivery hash  KEYS[3] due set
-- ARGV[1] term  ARGV[2] delivery id  ARGV[3] the attempt (JSON object)  ARGV[4] state after it
-- (pending, delivered, gave_up, refused)  ARGV[5] next attempt (ms; pending only)
-- ARGV[6] the body sent ('' keeps the one stored)  ARGV[7] seconds an ended delivery is kept
-- Returns the delivery's state after the call, or 'missing'. A delivery that has ended is not changed.
local err = fenceOrFail(tonumber(ARGV[1]))
if err then return err end
local f = redis.call('HMGET', KEYS[2], 'state', 'attempts')
if not f[1] then return 'missing' end
if f[1] ~= 'pending' then return f[1] end
local attempts = f[2] or '[]'
if attempts == '[]' then attempts = '[' .. ARGV[3] .. ']' else attempts = string.sub(attempts, 1, -2) .. ',' .. ARGV[3] .. ']' end
redis.call('HSET', KEYS[2], 'state', ARGV[4], 'attempts', attempts)
if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], 'body', ARGV[6]) end
if ARGV[4] == 'pending' then
  redis.call('HSET', KEYS[2], 'nextAt', ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2])
else
  redis.call('HDEL', KEYS[2], 'nextAt')
  redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
end
return ARGV[4]
