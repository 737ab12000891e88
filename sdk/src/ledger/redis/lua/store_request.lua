-- store_request: KEYS[1] the record, KEYS[2] the request; ARGV: prefix, delivery, received_at,
-- format, headers (JSON), body. The first copy is kept.
local d = ARGV[2]
ensure_record(KEYS[1], d, math.floor(now_ms() / 1000))
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'received_at', ARGV[3], 'format', ARGV[4], 'headers', ARGV[5],
    'body', ARGV[6])
end
return 1
