-- usage: the month's {used, reserved} after giving back expired reservations;
-- used is -1 when the month is not seeded yet.
local now = now_ms()
sweep(now)
local spent = redis.call('HMGET', KEYS[5], 'used', 'reserved')
if not spent[1] then
  return {-1, tonumber(spent[2]) or 0}
end
return {tonumber(spent[1]), tonumber(spent[2]) or 0}
