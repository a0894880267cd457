-- API: stores a new schedule and lists it; nothing if the id is taken.
-- KEYS[1] schedules set  KEYS[2] schedule hash
-- ARGV[1] schedule id  ARGV[2 ..] field, value pairs
-- Returns 1 when stored, 0 when the id was taken.
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('SADD', KEYS[1], ARGV[1])
return 1
