"""A tenant's own model names: configurations (seed 003) and groups (seed 004).

``entries`` holds what the call path reads (immutable, cached per tenant);
the storage, the API and the cache build and serve them.
"""
