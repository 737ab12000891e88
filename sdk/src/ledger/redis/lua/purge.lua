-- purge: KEYS the status sets; ARGV: prefix, before (Unix seconds, exclusive), the most
-- records to remove in this call. Removes records, their requests and the facts they own;
-- returns how many records went.
local before, most = ARGV[2], tonumber(ARGV[3])
local removed = 0
for _, set in ipairs(KEYS) do
  if removed >= most then break end
  local found = redis.call('ZRANGEBYSCORE', set, '-inf', '(' .. before, 'LIMIT', 0, most - removed)
  for _, d in ipairs(found) do
    local key = record_key(d)
    local fact = redis.call('HGET', key, 'fact')
    if fact and redis.call('GET', fact_key(fact)) == d then
      redis.call('DEL', fact_key(fact))
    end
    redis.call('DEL', key, request_key(d))
    redis.call('ZREM', set, d)
    removed = removed + 1
  end
end
return removed
