-- claim: KEYS[1] the record; ARGV: prefix, delivery, fact (opt), kind (opt), ttl in ms.
-- Returns {'new', token, attempts} (as text) | {'done', by, reply or false} | {'busy', holder, false}.
local key, d, fact, kind, ttl = KEYS[1], ARGV[2], opt(ARGV[3]), opt(ARGV[4]), tonumber(ARGV[5])
local now = now_ms()
local now_s = math.floor(now / 1000)
local status = ensure_record(key, d, now_s)
if status == 'done' then
  return { 'done', d, redis.call('HGET', key, 'reply') }
end
if fact then
  local owner = redis.call('GET', fact_key(fact))
  if owner and owner ~= d then
    local owner_key = record_key(owner)
    local owner_status = status_of(owner_key)
    if owner_status == 'done' then
      local reply = redis.call('HGET', owner_key, 'reply')
      set_status(key, d, status, 'done', now_s)
      redis.call('HSET', key, 'reason', 'duplicate of ' .. owner, 'fact', fact)
      set_opt(key, 'reply', reply)
      return { 'done', owner, reply }
    end
    if owner_status and holds_lease(owner_key, now) then
      return { 'busy', owner, false }
    end
  end
end
if holds_lease(key, now) then
  return { 'busy', d, false }
end
local token = redis.call('HINCRBY', key, 'token', 1)
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
set_status(key, d, status, 'in_progress', now_s)
redis.call('HSET', key, 'lease_until', now + ttl)
if kind then redis.call('HSET', key, 'kind', kind) end
if fact then
  redis.call('HSET', key, 'fact', fact)
  redis.call('SET', fact_key(fact), d)
end
return { 'new', tostring(token), tostring(attempts) }
