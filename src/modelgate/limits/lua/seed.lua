-- seed: the month's used credits from the database, only if not set yet.
-- ARGV: 1 month prefix, 2 used. Returns 1 if this call set it.
local set = redis.call('HSETNX', KEYS[5], 'used', ARGV[2])
redis.call('EXPIRE', KEYS[5], MONTH_TTL)
return set
