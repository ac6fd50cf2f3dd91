-- finish: settle (the real tokens and credits) or release (0 and 0) one admission,
-- once per request id: a second finish, or one after the other, does nothing.
-- ARGV: 1 month prefix, 2 request id, 3 real tokens, 4 real credits, 5 hosted (1/0),
-- 6 reservation ttl ms (how long the id is remembered as done).
-- Returns 1 if this call finished it, 0 if it was already finished.
local id, tokens, credits = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local hosted, ttl = ARGV[5] == '1', tonumber(ARGV[6])

local now = now_ms()
sweep(now)
if redis.call('ZSCORE', KEYS[4], id) then
  return 0
end

local record = redis.call('HGET', KEYS[3], id)
if record then
  local _, held, reserved_tokens = parse(record)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
  if held > 0 then
    redis.call('HINCRBY', KEYS[5], 'reserved', int(-held))
  end
  -- Correct the minute's tokens to the real count (the reservation was a worst case).
  local rate = redis.call('HMGET', KEYS[1], 'tpm', 'tpm_at', 'tpm_limit')
  local limit = tonumber(rate[3])
  if limit and tokens ~= reserved_tokens then
    local level = drained(rate[1], rate[2], now, limit) + (tokens - reserved_tokens) * UNIT
    if level < 0 then level = 0 end
    if level > limit * UNIT then level = limit * UNIT end
    redis.call('HSET', KEYS[1], 'tpm', int(level), 'tpm_at', int(now))
    redis.call('PEXPIRE', KEYS[1], UNIT + 1000)
  end
end
-- Without a record the reservation expired first: the credits were still spent.
-- A month not seeded yet is left alone: its seed (the database sum) will hold them.
if hosted and credits > 0 and redis.call('HEXISTS', KEYS[5], 'used') == 1 then
  redis.call('HINCRBY', KEYS[5], 'used', int(credits))
  redis.call('EXPIRE', KEYS[5], MONTH_TTL)
end
redis.call('ZADD', KEYS[4], now + ttl, id)
redis.call('PEXPIRE', KEYS[4], ttl)
return 1
