-- Scheduler (fenced): a queued job becomes running, and a leader adopts the job's placements.
-- KEYS[1] fence  KEYS[2] job hash  KEYS[3] measured task times (hash: job type -> µs)
-- ARGV[1] term  ARGV[2] now (ms)
-- Returns { the job hash after the call as a flat field/value list (empty when missing),
-- µs per task of its type or false before any was measured }.
-- A job whose split has ended, or that has ended, is returned unchanged.
--
-- Adoption (docs/architecture.md §2): the first time a leader of a higher term starts splitting a job, it
-- records `term:placed` in the job's `adoptions`. Queue entries of earlier terms holding only
-- tasks below `placed` were enqueued before a checkpoint that passed the fence: they stay. An
-- earlier term's entry with a task at or past it may come from a deposed leader that enqueued
-- after the fence rose; the adopter re-splits from `placed`, and workers refuse that entry.
local err = fenceOrFail(tonumber(ARGV[1]))
if err then return err end
local f = redis.call('HMGET', KEYS[2], 'status', 'placed', 'term', 'adoptions', 'splitDone', 'name')
local status = f[1]
if not status then return { {}, false } end
local placed = tonumber(f[2] or '0')
if f[5] ~= '1' then
  if status == 'queued' then
    redis.call('HSET', KEYS[2], 'status', 'running', 'startedAt', ARGV[2])
    status = 'running'
  end
  if status == 'running' and tonumber(ARGV[1]) > tonumber(f[3] or '0') then
    local adoption = ARGV[1] .. ':' .. placed
    redis.call('HSET', KEYS[2], 'term', ARGV[1], 'adoptions', f[4] and (f[4] .. ',' .. adoption) or adoption)
  end
end
return { redis.call('HGETALL', KEYS[2]), redis.call('HGET', KEYS[3], f[6] or '') }
