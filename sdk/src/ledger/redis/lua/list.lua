-- list: KEYS[1] the status set; ARGV: prefix, the last index (limit - 1). Returns
-- {{delivery, {field, value, ...}}, ...}, oldest update first (ties by delivery).
local out = {}
for _, d in ipairs(redis.call('ZRANGE', KEYS[1], 0, ARGV[2])) do
  local fields = redis.call('HGETALL', record_key(d))
  if #fields > 0 then out[#out + 1] = { d, fields } end
end
return out
