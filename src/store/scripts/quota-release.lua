-- API: gives a job's reservation back to its principal.
-- KEYS[1] the principal's quota set  KEYS[2] the job hash
-- ARGV[1] job id  ARGV[2] '1': only when the job hash does not exist
-- Returns 1 when the reservation was removed.
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
