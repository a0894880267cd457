-- Creates a job record, lists it, indexes it for search and wakes the scheduler; nothing if the
-- id exists, if the job needs a quota reservation that is not there, or if its idempotency key
-- names a job already (docs/tenants.md): the key is stored here, with the job, so both are
-- created together and confirmed by the same WAIT.
-- KEYS[1] job hash  KEYS[2] jobs zset  KEYS[3] active set  KEYS[4] wake list  KEYS[5] jobs-by-id zset
-- KEYS[6] the submitter's quota zset, '' for none (admitted by quota-admit in the same write, before this)
-- KEYS[7] the tenant's quota zset, '' for none (likewise)
-- KEYS[8] the idempotency key's string, '' for none
-- KEYS[9] the tenant's jobs zset
-- ARGV[1] id  ARGV[2] createdAt (ms)  ARGV[3] search-word TTL (s)  ARGV[4] number W of search-word keys
-- ARGV[5] digest of the submission's body (with KEYS[8])  ARGV[6] the idempotency key's TTL (s)
-- ARGV[7 .. 6+W] search-word set keys  ARGV[7+W ..] field, value pairs
-- Returns 1 when created, 0 when the id was taken, -1 when a quota did not admit the job,
-- {'same', id} when the key names job `id` created from the same body, {'other', id} from another body.
local id = ARGV[1]
if KEYS[8] ~= '' then
  local held = redis.call('GET', KEYS[8])
  if held then
    -- The reservations made for this id in the same write are given back: no job takes them.
    if KEYS[6] ~= '' then redis.call('ZREM', KEYS[6], id) end
    if KEYS[7] ~= '' then redis.call('ZREM', KEYS[7], id) end
    local sep = string.find(held, ' ', 1, true)
    local heldId, heldDigest = string.sub(held, 1, sep - 1), string.sub(held, sep + 1)
    if heldDigest == ARGV[5] then return {'same', heldId} end
    return {'other', heldId}
  end
end
local function reserved(key) return key == '' or redis.call('ZSCORE', key, id) end
if not (reserved(KEYS[6]) and reserved(KEYS[7])) then
  -- One quota refused: the other's reservation, if any, is given back.
  for _, key in ipairs({KEYS[6], KEYS[7]}) do
    if key ~= '' then redis.call('ZREM', key, id) end
  end
  return -1
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local words = tonumber(ARGV[4])
local fields = {}
for i = 7 + words, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('ZADD', KEYS[2], ARGV[2], id)
redis.call('SADD', KEYS[3], id)
redis.call('ZADD', KEYS[5], 0, id)
redis.call('ZADD', KEYS[9], ARGV[2], id)
for i = 7, 6 + words do
  redis.call('SADD', ARGV[i], id)
  redis.call('EXPIRE', ARGV[i], ARGV[3])
end
if KEYS[8] ~= '' then redis.call('SET', KEYS[8], id .. ' ' .. ARGV[5], 'EX', ARGV[6]) end
redis.call('RPUSH', KEYS[4], 'split:' .. id)
return 1
