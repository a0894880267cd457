-- Worker: appends the lines a batch's tasks wrote with `ctx.log` to the job's log, keeping the
-- newest ARGV[1]; nothing for a job Redis has forgotten. A log written after the job ended expires
-- with it (the record's TTL); one written before is given that TTL when the job ends (_fence.lua).
-- KEYS[1] job hash  KEYS[2] the job's log list
-- ARGV[1] most lines kept  ARGV[2..] JSON lines
-- Returns the lines the log holds, 0 when the job is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(#ARGV, i + 999)))
end
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[1]), -1)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return redis.call('LLEN', KEYS[2])
