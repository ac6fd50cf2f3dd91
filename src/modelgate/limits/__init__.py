"""Platform limits per tenant: requests, tokens, concurrency and monthly credits.

Modules:

- ``types``         TenantLimits, Admission, the month key (the errors live in ``errors.py``)
- ``window``        the shared arithmetic: GCRA buckets in integers, the order of checks,
                    the x-ratelimit-* headers and the 429s
- ``engine``        the LimitsEngine protocol and ``build_limits`` (the backend, chosen once)
- ``local``         LocalLimits: the engine in one process (no Redis, or Redis away)
- ``redis_engine``  RedisLimits: the engine on Redis, one Lua script per operation (``lua/``)
- ``fallback``      FallbackLimits: Redis, or this process while Redis is unreachable
- ``models``        the tenant_limits table
- ``service``       reading and setting limits (the CLI), the month's credits from usage_daily
- ``router``        GET /v1/tenant/limits
"""
