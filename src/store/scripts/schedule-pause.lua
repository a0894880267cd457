-- API: pauses or resumes a schedule. A resumed schedule fires only the ticks after now: its last
-- tick moves up to now, so the ticks it slept through are not taken for missed ones.
-- KEYS[1] schedule hash
-- ARGV[1] '1' to pause, '0' to resume  ARGV[2] now (ms)
-- Returns 1 when changed or already so, 0 when there is no such schedule.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'paused', ARGV[1])
if ARGV[1] == '0' then
  local last = tonumber(redis.call('HGET', KEYS[1], 'lastTick') or '0')
  if tonumber(ARGV[2]) > last then redis.call('HSET', KEYS[1], 'lastTick', ARGV[2]) end
end
return 1
