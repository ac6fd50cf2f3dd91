"""The tenant's names in both model listings, the cache the call path reads them
from (dropped at once on every change), and isolation between tenants."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from tests.foundation.test_http import assert_error
from tests.support import RunningGateway, SeededTenant, run_gateway
from tests.tenant_models.helpers import CONFIGS, GROUPS, client, create_config, create_group

HOSTED_OPENAI = "sk-hosted-openai-for-listing-tests"


@pytest.fixture(scope="module")
def hosted(database_url: str) -> Iterator[RunningGateway]:
    """A gateway with a platform key for OpenAI only (Anthropic has no key), and caches
    that would hold for an hour: anything seen fresh was dropped, not expired."""
    with run_gateway(
        database_url=database_url, openai_api_key=HOSTED_OPENAI, key_cache_ttl=3600
    ) as gw:
        yield gw


def by_id(entries: list[dict]) -> dict[str, dict]:
    return {entry["id"]: entry for entry in entries}


async def test_tenant_models_lists_every_kind(hosted: RunningGateway, tenant: SeededTenant) -> None:
    async with client(hosted, tenant) as http:
        on_openai = await create_config(http, name="Fast", base_model="gpt-4o-mini", max_tokens=500)
        on_anthropic = await create_config(http, name="Careful", base_model="claude-haiku-4-5")
        off = await create_config(http, name="Off", base_model="gpt-4o", enabled=False)
        mixed = await create_group(http, name="Mixed", members=[
            {"model": "careful"}, {"model": "gpt-4o", "weight": 2}])
        dark = await create_group(http, name="Dark", members=[{"model": "claude-sonnet-4-5"}])
        listing = (await http.get("/v1/tenant/models")).json()
        entries = by_id(listing["data"])
        assert entries["gpt-4o"]["kind"] == "system" and entries["gpt-4o"]["model_vendor"] == "OPENAI"
        assert all(e["kind"] == "system" for e in listing["data"] if e["kind"] not in ("config", "group"))
        fast = entries["Fast"]
        assert (fast["kind"], fast["config_id"], fast["base_model"]) == ("config", on_openai["id"], "gpt-4o-mini")
        assert fast["enabled"] is True and fast["available"] is True and fast["source"] == "hosted"
        assert fast["provider"] == "openai" and fast["max_output_tokens"] == 500
        assert fast["context_window"] == 128000 and fast["pricing"]["credits_input_per_1k"] > 0
        careful = entries["Careful"]
        assert careful["config_id"] == on_anthropic["id"] and careful["available"] is False
        assert entries["Off"]["enabled"] is False and entries["Off"]["config_id"] == off["id"]
        group = entries["Mixed"]
        assert (group["kind"], group["group_id"], group["strategy"]) == ("group", mixed["id"], "fallback")
        assert group["members"] == [
            {"model": "careful", "weight": 1, "available": False},
            {"model": "gpt-4o", "weight": 2, "available": True},
        ]
        assert group["available"] is True
        assert entries["Dark"]["available"] is False and entries["Dark"]["group_id"] == dark["id"]

        # The filters apply to the tenant's entries too.
        only_available = by_id((await http.get("/v1/tenant/models?available=true")).json()["data"])
        assert {"Fast", "Off", "Mixed"} <= set(only_available)
        assert not {"Careful", "Dark"} & set(only_available)
        unavailable = by_id((await http.get("/v1/tenant/models?available=false")).json()["data"])
        assert {"Careful", "Dark"} <= set(unavailable) and "Fast" not in unavailable
        anthropic = by_id((await http.get("/v1/tenant/models?provider=anthropic")).json()["data"])
        assert {"Careful", "Mixed", "Dark"} <= set(anthropic)
        assert "Fast" not in anthropic and "gpt-4o" not in anthropic

        # One name, resolved the way a call resolves it: the tenant's first.
        one = (await http.get("/v1/tenant/models/fast")).json()
        assert one["kind"] == "config" and one["config_id"] == on_openai["id"] and one["requested"] == "fast"
        one_group = (await http.get(f"/v1/tenant/models/{mixed['id']}")).json()
        assert one_group["kind"] == "group" and one_group["id"] == "Mixed"
        assert (await http.get("/v1/tenant/models/gpt-4o")).json()["kind"] == "system"


async def test_openai_models_lists_only_what_can_be_called(
    hosted: RunningGateway, tenant: SeededTenant
) -> None:
    async with client(hosted, tenant) as http:
        await create_config(http, name="Fast", base_model="gpt-4o-mini")
        await create_config(http, name="Careful", base_model="claude-haiku-4-5")
        await create_config(http, name="Off", base_model="gpt-4o", enabled=False)
        await create_group(http, name="Mixed", members=[{"model": "careful"}, {"model": "gpt-4o"}])
        await create_group(http, name="Dark", members=[{"model": "careful"}, {"model": "off"}])
    sdk = OpenAI(base_url=f"{hosted.url}/v1", api_key=tenant.tokens["read"], max_retries=0)
    ids = [model.id for model in sdk.models.list()]
    assert "Fast" in ids and "Mixed" in ids and "gpt-4o" in ids
    assert not {"Careful", "Off", "Dark"} & set(ids)
    owned = {model.id: model.owned_by for model in sdk.models.list()}
    assert owned["Fast"] == "tenant" and owned["gpt-4o"] == "openai"


async def test_a_change_is_seen_by_the_next_read_at_once(
    hosted: RunningGateway, tenant: SeededTenant
) -> None:
    cache = hosted.gateway.tenant_models
    async with client(hosted, tenant) as http:
        config = await create_config(http, name="Fast", base_model="gpt-4o-mini")
        assert "Fast" in by_id((await http.get("/v1/models")).json()["data"])
        assert tenant.id in cache._entries  # warm: the next reads come from the cache
        disabled = await http.patch(f"{CONFIGS}/{config['id']}", json={"enabled": False})
        assert disabled.status_code == 200
        assert tenant.id not in cache._entries  # dropped by the announcement, not by the TTL
        assert "Fast" not in by_id((await http.get("/v1/models")).json()["data"])
        assert tenant.id in cache._entries
        group = await create_group(http, name="G", members=[{"model": "gpt-4o"}])
        assert tenant.id not in cache._entries
        assert "G" in by_id((await http.get("/v1/models")).json()["data"])
        await http.post(f"{GROUPS}/{group['id']}/models/fast")
        assert [m["model"] for m in by_id((await http.get("/v1/tenant/models")).json()["data"])["G"]["members"]] == ["gpt-4o", "fast"]
        await http.patch(f"{GROUPS}/{group['id']}", json={"name": "H"})
        assert "H" in by_id((await http.get("/v1/models")).json()["data"])
        await http.delete(f"{GROUPS}/{group['id']}")
        assert "H" not in by_id((await http.get("/v1/models")).json()["data"])
        await http.patch(f"{CONFIGS}/{config['id']}", json={"enabled": True})
        assert "Fast" in by_id((await http.get("/v1/models")).json()["data"])
        await http.delete(f"{CONFIGS}/{config['id']}")
        assert "Fast" not in by_id((await http.get("/v1/tenant/models")).json()["data"])
        assert tenant.id in cache._entries
    # The snapshot the call path reads holds exactly what the API says.
    snapshot = cache._entries[tenant.id][1]
    assert snapshot.configs == () and snapshot.groups == ()


async def test_another_tenant_sees_nothing_and_gets_404(
    hosted: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant
) -> None:
    async with client(hosted, tenant) as a:
        config = await create_config(a, name="A-secret-config")
        group = await create_group(a, name="A-secret-group", members=[{"model": "a-secret-config"}])
    async with client(hosted, other_tenant) as b:
        for path in (f"{CONFIGS}/{config['id']}", f"{GROUPS}/{group['id']}"):
            assert_error(await b.get(path), 404, "not_found")
            assert_error(await b.patch(path, json={"description": "mine"}), 404, "not_found")
            assert_error(await b.delete(path), 404, "not_found")
        assert_error(await b.post(f"{GROUPS}/{group['id']}/models/gpt-4o-mini"), 404, "not_found")
        assert_error(await b.delete(f"{GROUPS}/{group['id']}/models/a-secret-config"), 404, "not_found")
        assert (await b.get(CONFIGS)).json() == {"data": []}
        assert (await b.get(GROUPS)).json() == {"data": []}
        for path in ("/v1/tenant/models", "/v1/models"):
            assert "A-secret" not in (await b.get(path)).text
        assert_error(await b.get("/v1/tenant/models/A-secret-config"), 404, "model_not_found")
        # A's names are free for B, and A's config cannot be a member of B's group.
        assert (await b.post(CONFIGS, json={"name": "A-secret-config", "base_model": "gpt-4o"})).status_code == 201
        other = await b.post(GROUPS, json={"name": "g", "members": [{"model": config["id"]}]})
        assert_error(other, 422, "model_not_found")
    async with client(hosted, tenant) as a:
        assert (await a.get(f"{CONFIGS}/{config['id']}")).json() == config
        assert (await a.get(f"{GROUPS}/{group['id']}")).json() == group

