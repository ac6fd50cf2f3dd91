"""Tenant (BYOK) provider keys.

The pure, security-critical parts live here and import neither the database nor
FastAPI: ``keyring`` (the key-encryption keys and the provider protocol),
``crypto`` (envelope encryption bound to tenant, provider and base_url) and
``ssrf`` (the guard on a tenant's ``base_url``).
"""
