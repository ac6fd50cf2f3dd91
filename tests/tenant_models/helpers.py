"""Small helpers shared by the tenant models tests: paths, bodies, audit reads."""

from __future__ import annotations

import httpx

from tests.support import RunningGateway, SeededTenant

CONFIGS = "/v1/tenant/model_configs"
GROUPS = "/v1/tenant/model_groups"


def client(gw: RunningGateway, tenant: SeededTenant, which: str = "admin") -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=gw.url, headers=tenant.headers(which), timeout=30)


async def create_config(http: httpx.AsyncClient, **fields: object) -> dict:
    body = {"name": "support-bot", "base_model": "gpt-4o", **fields}
    response = await http.post(CONFIGS, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def create_group(http: httpx.AsyncClient, **fields: object) -> dict:
    body = {"name": "resilient", "members": [{"model": "gpt-4o"}], **fields}
    response = await http.post(GROUPS, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def audit_actions(http: httpx.AsyncClient) -> list[str]:
    """The tenant's audit actions, oldest first."""
    page = (await http.get("/v1/tenant/audit_log?limit=100")).json()
    return [entry["action"] for entry in reversed(page["data"])]
