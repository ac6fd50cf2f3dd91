"""Tenants, their settings and their bearer tokens."""
