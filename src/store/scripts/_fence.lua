-- Fencing prelude (docs/architecture.md §2), prepended to every script a scheduler runs.
-- A write carrying a term lower than the highest one seen is refused, so a deposed leader
-- that wakes up late changes nothing. The fence key is always KEYS[1] in fenced scripts.
local function fenceOrFail(term)
  local highest = tonumber(redis.call('GET', KEYS[1]) or '0')
  if term < highest then
    return redis.error_reply('STALE_TERM term ' .. term .. ' is below the highest seen ' .. highest)
  end
  if term > highest then redis.call('SET', KEYS[1], term) end
  return nil
end

local function isTerminal(status)
  return status == 'completed' or status == 'failed' or status == 'cancelled'
end

-- The keys a job holds besides its result, all named from its record's key (keys.ts).
local function jobKeys(jobKey)
  return {jobKey, jobKey .. ':results', jobKey .. ':stored', jobKey .. ':errors', jobKey .. ':logs'}
end

-- A failed or cancelled job is kept, with what it stored (a retry runs only the tasks without a
-- result), for its `resultTtlSec`, as a completed one is; then Redis forgets it (docs/operations.md
-- "Retention"). A retry makes it live again (retry-job.lua).
local function expireEndedJob(jobKey)
  local options = cjson.decode(redis.call('HGET', jobKey, 'options') or '{}')
  local ttl = tonumber(options.resultTtlSec) or 86400
  for _, key in ipairs(jobKeys(jobKey)) do redis.call('EXPIRE', key, ttl) end
end

-- Milliseconds since the epoch by the Redis clock (one clock for every process's timings).
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Queues the reduce once every task has a result and the split has ended.
local function queueReduceIfDone(jobKey, wakeKey, id)
  local f = redis.call('HMGET', jobKey, 'splitDone', 'total', 'done', 'reduceQueued', 'status')
  if f[1] == '1' and tonumber(f[3]) >= tonumber(f[2]) and f[4] ~= '1' and f[5] == 'running' then
    redis.call('HSET', jobKey, 'reduceQueued', '1', 'lastResultAt', nowMs())
    redis.call('RPUSH', wakeKey, 'reduce:' .. id)
  end
end

-- Fencing at the workers' writes (docs/architecture.md §2): a batch of `term` reaching task `lastIndex` is stale
-- once a leader of a later term adopted the job at or below that task (start-job.lua): that
-- leader places those tasks itself. Term 0 (a write not from a batch) is never stale.
local function isStaleBatch(jobKey, term, lastIndex)
  if not term or term <= 0 then return false end
  local adoptions = redis.call('HGET', jobKey, 'adoptions')
  if not adoptions then return false end
  for t, placed in string.gmatch(adoptions, '(%d+):(%d+)') do
    if tonumber(t) > term then return lastIndex >= tonumber(placed) end
  end
  return false
end

-- Queues one delivery of a job that ended as `event` to `callback` (JSON), under `deliveryId`,
-- if the callback asks for the event and it is not queued yet. Returns whether it is queued.
local function queueDelivery(jobKey, id, event, callback, deliveryId)
  local wanted = false
  for _, e in ipairs(cjson.decode(callback).events or {}) do
    if e == event then wanted = true end
  end
  if not wanted then return false end
  local base = string.sub(jobKey, 1, #jobKey - #id - 4)
  local key = base .. 'webhook:' .. deliveryId
  if redis.call('EXISTS', key) == 1 then return true end
  local f = redis.call('HMGET', jobKey, 'name', 'error', 'finishedAt')
  local now = nowMs()
  redis.call('HSET', key, 'id', deliveryId, 'jobId', id, 'event', event, 'callback', callback,
    'name', f[1] or '', 'error', f[2] or '', 'finishedAt', f[3] or now, 'createdAt', now,
    'state', 'pending', 'attempts', '[]', 'nextAt', now)
  redis.call('ZADD', base .. 'webhooks:due', now, deliveryId)
  return true
end

-- Queues the webhook deliveries of a job that just ended as `event` (docs/webhooks.md), in the
-- same script that ends it, so a crash cannot lose them: one per callback that asks for the event,
-- its own `callback` field first, then its tenant's defaults (`callbacks`, a JSON list, docs/tenants.md),
-- both written at creation. Keyed by job, event and run (and the callback's place after the first):
-- repeating it is harmless. The names are those of keys.ts (`webhook`, `webhooksDue`), built from
-- the job key's prefix. The job's name, error and end are copied: the job hash may expire before
-- the delivery. The job's `webhook` field names the first delivery (its detail shows that log).
local function queueWebhook(jobKey, id, event)
  local raw = redis.call('HMGET', jobKey, 'callback', 'callbacks', 'retries')
  local callbacks = {}
  if raw[1] then callbacks[#callbacks + 1] = raw[1] end
  if raw[2] then
    for _, cb in ipairs(cjson.decode(raw[2])) do callbacks[#callbacks + 1] = cjson.encode(cb) end
  end
  local first = nil
  for i, callback in ipairs(callbacks) do
    local deliveryId = id .. '.' .. event .. '.' .. (raw[3] or '0') .. (i == 1 and '' or ('.' .. (i - 1)))
    if queueDelivery(jobKey, id, event, callback, deliveryId) and not first then first = deliveryId end
  end
  if first then redis.call('HSET', jobKey, 'webhook', first) end
end

-- Ends a running job as completed with its result: the result and the record expire after `ttl`
-- seconds, the task results and their bitmap are freed, and the API's waiters are told.
-- `fields`: further job hash fields to set (field, value, …).
local function completeWith(jobKey, resultKey, activeKey, resultsKey, bitsKey, id, result, ttl, channel, fields)
  redis.call('SET', resultKey, result, 'EX', ttl)
  redis.call('HSET', jobKey, 'status', 'completed', unpack(fields))
  queueWebhook(jobKey, id, 'completed')
  redis.call('EXPIRE', jobKey, ttl)
  redis.call('EXPIRE', jobKey .. ':logs', ttl)
  redis.call('SREM', activeKey, id)
  redis.call('UNLINK', resultsKey, bitsKey)
  redis.call('PUBLISH', channel, 'end:' .. id)
end
