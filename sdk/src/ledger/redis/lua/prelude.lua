-- Shared by every ledger script (prepended to each). ARGV[1] is the key prefix; KEYS[1] is the
-- delivery's record (or, for the scripts over many records, a status set), declared so that a
-- cluster-aware client routes the call; the other keys are built here from the prefix, all in
-- its hash slot when the prefix holds a hash tag.
--
-- Keys: <prefix>d:<delivery> the record (a hash), <prefix>r:<delivery> the stored request (a
-- hash), <prefix>f:<fact> the fact's owner (a delivery), <prefix>s:<status> the deliveries
-- with that status (a sorted set scored by updated_at, Unix seconds).
local P = ARGV[1]

local function record_key(d) return P .. 'd:' .. d end
local function request_key(d) return P .. 'r:' .. d end
local function fact_key(f) return P .. 'f:' .. f end
local function status_key(s) return P .. 's:' .. s end

-- An optional argument: '' for none, '=' and the value for some.
local function opt(a)
  if a == '' then return nil end
  return string.sub(a, 2)
end

-- Sets a field to `value`, or removes it when `value` is nil.
local function set_opt(key, field, value)
  if value then
    redis.call('HSET', key, field, value)
  else
    redis.call('HDEL', key, field)
  end
end

-- Now on the Redis server's clock, in Unix milliseconds: every instance measures leases with
-- the same clock, however their own drift.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local STATUSES = { received = true, in_progress = true, done = true, failed = true, quarantined = true }

-- The status of the record at `key`, false when there is none; data this version cannot read
-- is an error with the code CORRUPT.
local function status_of(key)
  local s = redis.call('HGET', key, 'status')
  if s and not STATUSES[s] then
    error({ err = 'CORRUPT unknown status ' .. s .. ' in ' .. key })
  end
  return s
end

-- Moves a record from status `old` (false: none) to `new`, updated now.
local function set_status(key, d, old, new, now_s)
  if old then redis.call('ZREM', status_key(old), d) end
  redis.call('ZADD', status_key(new), now_s, d)
  redis.call('HSET', key, 'status', new, 'updated_at', now_s)
end

-- Creates a never-claimed record unless one exists; returns its status.
local function ensure_record(key, d, now_s)
  local s = status_of(key)
  if s then return s end
  redis.call('HSET', key, 'token', 0, 'attempts', 0, 'lease_until', 0)
  set_status(key, d, false, 'received', now_s)
  return 'received'
end

local function holds_lease(key, now)
  local s = redis.call('HMGET', key, 'status', 'lease_until')
  return s[1] == 'in_progress' and tonumber(s[2] or '0') > now
end

-- Whether the lease (delivery `d`, optional fact, fencing token as decimal text) is current:
-- its token is the delivery's latest and no other delivery has taken its fact over.
local function is_current(key, d, fact, token)
  if fact and redis.call('GET', fact_key(fact)) ~= d then return false end
  return redis.call('HGET', key, 'token') == token
end
