"""A gateway on the loopback fake for the calling-path tests, flushing usage every
0.1 s (the fixtures of tests/metering/outcome_harness.py), and small helpers to
create configs and groups through the tenant API."""

from __future__ import annotations

from typing import Any

import httpx
import openai

from tests.metering.outcome_harness import (  # noqa: F401 - fixtures
    fake,
    metered_gateway,
    upstream,
)
from tests.support import RunningGateway, SeededTenant

CONFIGS = "/v1/tenant/model_configs"
GROUPS = "/v1/tenant/model_groups"
HI = [{"role": "user", "content": "Hi"}]


def sdk(gw: RunningGateway, tenant: SeededTenant) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gw.url}/v1", api_key=tenant.tokens["write"], max_retries=0, timeout=30
    )


def admin(gw: RunningGateway, tenant: SeededTenant) -> httpx.Client:
    return httpx.Client(base_url=gw.url, headers=tenant.headers("admin"), timeout=30)


def create_config(gw: RunningGateway, tenant: SeededTenant, **fields: Any) -> dict[str, Any]:
    with admin(gw, tenant) as http:
        response = http.post(CONFIGS, json={"base_model": "gpt-4o", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def create_group(
    gw: RunningGateway,
    tenant: SeededTenant,
    name: str,
    *members: str | tuple[str, int],
    **fields: Any,
) -> dict[str, Any]:
    listed = [
        {"model": m[0], "weight": m[1]} if isinstance(m, tuple) else {"model": m} for m in members
    ]
    with admin(gw, tenant) as http:
        response = http.post(GROUPS, json={"name": name, "members": listed, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def chat(gw: RunningGateway, tenant: SeededTenant, model: str, **fields: Any) -> httpx.Response:
    return httpx.post(
        f"{gw.url}/v1/chat/completions",
        json={"model": model, "messages": HI, **fields},
        headers=tenant.headers("write"),
        timeout=30,
    )
