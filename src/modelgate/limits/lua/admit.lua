-- admit: check every limit, then take all of them, or none (window.decide's order).
-- ARGV: 1 month prefix, 2 request id, 3 rpm, 4 tpm, 5 concurrency, 6 monthly credits
-- (-1: unlimited), 7 tokens, 8 credits, 9 hosted (1/0), 10 reservation ttl ms, 11 month.
-- Returns {code, rpm_level, tpm_level, in_flight, used, reserved}.
local id = ARGV[2]
local rpm, tpm = tonumber(ARGV[3]), tonumber(ARGV[4])
local conc, monthly = tonumber(ARGV[5]), tonumber(ARGV[6])
local tokens, credits, hosted = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9] == '1'
local ttl, month = tonumber(ARGV[10]), ARGV[11]

local now = now_ms()
sweep(now)

local rate = redis.call('HMGET', KEYS[1], 'rpm', 'rpm_at', 'tpm', 'tpm_at')
local rpm_level, tpm_level = 0, 0
if rpm >= 0 then rpm_level = drained(rate[1], rate[2], now, rpm) end
if tpm >= 0 then tpm_level = drained(rate[3], rate[4], now, tpm) end
local in_flight = redis.call('ZCARD', KEYS[2])

local budgeted = hosted and monthly >= 0
local used, reserved = 0, 0
if budgeted then
  local spent = redis.call('HMGET', KEYS[5], 'used', 'reserved')
  if not spent[1] then
    return {5, 0, 0, 0, 0, 0}  -- unseeded: the caller seeds the month, then retries
  end
  used, reserved = tonumber(spent[1]), tonumber(spent[2]) or 0
end

local code = 0
if budgeted and used + reserved + credits > monthly then code = 1
elseif conc >= 0 and in_flight + 1 > conc then code = 2
elseif rpm >= 0 and rpm_level + UNIT > rpm * UNIT then code = 3
elseif tpm >= 0 and tpm_level + tokens * UNIT > tpm * UNIT then code = 4
end
if code ~= 0 then
  return {code, rpm_level, tpm_level, in_flight, used, reserved}
end

if rpm >= 0 then
  rpm_level = rpm_level + UNIT
  redis.call('HSET', KEYS[1], 'rpm', int(rpm_level), 'rpm_at', int(now))
end
if tpm >= 0 then
  tpm_level = tpm_level + tokens * UNIT
  redis.call('HSET', KEYS[1], 'tpm', int(tpm_level), 'tpm_at', int(now), 'tpm_limit', int(tpm))
else
  redis.call('HDEL', KEYS[1], 'tpm_limit')
end
redis.call('PEXPIRE', KEYS[1], UNIT + 1000)  -- a full bucket drains within the minute

local held = 0
if budgeted then held = credits end
redis.call('ZADD', KEYS[2], now + ttl, id)
redis.call('HSET', KEYS[3], id,
  month .. '|' .. int(held) .. '|' .. int(tokens) .. '|' .. (hosted and '1' or '0'))
if held > 0 then
  redis.call('HINCRBY', KEYS[5], 'reserved', int(held))
  redis.call('EXPIRE', KEYS[5], MONTH_TTL)
end
return {0, rpm_level, tpm_level, in_flight + 1, used, reserved + held}
