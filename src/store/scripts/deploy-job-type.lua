-- API: stores a deployed job type's code (content-addressed) as its next version and makes it active.
-- KEYS[1] versions hash  KEYS[2] seq  KEYS[3] code key (by digest)  KEYS[4] active hash  KEYS[5] revision
-- ARGV[1] name  ARGV[2] digest  ARGV[3] code  ARGV[4] JSON of the version without `version` and `deployedAt`
-- Returns { version, 1 } for a new version; { version, 0 } when the active version has the same
-- code already (deploying the same file twice makes no version).
local active = redis.call('HGET', KEYS[4], ARGV[1])
if active then
  local current = redis.call('HGET', KEYS[1], active)
  if current and cjson.decode(current).digest == ARGV[2] then return { tonumber(active), 0 } end
end
local version = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[3], ARGV[3])
local meta = cjson.decode(ARGV[4])
meta.version = version
meta.deployedAt = nowMs()
redis.call('HSET', KEYS[1], version, cjson.encode(meta))
redis.call('HSET', KEYS[4], ARGV[1], version)
redis.call('INCR', KEYS[5])
return { version, 1 }
