-- renew: KEYS[1] the record; ARGV: prefix, delivery, fact (opt), token, ttl in ms.
-- Returns 1, or 0 when the lease is not current.
local key, d, fact, token, ttl = KEYS[1], ARGV[2], opt(ARGV[3]), ARGV[4], tonumber(ARGV[5])
if is_current(key, d, fact, token) and status_of(key) == 'in_progress' then
  redis.call('HSET', key, 'lease_until', now_ms() + ttl)
  return 1
end
return 0
