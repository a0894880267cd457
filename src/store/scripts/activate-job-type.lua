-- API: makes a stored version of a deployed job type the active one (a rollback, or forward again).
-- KEYS[1] versions hash  KEYS[2] active hash  KEYS[3] revision
-- ARGV[1] name  ARGV[2] version
-- Returns the version that was active before.
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then
  return redis.error_reply('NOT_FOUND job type ' .. ARGV[1] .. ' has no version ' .. ARGV[2] .. '; see GET /v1/job-types/' .. ARGV[1] .. '/versions')
end
local before = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if before ~= ARGV[2] then redis.call('INCR', KEYS[3]) end
return tonumber(before or '0')
