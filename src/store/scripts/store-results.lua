-- Worker: stores task results, first write per task wins (docs/architecture.md §3).
-- KEYS[1] fence (unused; keeps the prelude's layout)  KEYS[2] job hash  KEYS[3] results hash
-- KEYS[4] wake list  KEYS[5] cluster-wide count of stored results (the dashboard's throughput)
-- KEYS[6] hash: job type → average task run time in µs (how the scheduler sizes batches)
-- KEYS[7] bitmap: bit i set once task i has a stored result
-- KEYS[8] the job's result  KEYS[9] set of active jobs
-- KEYS[10] hash: job type → average JSON bytes of one task's result (how the scheduler bounds an entry)
-- ARGV[1] job id  ARGV[2] job type  ARGV[3] measured µs per task of this batch, or ''
-- ARGV[4] worker node id  ARGV[5] attempt of the queue entry (0 first)
-- ARGV[6] the batch's scheduler term (0: not from a batch)  ARGV[7] the batch's last task index
-- ARGV[8] '1': these are every task of the job, reduced to ARGV[11] (TaskBatch.whole); else ''
-- ARGV[9] the job's result TTL, seconds  ARGV[10] events channel  ARGV[11] the reduced result
-- ARGV[12] task indices, comma-separated, a run of consecutive ones as first-last ('0-999,2000')
-- ARGV[13] their results' JSON, comma-separated, in
-- the same order (a JSON array's body: result-blobs.ts, PackedResults)
-- ARGV[14] JSON bytes per result of this batch, or ''
-- Returns { stored, duplicates, status }. Nothing is stored for a job that has ended: such a
-- late result is counted as dropped (not as a duplicate: no result was stored for it). Nothing
-- is stored from a batch of a stale term either: status 'stale', counted in `staleRefused`.
-- With ARGV[8] '1' and no result stored for the job yet, the job completes with the reduced
-- result (status 'completed'); the task results themselves are not kept, as after a reduce.
--
-- Why a bitmap and one hash field per batch: a run of tasks none of which is stored is claimed
-- with one BITCOUNT and one SETRANGE (others with a BITFIELD per 1,000 tasks), and the reduce
-- reads a few hundred blobs instead of a field per task. The bit, not the blob, is what makes the first write win. The batch is stored
-- as `{"i":"indices","r":[results]}` from the arguments as they came (no work per result here);
-- positions whose task another copy stored first are listed in front, `{"x":[positions],…`,
-- and the reduce skips them (assembleResults in result-blobs.ts).

-- Tasks claimed with one BITFIELD at most (its arguments stay a few thousand).
local CLAIM_CHUNK = 1000
-- Runs shorter than this are claimed task by task: a BITCOUNT first would cost more than it saves.
local WHOLE_RUN_MIN = 64
-- Sets bits from..to of `key`: the whole bytes among them with one SETRANGE (bit 0 is the high bit
-- of byte 0, as BITFIELD and BITCOUNT count), the bits at either end with one BITFIELD.
local function setBits(key, from, to)
  local firstByte = math.ceil(from / 8)
  local lastByte = math.floor((to + 1) / 8) - 1
  local ops = {}
  local function setBit(i)
    ops[#ops + 1] = 'SET'; ops[#ops + 1] = 'u1'; ops[#ops + 1] = i; ops[#ops + 1] = 1
  end
  if lastByte < firstByte then
    for i = from, to do setBit(i) end
  else
    for i = from, firstByte * 8 - 1 do setBit(i) end
    for i = (lastByte + 1) * 8, to do setBit(i) end
    redis.call('SETRANGE', key, firstByte, string.rep('\255', lastByte - firstByte + 1))
  end
  if #ops > 0 then redis.call('BITFIELD', key, unpack(ops)) end
end
if ARGV[3] ~= '' then
  -- Exponentially weighted average: recent batches count most, one outlier does not swing it.
  local previous = tonumber(redis.call('HGET', KEYS[6], ARGV[2]) or ARGV[3])
  redis.call('HSET', KEYS[6], ARGV[2], math.floor(previous * 0.7 + tonumber(ARGV[3]) * 0.3))
end
if ARGV[14] ~= '' then
  local previous = tonumber(redis.call('HGET', KEYS[10], ARGV[2]) or ARGV[14])
  redis.call('HSET', KEYS[10], ARGV[2], math.ceil(previous * 0.7 + tonumber(ARGV[14]) * 0.3))
end
-- Counts `n` results stored: the job's progress, the cluster's throughput, where and how long the job's tasks ran.
local function countStored(n)
  redis.call('HINCRBY', KEYS[2], 'done', n)
  redis.call('INCRBY', KEYS[5], n)
  redis.call('HINCRBY', KEYS[2], 'node:' .. ARGV[4], n)
  if ARGV[3] ~= '' then
    redis.call('HINCRBY', KEYS[2], 'runMicros', math.floor(tonumber(ARGV[3]) * n))
    -- Per node too: a node's run time per task against the others' is how the leader sees a slow one (node-loads.ts).
    redis.call('HINCRBY', KEYS[2], 'runMicros:' .. ARGV[4], math.floor(tonumber(ARGV[3]) * n))
  end
  if ARGV[5] ~= '0' then redis.call('HINCRBY', KEYS[2], 'retriedTasks', n) end
end
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return { 0, 0, 'missing' } end
-- The batch's index runs as { first, last } pairs, in the order they came.
local runs = {}
local count = 0
for run in string.gmatch(ARGV[12], '[^,]+') do
  local first, last = string.match(run, '^(%d+)-(%d+)$')
  first = tonumber(first or run)
  last = tonumber(last or run)
  runs[#runs + 1] = { first, last }
  count = count + last - first + 1
end
if isTerminal(status) then
  redis.call('HINCRBY', KEYS[2], 'dropped', count)
  return { 0, 0, status }
end
if isStaleBatch(KEYS[2], tonumber(ARGV[6]), tonumber(ARGV[7])) then
  redis.call('HINCRBY', KEYS[2], 'staleRefused', count)
  return { 0, 0, 'stale' }
end
if ARGV[8] == '1' and status == 'running' and redis.call('HGET', KEYS[2], 'done') == '0' then
  -- Nothing stored before, so every result is fresh (first write wins) and the job is done.
  local now = nowMs()
  countStored(count)
  redis.call('HSETNX', KEYS[2], 'splitDoneAt', now)
  completeWith(KEYS[2], KEYS[8], KEYS[9], KEYS[3], KEYS[7], ARGV[1], ARGV[11], ARGV[9], ARGV[10], {
    'finishedAt', now, 'lastResultAt', now, 'placed', count, 'total', count, 'splitDone', '1', 'reducedOn', ARGV[4],
  })
  return { count, 0, 'completed' }
end
-- The claim: a run of tasks none of which is stored yet (one BITCOUNT) is claimed at once, its
-- whole bytes with one SETRANGE (the replica gets one short command instead of a SET per task:
-- docs/performance.md, "Throughput"); any other run task by task, BITFIELD's old values saying
-- which tasks another copy stored first. Either way, in this one script, a task whose bit is set
-- is never stored again.
local lost = {}
local first = nil
local position = 0 -- tasks of the batch before the run being claimed
for _, run in ipairs(runs) do
  local from, to = run[1], run[2]
  if to - from + 1 >= WHOLE_RUN_MIN and redis.call('BITCOUNT', KEYS[7], from, to, 'BIT') == 0 then
    setBits(KEYS[7], from, to)
    first = first or from
  else
    for start = from, to, CLAIM_CHUNK do
      local stop = math.min(to, start + CLAIM_CHUNK - 1)
      local ops = {}
      for i = start, stop do
        ops[#ops + 1] = 'SET'; ops[#ops + 1] = 'u1'; ops[#ops + 1] = i; ops[#ops + 1] = 1
      end
      local old = redis.call('BITFIELD', KEYS[7], unpack(ops))
      for k = 1, #old do
        if old[k] == 0 then first = first or start + k - 1 else lost[#lost + 1] = position + start - from + k - 1 end
      end
    end
  end
  position = position + to - from + 1
end
local stored = count - #lost
if stored > 0 then
  local blob = '{"i":"' .. ARGV[12] .. '","r":[' .. ARGV[13] .. ']}'
  if #lost > 0 then blob = '{"x":[' .. table.concat(lost, ',') .. '],' .. string.sub(blob, 2) end
  redis.call('HSET', KEYS[3], first, blob)
  countStored(stored)
end
if stored < count then redis.call('HINCRBY', KEYS[2], 'duplicates', count - stored) end
queueReduceIfDone(KEYS[2], KEYS[4], ARGV[1])
return { stored, count - stored, status }
