-- API: deletes a schedule and the list of the jobs its ticks started (the jobs stay).
-- KEYS[1] schedules set  KEYS[2] schedule hash  KEYS[3] the schedule's jobs list
-- ARGV[1] schedule id
-- Returns 1 when deleted, 0 when there was no such schedule.
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SREM', KEYS[1], ARGV[1])
return 1
