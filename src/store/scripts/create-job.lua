-- Creates a job record, lists it, indexes it for search and wakes the scheduler; nothing if the
-- id exists, or if the job needs a quota reservation that is not there.
-- KEYS[1] job hash  KEYS[2] jobs zset  KEYS[3] active set  KEYS[4] wake list  KEYS[5] jobs-by-id zset
-- KEYS[6] the submitter's quota zset, '' for none (admitted by quota-admit in the same write, before this)
-- ARGV[1] id  ARGV[2] createdAt (ms)  ARGV[3] search-word TTL (s)  ARGV[4] number W of search-word keys
-- ARGV[5 .. 4+W] search-word set keys  ARGV[5+W ..] field, value pairs
-- Returns 1 when created, 0 when the id was taken, -1 when the quota did not admit the job.
local id = ARGV[1]
if KEYS[6] ~= '' and not redis.call('ZSCORE', KEYS[6], id) then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local words = tonumber(ARGV[4])
local fields = {}
for i = 5 + words, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('ZADD', KEYS[2], ARGV[2], id)
redis.call('SADD', KEYS[3], id)
redis.call('ZADD', KEYS[5], 0, id)
for i = 5, 4 + words do
  redis.call('SADD', ARGV[i], id)
  redis.call('EXPIRE', ARGV[i], ARGV[3])
end
redis.call('RPUSH', KEYS[4], 'split:' .. id)
return 1
