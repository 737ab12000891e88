-- complete: KEYS[1] the record; ARGV: prefix, delivery, fact (opt), token, status, reason
-- (opt), reply (opt). Returns 1, or 0 when the lease is not current.
local key, d, fact, token = KEYS[1], ARGV[2], opt(ARGV[3]), ARGV[4]
local new, reason, reply = ARGV[5], opt(ARGV[6]), opt(ARGV[7])
if not is_current(key, d, fact, token) then return 0 end
local status = status_of(key)
if status == 'in_progress' then
  set_status(key, d, status, new, math.floor(now_ms() / 1000))
  set_opt(key, 'reason', reason)
  set_opt(key, 'reply', reply)
  redis.call('HSET', key, 'lease_until', 0)
  return 1
end
if status == 'done' and new == 'done' then return 1 end
return 0
