-- add_used: the fallback's catch-up, credits settled while Redis was away.
-- ARGV: 1 month prefix, 2 credits. Only a seeded month: an unseeded one will be
-- seeded from the database, which holds them already. Returns 1 if added.
if redis.call('HEXISTS', KEYS[5], 'used') == 1 then
  redis.call('HINCRBY', KEYS[5], 'used', ARGV[2])
  redis.call('EXPIRE', KEYS[5], MONTH_TTL)
  return 1
end
return 0
