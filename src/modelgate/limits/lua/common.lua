-- Shared by every limits script (prepended to each when it is loaded).
--
-- KEYS, the same in every script, all under the tenant's hash tag {tenant}:
--   1 rate      HASH  rpm, rpm_at, tpm, tpm_at, tpm_limit: the two GCRA buckets
--   2 inflight  ZSET  request id -> expiry (ms): the calls in flight (concurrency)
--   3 res       HASH  request id -> "month|credits_n|tokens|hosted": what each holds
--   4 done      ZSET  request id -> expiry (ms): settled or released lately
--   5 month     HASH  used, reserved: nano-credits of one month
-- ARGV[1] is the prefix of the month keys, to give back an expired reservation
-- of another month (same hash tag, so the script still touches one slot).
--
-- The clock is Redis's own (TIME), never a replica's: every process measures the
-- windows on one clock, which is what makes the limits exact across replicas.
-- Numbers are written with %d: Lua's tostring would print 1.2e+14.

local UNIT = 60000

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function int(x)
  return string.format('%d', x)
end

local function parse(record)
  local month, credits, tokens, hosted = string.match(record, '^([^|]*)|(%d+)|(%d+)|(%d)$')
  return month, tonumber(credits), tonumber(tokens), hosted == '1'
end

-- window.drained: the bucket at now, capped at a full minute's worth.
local function drained(level, at, now, limit)
  level = tonumber(level) or 0
  at = tonumber(at) or 0
  if now > at then
    level = level - limit * (now - at)
    if level < 0 then level = 0 end
  end
  if level > limit * UNIT then level = limit * UNIT end
  return level
end

-- Give back the reservations whose process never settled them (it crashed).
local function sweep(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 256)
  for _, id in ipairs(expired) do
    local record = redis.call('HGET', KEYS[3], id)
    if record then
      local month, credits = parse(record)
      if credits > 0 then
        redis.call('HINCRBY', ARGV[1] .. month, 'reserved', int(-credits))
      end
      redis.call('HDEL', KEYS[3], id)
    end
    redis.call('ZREM', KEYS[2], id)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
end

local MONTH_TTL = 100 * 86400  -- a month's counters outlive it, then go
