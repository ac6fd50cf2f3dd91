"""/v1/tenant/model_configs end to end, on both databases: the object, every
validation rule of CONTRACT-2 ("Tenant model configurations"), scopes and audit."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.foundation.test_http import assert_error
from tests.support import RunningGateway, SeededTenant
from tests.tenant_models.helpers import CONFIGS, GROUPS, audit_actions, client, create_config


async def test_create_returns_the_object_with_what_it_inherits(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with client(gateway, tenant) as http:
        created = await create_config(
            http, name="Support Bot", base_model="gpt-4-omni", description="first line",
            context_window=64000, max_tokens=2000, streaming=False, system_prompt="Be brief.",
        )
        assert created["id"].startswith("mc_")
        # Stored as the catalog id the alias resolved to.
        assert created["base_model"] == "gpt-4o"
        assert created["name"] == "Support Bot" and created["description"] == "first line"
        assert (created["context_window"], created["max_tokens"]) == (64000, 2000)
        assert created["streaming"] is False and created["enabled"] is True
        assert created["system_prompt"] == "Be brief."
        assert created["provider"] == "openai" and created["model_type"] == "chat_completion"
        assert created["capabilities"]["tools"] is True
        assert created["capabilities"]["streaming"] is False  # the config turned it off
        assert created["pricing"]["input_per_1k"] > 0 and created["pricing"]["credits_input_per_1k"] > 0
        assert created["lifecycle"]["state"] == "active"
        assert created["created_at"] and created["updated_at"]
        fetched = await http.get(f"{CONFIGS}/{created['id']}")
        assert fetched.status_code == 200 and fetched.json() == created
        listed = (await http.get(CONFIGS)).json()["data"]
        assert listed == [created]


async def test_defaults_and_inherited_figures(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        created = await create_config(http, base_model="claude-haiku-4-5")
        assert created["streaming"] is True and created["enabled"] is True
        assert created["context_window"] is None and created["max_tokens"] is None
        assert created["description"] is None and created["system_prompt"] is None
        assert created["provider"] == "anthropic"


async def test_reads_need_runs_read_and_writes_need_admin(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with client(gateway, tenant) as admin:
        created = await create_config(admin)
    for which in ("read", "write"):
        async with client(gateway, tenant, which) as http:
            refused = await http.post(CONFIGS, json={"name": "x", "base_model": "gpt-4o"})
            assert_error(refused, 403, "insufficient_scope")
            assert_error(await http.patch(f"{CONFIGS}/{created['id']}", json={"enabled": False}),
                         403, "insufficient_scope")
            assert_error(await http.delete(f"{CONFIGS}/{created['id']}"), 403, "insufficient_scope")
    async with client(gateway, tenant, "read") as reader:
        assert (await reader.get(CONFIGS)).status_code == 200
        assert (await reader.get(f"{CONFIGS}/{created['id']}")).status_code == 200
    async with client(gateway, tenant, "write") as writer:
        assert_error(await writer.get(CONFIGS), 403, "insufficient_scope")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"base_model": "gpt-4o"}, "name"),
        ({"name": "x"}, "base_model"),
        ({"name": "", "base_model": "gpt-4o"}, "name"),
        ({"name": "n" * 201, "base_model": "gpt-4o"}, "name"),
        ({"name": " padded", "base_model": "gpt-4o"}, "name"),
        ({"name": "tab\there", "base_model": "gpt-4o"}, "name"),
        ({"name": "nul\x00", "base_model": "gpt-4o"}, "name"),
        ({"name": "mc_lookalike", "base_model": "gpt-4o"}, "name"),
        ({"name": "GRP_lookalike", "base_model": "gpt-4o"}, "name"),
        ({"name": 7, "base_model": "gpt-4o"}, "name"),
        ({"name": "x", "base_model": "gpt-4o", "context_window": 0}, "context_window"),
        ({"name": "x", "base_model": "gpt-4o", "context_window": 2_000_001}, "context_window"),
        ({"name": "x", "base_model": "gpt-4o", "context_window": "4096"}, "context_window"),
        ({"name": "x", "base_model": "gpt-4o", "max_tokens": 0}, "max_tokens"),
        ({"name": "x", "base_model": "gpt-4o", "max_tokens": 200_001}, "max_tokens"),
        ({"name": "x", "base_model": "gpt-4o", "max_tokens": 1.5}, "max_tokens"),
        ({"name": "x", "base_model": "gpt-4o", "streaming": "yes"}, "streaming"),
        ({"name": "x", "base_model": "gpt-4o", "enabled": None}, "enabled"),
        ({"name": "x", "base_model": "gpt-4o", "system_prompt": "p" * 50_001}, "system_prompt"),
        ({"name": "x", "base_model": "gpt-4o", "system_prompt": "a\x00b"}, "system_prompt"),
        ({"name": "x", "base_model": "gpt-4o", "maxTokens": 10}, "maxTokens"),
    ],
)
async def test_shape_errors_are_422_naming_the_field(
    gateway: RunningGateway, tenant: SeededTenant, body: dict, param: str
) -> None:
    async with client(gateway, tenant) as http:
        error = assert_error(await http.post(CONFIGS, json=body), 422, "validation_error")
        assert error["param"] == param
        assert (await http.get(CONFIGS)).json()["data"] == []


async def test_the_limits_of_the_ranges_are_accepted(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        # gpt-4.1 has no known max_output_tokens: only the contract's ceiling applies.
        created = await create_config(
            http, name="n" * 200, base_model="gpt-4.1", max_tokens=200_000, context_window=1,
            system_prompt="p" * 50_000,
        )
        assert created["max_tokens"] == 200_000 and len(created["system_prompt"]) == 50_000


async def test_figures_above_the_base_models_are_422(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        over_window = await http.post(
            CONFIGS, json={"name": "x", "base_model": "gpt-4o", "context_window": 128_001}
        )
        assert assert_error(over_window, 422, "validation_error")["param"] == "context_window"
        over_output = await http.post(
            CONFIGS, json={"name": "x", "base_model": "gpt-4o", "max_tokens": 16_385}
        )
        assert assert_error(over_output, 422, "validation_error")["param"] == "max_tokens"
        at_limits = await create_config(http, context_window=128_000, max_tokens=16_384)
        # PATCH checks the result: a new base with a smaller window refuses the stored one.
        smaller = await http.patch(f"{CONFIGS}/{at_limits['id']}", json={"base_model": "gpt-4"})
        assert assert_error(smaller, 422, "validation_error")["param"] == "context_window"
        raised = await http.patch(f"{CONFIGS}/{at_limits['id']}", json={"max_tokens": 16_385})
        assert assert_error(raised, 422, "validation_error")["param"] == "max_tokens"


@pytest.mark.parametrize(
    ("base_model", "code"),
    [
        ("no-such-model", "model_not_found"),
        ("gpt-99-unlisted", "model_not_found"),  # prefix-routed, but not a catalog model
        ("gpt-3.5-turbo", "model_retired"),  # end of life 2026-09-28
    ],
)
async def test_a_base_model_that_is_not_a_callable_catalog_model_is_422(
    gateway: RunningGateway, tenant: SeededTenant, base_model: str, code: str
) -> None:
    async with client(gateway, tenant) as http:
        response = await http.post(CONFIGS, json={"name": "x", "base_model": base_model})
        assert assert_error(response, 422, code)["param"] == "base_model"


@pytest.mark.parametrize("name", ["gpt-4o", "GPT-4O", "chatgpt-4o-latest", "openai:gpt-4o"])
async def test_a_catalog_name_is_taken(gateway: RunningGateway, tenant: SeededTenant, name: str) -> None:
    async with client(gateway, tenant) as http:
        response = await http.post(CONFIGS, json={"name": name, "base_model": "gpt-4o"})
        assert assert_error(response, 409, "model_name_taken")["param"] == "name"


async def test_names_are_unique_case_insensitively_across_configs_and_groups(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with client(gateway, tenant) as http:
        first = await create_config(http, name="Straße")
        again = await http.post(CONFIGS, json={"name": "STRASSE", "base_model": "gpt-4o-mini"})
        assert assert_error(again, 409, "model_name_taken")["param"] == "name"
        group = await http.post(GROUPS, json={"name": "strasse", "members": [{"model": "gpt-4o"}]})
        assert_error(group, 409, "model_name_taken")
        made = await http.post(GROUPS, json={"name": "Team", "members": [{"model": "gpt-4o"}]})
        assert made.status_code == 201
        clash = await http.post(CONFIGS, json={"name": "TEAM", "base_model": "gpt-4o"})
        assert_error(clash, 409, "model_name_taken")
        # Renaming onto a taken name is refused too; onto its own name in another case is not.
        other = await create_config(http, name="other")
        renamed = await http.patch(f"{CONFIGS}/{other['id']}", json={"name": "team"})
        assert_error(renamed, 409, "model_name_taken")
        recased = await http.patch(f"{CONFIGS}/{first['id']}", json={"name": "STRASSE"})
        assert recased.status_code == 200 and recased.json()["name"] == "STRASSE"


async def test_patch_changes_only_what_it_names_and_null_clears(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with client(gateway, tenant) as http:
        created = await create_config(
            http, description="d", context_window=1000, max_tokens=100, system_prompt="s"
        )
        url = f"{CONFIGS}/{created['id']}"
        patched = await http.patch(url, json={"enabled": False, "system_prompt": None,
                                              "base_model": "claude-haiku-4-5"})
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert body["enabled"] is False and body["system_prompt"] is None
        assert body["base_model"] == "claude-haiku-4-5" and body["provider"] == "anthropic"
        assert (body["description"], body["context_window"], body["max_tokens"]) == ("d", 1000, 100)
        assert body["updated_at"] >= created["updated_at"] and body["created_at"] == created["created_at"]
        for field in ("name", "base_model", "streaming", "enabled"):
            error = assert_error(await http.patch(url, json={field: None}), 422, "validation_error")
            assert error["param"] == field
        assert_error(await http.patch(url, json={"base_model": "nope"}), 422, "model_not_found")
        assert_error(await http.patch(url, json={"name": "gpt-4o"}), 409, "model_name_taken")
        unchanged = await http.patch(url, json={})
        assert unchanged.status_code == 200 and unchanged.json() == body


async def test_delete_then_gone(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        created = await create_config(http)
        url = f"{CONFIGS}/{created['id']}"
        deleted = await http.delete(url)
        assert deleted.status_code == 200
        assert deleted.json() == {"id": created["id"], "object": "model_config", "deleted": True}
        assert_error(await http.get(url), 404, "not_found")
        assert_error(await http.delete(url), 404, "not_found")
        assert_error(await http.patch(url, json={"enabled": True}), 404, "not_found")
        # The name is free again.
        assert (await http.post(CONFIGS, json={"name": "support-bot", "base_model": "gpt-4o"})).status_code == 201


async def test_create_update_delete_are_audited(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        created = await create_config(http)
        await http.patch(f"{CONFIGS}/{created['id']}", json={"description": "new"})
        await http.patch(f"{CONFIGS}/{created['id']}", json={"description": "new"})  # no change
        assert_error(await http.post(CONFIGS, json={"name": "gpt-4o", "base_model": "gpt-4o"}),
                     409, "model_name_taken")  # refused: nothing to audit
        await http.delete(f"{CONFIGS}/{created['id']}")
        assert await audit_actions(http) == [
            "model_config.create", "model_config.update", "model_config.delete",
        ]
        entries = (await http.get("/v1/tenant/audit_log")).json()["data"]
        assert {e["provider"] for e in entries} == {"openai"}
        assert {e["token_prefix"] for e in entries} == {tenant.tokens["admin"][:11]}


async def test_a_config_is_stored_as_given_and_no_secret_lands_in_the_row(
    gateway: RunningGateway, tenant: SeededTenant, clean_engine: AsyncEngine
) -> None:
    async with client(gateway, tenant) as http:
        created = await create_config(http, system_prompt="You are helpful. Ünïcode ✓")
    async with clean_engine.connect() as connection:
        row = (await connection.execute(text(
            "SELECT id, tenant_id, kind, name, name_key, base_model, system_prompt FROM tenant_models"
        ))).one()
    assert tuple(row) == (
        created["id"], tenant.id, "config", "support-bot", "SUPPORT-BOT".casefold(), "gpt-4o",
        "You are helpful. Ünïcode ✓",
    )
    dump = repr(tuple(row))
    assert not any(token in dump for token in tenant.tokens.values())


async def test_an_unknown_or_malformed_id_is_404(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        for config_id in ("mc_00000000000000000000000000000000", "grp_x", "x" * 64):
            assert_error(await http.get(f"{CONFIGS}/{config_id}"), 404, "not_found")
        assert_error(await http.get(f"{CONFIGS}/{'x' * 65}"), 422, "validation_error")


async def test_racing_creates_of_one_name_leave_exactly_one(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with client(gateway, tenant) as http:
        bodies = [{"name": name, "base_model": "gpt-4o"} for name in ("Race", "RACE", "race")] * 3
        answers = await asyncio.gather(
            *(http.post(CONFIGS, json=body) for body in bodies[:6]),
            *(http.post(GROUPS, json={"name": b["name"], "members": [{"model": "gpt-4o"}]})
              for b in bodies[6:]),
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] + [409] * 8, [a.text for a in answers]
        assert all(a.json()["error"]["code"] == "model_name_taken" for a in answers if a.status_code == 409)
        names = [c["name"] for c in (await http.get(CONFIGS)).json()["data"]]
        names += [g["name"] for g in (await http.get(GROUPS)).json()["data"]]
        assert len(names) == 1
