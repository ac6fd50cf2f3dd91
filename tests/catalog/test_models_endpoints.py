"""The three models endpoints over a real server: catalog view, one model, OpenAI list."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from sqlalchemy import event

from tests.foundation.test_http import assert_error
from tests.support import RunningGateway, SeededTenant, run_gateway

HOSTED_ANTHROPIC = "sk-ant-hosted-" + "H" * 30
CURATED_ORDER = [
    "gpt-5.5", "gpt-5.5-mini", "gpt-5.4", "claude-opus-4-8", "claude-opus-4-7",
    "claude-sonnet-4-6", "claude-haiku-4-5", "gemini-3.1-pro", "gemini-3.5-flash",
    "gemini-3.1-flash-lite", "gemini-2.5-pro",
]


@pytest.fixture(scope="module")
def hosted(database_url: str) -> Iterator[RunningGateway]:
    """A gateway with a platform key for Anthropic only."""
    with run_gateway(database_url=database_url, anthropic_api_key=HOSTED_ANTHROPIC) as gw:
        yield gw


async def test_listing_shows_availability_and_sources(hosted: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=hosted.url) as client:
        await client.put("/v1/tenant/model_keys/openai", json={"api_key": "sk-own"}, headers=tenant.headers())
        body = (await client.get("/v1/tenant/models", headers=tenant.headers("read"))).json()
    models = {m["id"]: m for m in body["data"]}
    assert [m["id"] for m in body["data"] if m["curated"]] == CURATED_ORDER
    # Grouped by provider (each group contiguous), each group led by its flagship.
    groups = [m["provider"] for m in body["data"]]
    order = list(dict.fromkeys(groups))
    assert groups == sorted(groups, key=order.index)
    firsts = {p: next(m["id"] for m in body["data"] if m["provider"] == p) for p in order}
    assert firsts["openai"] == "gpt-5.5" and firsts["anthropic"] == "claude-opus-4-8"
    assert firsts["google"] == "gemini-3.1-pro"
    assert models["gpt-4o"]["source"] == "byok" and models["gpt-4o"]["available"] is True
    assert models["claude-opus-4-8"]["source"] == "hosted"
    assert models["gemini-2.5-pro"]["source"] is None and models["gemini-2.5-pro"]["available"] is False
    opus = models["claude-opus-4-8"]
    assert opus["label"] == "Claude Opus 4.8" and opus["provider"] == "anthropic"
    assert opus["context_window"] == 1_000_000 and opus["max_output_tokens"] == 128_000
    assert set(opus) >= {"modalities", "capabilities", "pricing", "lifecycle", "recommended", "aliases"}
    assert models["gpt-4o"]["pricing"] == {
        "input_per_1k": 0.0025,
        "output_per_1k": 0.01,
        "currency": "USD",
        # x MODELGATE_CREDIT_MARGIN (1.4) x the model's credit_multiplier (1)
        "credits_input_per_1k": 0.0035,
        "credits_output_per_1k": 0.014,
    }
    assert "gpt-4o-2024-08-06" in models["gpt-4o"]["aliases"]
    retired = models["gpt-3.5-turbo"]["lifecycle"]
    assert retired["state"] == "end_of_life" and retired["replacement"] == "gpt-4o-mini"
    assert retired["end_of_life_at"].startswith("2026-09-28") and "retired" in retired["notice"]
    providers = {p["id"]: p for p in body["providers"]}
    assert providers["openai"] == {"id": "openai", "label": "OpenAI", "base_url": True, "hosted": False, "configured": True}
    assert providers["anthropic"]["hosted"] is True and providers["anthropic"]["configured"] is False
    assert providers["anthropic"]["base_url"] is False
    assert HOSTED_ANTHROPIC not in str(body)


async def test_listing_filters(hosted: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=hosted.url, headers=tenant.headers("read")) as client:
        only = (await client.get("/v1/tenant/models", params={"provider": "Anthropic"})).json()
        assert {m["provider"] for m in only["data"]} == {"anthropic"}
        assert [p["id"] for p in only["providers"]] == ["anthropic"]
        usable = (await client.get("/v1/tenant/models", params={"available": "true"})).json()["data"]
        assert usable and all(m["available"] and m["provider"] == "anthropic" for m in usable)
        unusable = (await client.get("/v1/tenant/models", params={"available": "false"})).json()["data"]
        assert unusable and not any(m["available"] for m in unusable)
        assert_error(await client.get("/v1/tenant/models", params={"provider": "acme"}), 404, "provider_not_found")
        assert_error(await client.get("/v1/tenant/models", params={"available": "maybe"}), 422, "validation_error")


@pytest.mark.parametrize(
    ("requested", "model_id", "provider", "in_catalog"),
    [
        ("GPT-4o", "gpt-4o", "openai", True),
        ("gpt-4o-2024-08-06", "gpt-4o", "openai", True),
        ("claude-opus-4.1", "claude-opus-4-1", "anthropic", True),
        ("open-ai:gpt-4o-mini", "gpt-4o-mini", "openai", True),
        ("meta-llama/llama-3.3-70b-versatile", "meta-llama/llama-3.3-70b-versatile", "groq", True),
        ("groqcloud:llama-3.3-70b", "meta-llama/llama-3.3-70b-versatile", "groq", True),
        ("claude-fable-5", "claude-fable-5", "anthropic", False),
        ("o9-mini", "o9-mini", "openai", False),
        ("openai:my-finetune", "my-finetune", "openai", False),
    ],
)
async def test_one_model_resolves_like_a_chat_call(
    hosted: RunningGateway, tenant: SeededTenant, requested: str, model_id: str, provider: str, in_catalog: bool
) -> None:
    async with httpx.AsyncClient(base_url=hosted.url, headers=tenant.headers("read")) as client:
        response = await client.get(f"/v1/tenant/models/{requested}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["provider"], body["in_catalog"], body["requested"]) == (model_id, provider, in_catalog, requested)
    assert body["available"] is (provider == "anthropic")


async def test_unknown_model_is_404_with_suggestions(hosted: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=hosted.url, headers=tenant.headers("read")) as client:
        error = assert_error(await client.get("/v1/tenant/models/gtp-4o"), 404, "model_not_found")
        assert "gpt-4o" in error["message"]
        assert_error(await client.get("/v1/tenant/models/mistral-large"), 404, "model_not_found")


def test_openai_sdk_lists_only_callable_models(hosted: RunningGateway, tenant: SeededTenant) -> None:
    client = openai.OpenAI(base_url=f"{hosted.url}/v1", api_key=tenant.tokens["read"], max_retries=0)
    ids = [model.id for model in client.models.list()]
    assert "claude-opus-4-8" in ids and "claude-sonnet-4-6" in ids
    assert "claude-3-haiku-20240307" not in ids  # retired
    assert not any(i.startswith(("gpt-", "gemini-")) for i in ids)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{hosted.url}/v1", api_key="mg_" + "x" * 43, max_retries=0).models.list()


async def test_hosted_keys_off_for_tenant_or_globally(hosted: RunningGateway, tenant: SeededTenant, database_url: str) -> None:
    async with httpx.AsyncClient(base_url=hosted.url) as client:
        await client.patch("/v1/tenant/settings", json={"hosted_keys_enabled": False}, headers=tenant.headers())
        body = (await client.get("/v1/tenant/models", headers=tenant.headers("read"))).json()
    assert not any(m["available"] for m in body["data"])
    assert not any(p["hosted"] for p in body["providers"])
    with run_gateway(database_url=database_url, anthropic_api_key=HOSTED_ANTHROPIC, hosted_keys=False) as gw:
        body = httpx.get(f"{gw.url}/v1/models", headers=tenant.headers("read")).json()
        assert body == {"object": "list", "data": []}


def test_availability_costs_one_query_per_request(database_url: str, tenant: SeededTenant) -> None:
    with run_gateway(database_url=database_url, key_cache_ttl=0, token_cache_ttl=60) as gw:
        statements: list[str] = []
        engine = gw.gateway.engine.sync_engine
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        headers = tenant.headers("read")
        httpx.get(f"{gw.url}/v1/tenant/models", headers=headers)  # warms the token cache
        event.listen(engine, "before_cursor_execute", listener)
        try:
            for path in ("/v1/tenant/models", "/v1/models", "/v1/tenant/models/gpt-4o"):
                statements.clear()
                assert httpx.get(f"{gw.url}{path}", headers=headers).status_code == 200
                # key_cache_ttl=0 turns off the tenant's configs/groups snapshot cache too:
                # its one query is not the availability's.
                availability = [s for s in statements if "FROM tenant_models" not in s]
                assert len(availability) == 1, statements
                assert "provider_keys" in availability[0]
        finally:
            event.remove(engine, "before_cursor_execute", listener)


def test_a_disabled_model_is_hidden_and_refused(database_url: str, tenant: SeededTenant, tmp_path) -> None:
    from pathlib import Path

    from modelgate.catalog import loader

    packaged = (Path(loader.__file__).parent / "catalog.toml").read_text()
    patched = packaged.replace('id = "gpt-4o"\n', 'id = "gpt-4o"\ndisabled = true\n', 1)
    assert patched != packaged
    (tmp_path / "catalog.toml").write_text(patched)
    settings = {"catalog_path": tmp_path / "catalog.toml", "openai_api_key": "sk-hosted"}
    with run_gateway(database_url=database_url, **settings) as gw:
        headers = tenant.headers("admin")
        listing = httpx.get(f"{gw.url}/v1/tenant/models", headers=headers).json()["data"]
        assert "gpt-4o" not in {m["id"] for m in listing} and "gpt-4o-mini" in {m["id"] for m in listing}
        assert "gpt-4o" not in {m["id"] for m in httpx.get(f"{gw.url}/v1/models", headers=headers).json()["data"]}
        assert_error(httpx.get(f"{gw.url}/v1/tenant/models/gpt-4o", headers=headers), 404, "model_not_found")
        chat = httpx.post(f"{gw.url}/v1/chat/completions", headers=headers,
                          json={"model": "GPT-4o-2024-08-06", "messages": [{"role": "user", "content": "x"}]})
        assert_error(chat, 404, "model_not_found")


def test_a_malformed_catalog_stops_start_up_naming_the_entry(tmp_path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "catalog.toml").write_text('[[providers]]\nid = "openai"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    env.update(MODELGATE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db", MODELGATE_CATALOG_PATH=str(tmp_path / "catalog.toml"))
    result = subprocess.run([sys.executable, "-m", "modelgate.cli", "serve"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "catalog.toml" in result.stderr
    assert "openai" in result.stderr
