-- Creates a job record, lists it and wakes the scheduler; nothing if the id exists.
-- KEYS[1] job hash  KEYS[2] jobs zset  KEYS[3] active set  KEYS[4] wake list
-- ARGV[1] id  ARGV[2] createdAt (ms)  ARGV[3..] field, value pairs
-- Returns 1 when created, 0 when the id was taken.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('RPUSH', KEYS[4], 'split:' .. ARGV[1])
return 1
