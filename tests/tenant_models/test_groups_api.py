"""/v1/tenant/model_groups end to end, on both databases: members of every kind,
the add/remove-one-member endpoints of seed 004, every validation rule, audit."""

from __future__ import annotations

import pytest

from tests.foundation.test_http import assert_error
from tests.support import RunningGateway, SeededTenant
from tests.tenant_models.helpers import (
    CONFIGS,
    GROUPS,
    audit_actions,
    client,
    create_config,
    create_group,
)


async def test_members_of_every_kind_are_accepted_as_written(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with client(gateway, tenant) as http:
        await create_config(http, name="Support Bot", base_model="claude-haiku-4-5")
        members = [
            {"model": "gpt-4o"},  # catalog id
            {"model": "chatgpt-4o-latest", "weight": 3},  # alias
            {"model": "anthropic:claude-sonnet-4-5"},  # provider:model
            {"model": "gpt-9-preview"},  # prefix-routed, not in the catalog
            {"model": "support bot", "weight": 100},  # a config, by name, any case
            {"model": "meta-llama/llama-3.3-70b-versatile"},
        ]
        group = await create_group(
            http, name="Resilient", description="d", strategy="loadbalance", members=members
        )
        assert group["id"].startswith("grp_")
        assert (group["name"], group["description"]) == ("Resilient", "d")
        assert (group["model_type"], group["strategy"]) == ("chat_completion", "loadbalance")
        assert group["members"] == [{"model": m["model"], "weight": m.get("weight", 1)} for m in members]
        assert group["created_at"] and group["updated_at"]
        assert (await http.get(f"{GROUPS}/{group['id']}")).json() == group
        assert (await http.get(GROUPS)).json() == {"data": [group]}


async def test_defaults(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        group = await create_group(http)
        assert (group["model_type"], group["strategy"]) == ("chat_completion", "fallback")
        assert group["members"] == [{"model": "gpt-4o", "weight": 1}] and group["description"] is None


async def test_an_embedding_group(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        await create_config(http, name="embedder", base_model="text-embedding-3-small")
        group = await create_group(
            http, name="vectors", model_type="embedding",
            members=[{"model": "embedder"}, {"model": "gemini-embedding-001"}],
        )
        assert group["model_type"] == "embedding"
        mixed = await http.post(GROUPS, json={
            "name": "mixed", "model_type": "embedding",
            "members": [{"model": "text-embedding-3-large"}, {"model": "gpt-4o"}],
        })
        assert assert_error(mixed, 422, "model_type_mismatch")["param"] == "members[1].model"
        chat_with_embedder = await http.post(GROUPS, json={
            "name": "chat", "members": [{"model": "gpt-4o"}, {"model": "EMBEDDER"}],
        })
        assert assert_error(chat_with_embedder, 422, "model_type_mismatch")["param"] == "members[1].model"


@pytest.mark.parametrize(
    ("members", "code", "param"),
    [
        ([{"model": "gpt-4o"}, {"model": "no-such-model"}], "model_not_found", "members[1].model"),
        ([{"model": "gpt-3.5-turbo"}], "model_retired", "members[0].model"),
        ([{"model": "o3-deep-research"}], "model_type_mismatch", "members[0].model"),
        ([{"model": "gpt-4o"}, {"model": "GPT-4o"}], "validation_error", "members[1].model"),
        ([], "validation_error", "members"),
        ([{"model": f"gpt-4o-{i}"} for i in range(11)], "validation_error", "members"),
        ([{"model": "gpt-4o", "weight": 0}], "validation_error", "members.0.weight"),
        ([{"model": "gpt-4o", "weight": 101}], "validation_error", "members.0.weight"),
        ([{"model": ""}], "validation_error", "members.0.model"),
        ([{"model": "gpt-4o", "extra": 1}], "validation_error", "members.0.extra"),
    ],
)
async def test_member_errors_are_422_naming_the_member(
    gateway: RunningGateway, tenant: SeededTenant, members: list, code: str, param: str
) -> None:
    async with client(gateway, tenant) as http:
        response = await http.post(GROUPS, json={"name": "g", "members": members})
        assert assert_error(response, 422, code)["param"] == param
        assert (await http.get(GROUPS)).json()["data"] == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "g", "strategy": "random", "members": [{"model": "gpt-4o"}]}, "strategy"),
        ({"name": "g", "model_type": "reranking", "members": [{"model": "gpt-4o"}]}, "model_type"),
        ({"members": [{"model": "gpt-4o"}]}, "name"),
        ({"name": "g"}, "members"),
        ({"name": "grp_1", "members": [{"model": "gpt-4o"}]}, "name"),
    ],
)
async def test_shape_errors_are_422(
    gateway: RunningGateway, tenant: SeededTenant, body: dict, param: str
) -> None:
    async with client(gateway, tenant) as http:
        error = assert_error(await http.post(GROUPS, json=body), 422, "validation_error")
        assert error["param"] == param


async def test_groups_do_not_nest(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        inner = await create_group(http, name="inner")
        for ref in ("INNER", inner["id"]):
            response = await http.post(GROUPS, json={"name": "outer", "members": [{"model": ref}]})
            assert assert_error(response, 422, "validation_error")["param"] == "members[0].model"
        added = await http.post(f"{GROUPS}/{inner['id']}/models/inner")
        assert assert_error(added, 422, "validation_error")["param"] == "model"


async def test_a_catalog_name_or_a_used_name_is_taken(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        for name in ("claude-haiku-4-5", "Claude-Haiku-4-5-20251001"):
            response = await http.post(GROUPS, json={"name": name, "members": [{"model": "gpt-4o"}]})
            assert assert_error(response, 409, "model_name_taken")["param"] == "name"
        await create_config(http, name="Bot")
        clash = await http.post(GROUPS, json={"name": "bot", "members": [{"model": "gpt-4o"}]})
        assert_error(clash, 409, "model_name_taken")


async def test_add_and_remove_one_member(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as http:
        group = await create_group(http)
        base = f"{GROUPS}/{group['id']}/models"
        # Ids with "/" and ":" travel in the path as they are.
        added = await http.post(f"{base}/meta-llama/llama-3.3-70b-versatile")
        assert added.status_code == 200, added.text
        added = await http.post(f"{base}/anthropic:claude-haiku-4-5", json={"weight": 7})
        assert added.status_code == 200, added.text
        assert added.json()["members"] == [
            {"model": "gpt-4o", "weight": 1},
            {"model": "meta-llama/llama-3.3-70b-versatile", "weight": 1},
            {"model": "anthropic:claude-haiku-4-5", "weight": 7},
        ]
        again = await http.post(f"{base}/GPT-4O")
        assert assert_error(again, 409, "member_exists")["param"] == "model"
        assert_error(await http.post(f"{base}/nope-model"), 422, "model_not_found")
        assert_error(await http.post(f"{base}/gpt-4o-mini", json={"weight": 0}), 422, "validation_error")
        removed = await http.delete(f"{base}/Meta-Llama/llama-3.3-70b-versatile")
        assert removed.status_code == 200, removed.text
        assert [m["model"] for m in removed.json()["members"]] == ["gpt-4o", "anthropic:claude-haiku-4-5"]
        missing = await http.delete(f"{base}/gpt-4o-mini")
        assert assert_error(missing, 404, "not_found")["param"] == "model"
        await http.delete(f"{base}/gpt-4o")
        last = await http.delete(f"{base}/anthropic:claude-haiku-4-5")
        assert assert_error(last, 422, "validation_error")["param"] == "model"
        assert (await http.get(f"{GROUPS}/{group['id']}")).json()["members"] == [
            {"model": "anthropic:claude-haiku-4-5", "weight": 7}
        ]


async def test_at_most_ten_members(gateway: RunningGateway, tenant: SeededTenant) -> None:
    ten = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini",
           "gpt-5", "gpt-5-mini", "gpt-5-nano"]
    async with client(gateway, tenant) as http:
        group = await create_group(http, members=[{"model": m} for m in ten])
        eleventh = await http.post(f"{GROUPS}/{group['id']}/models/o1")
        assert assert_error(eleventh, 422, "validation_error")["param"] == "model"


async def test_patch_revalidates_members_against_the_type(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with client(gateway, tenant) as http:
        group = await create_group(http, members=[{"model": "gpt-4o"}, {"model": "o3"}])
        url = f"{GROUPS}/{group['id']}"
        retyped = await http.patch(url, json={"model_type": "embedding"})
        assert assert_error(retyped, 422, "model_type_mismatch")["param"] == "members[0].model"
        patched = await http.patch(url, json={
            "model_type": "embedding", "strategy": "loadbalance", "name": "Vectors",
            "members": [{"model": "text-embedding-3-small", "weight": 2}],
        })
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert (body["name"], body["model_type"], body["strategy"]) == ("Vectors", "embedding", "loadbalance")
        assert body["members"] == [{"model": "text-embedding-3-small", "weight": 2}]
        for field in ("name", "members", "strategy", "model_type"):
            error = assert_error(await http.patch(url, json={field: None}), 422, "validation_error")
            assert error["param"] == field
        cleared = await http.patch(url, json={"description": None})
        assert cleared.status_code == 200 and cleared.json()["description"] is None


async def test_a_config_in_a_group_cannot_be_deleted_renamed_or_retyped(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with client(gateway, tenant) as http:
        config = await create_config(http, name="bot")
        group = await create_group(http, members=[{"model": "Bot"}])
        url = f"{CONFIGS}/{config['id']}"
        assert_error(await http.delete(url), 409, "model_in_use")
        assert assert_error(await http.patch(url, json={"name": "bot2"}), 409, "model_in_use")["param"] == "name"
        retyped = await http.patch(url, json={"base_model": "text-embedding-3-small"})
        assert assert_error(retyped, 409, "model_in_use")["param"] == "base_model"
        # Another chat base, a new case of the name, other fields: all fine.
        ok = await http.patch(url, json={"base_model": "claude-haiku-4-5", "name": "BOT", "enabled": False})
        assert ok.status_code == 200, ok.text
        # Listed by id, the member follows a rename.
        await http.patch(f"{GROUPS}/{group['id']}", json={"members": [{"model": config["id"]}]})
        assert (await http.patch(url, json={"name": "renamed"})).status_code == 200
        assert_error(await http.delete(url), 409, "model_in_use")
        await http.delete(f"{GROUPS}/{group['id']}")
        assert (await http.delete(url)).status_code == 200


async def test_group_writes_are_audited_and_delete_works(
    gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with client(gateway, tenant) as http:
        group = await create_group(http)
        url = f"{GROUPS}/{group['id']}"
        await http.patch(url, json={"strategy": "loadbalance"})
        await http.post(f"{url}/models/gpt-4o-mini")
        await http.delete(f"{url}/models/gpt-4o-mini")
        deleted = await http.delete(url)
        assert deleted.json() == {"id": group["id"], "object": "model_group", "deleted": True}
        assert_error(await http.get(url), 404, "not_found")
        assert_error(await http.post(f"{url}/models/gpt-4o"), 404, "not_found")
        assert await audit_actions(http) == [
            "model_group.create", "model_group.update", "model_group.member_add",
            "model_group.member_remove", "model_group.delete",
        ]


async def test_scopes(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with client(gateway, tenant) as admin:
        group = await create_group(admin)
    url = f"{GROUPS}/{group['id']}"
    async with client(gateway, tenant, "read") as reader:
        assert (await reader.get(url)).status_code == 200
        assert (await reader.get(GROUPS)).status_code == 200
        for method, path in (("POST", GROUPS), ("PATCH", url), ("DELETE", url),
                             ("POST", f"{url}/models/o3"), ("DELETE", f"{url}/models/gpt-4o")):
            response = await reader.request(method, path, json={"name": "x", "members": [{"model": "o3"}]}
                                            if method != "DELETE" else None)
            assert_error(response, 403, "insufficient_scope")
