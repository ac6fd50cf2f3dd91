"""HTTP conventions, end to end over a real server on both databases."""

from __future__ import annotations

import httpx
import orjson
import pytest

from modelgate import api_version
from tests.support import RunningGateway, SeededTenant, run_gateway

SETTINGS = "/v1/tenant/settings"


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "code", "message", "param"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]


async def test_missing_and_unknown_tokens_are_401(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert_error(await client.get(SETTINGS), 401, "invalid_token")
        assert_error(await client.get(SETTINGS, headers={"Authorization": "Basic abc"}), 401, "invalid_token")
        assert_error(await client.get(SETTINGS, headers={"Authorization": "Bearer nope"}), 401, "invalid_token")
        forged = "mg_" + "A" * 43
        assert_error(await client.get(SETTINGS, headers={"Authorization": f"Bearer {forged}"}), 401, "invalid_token")
        ok = await client.get(SETTINGS, headers=tenant.headers("admin"))
        assert ok.status_code == 200


async def test_missing_scope_is_403(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        for which in ("read", "write"):
            error = assert_error(await client.get(SETTINGS, headers=tenant.headers(which)), 403, "insufficient_scope")
            assert error["type"] == "permission_error"


async def test_api_version_pinned_echoed_and_validated(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        pinned = await client.get(SETTINGS)
        assert pinned.headers["ic-api-version"] == api_version.LATEST
        assert pinned.json()["api_version"] == api_version.LATEST
        explicit = await client.get(SETTINGS, headers={"IC-Api-Version": "2026-05-01"})
        assert explicit.headers["ic-api-version"] == "2026-05-01"
        for bad in ("2020-01-01", "yesterday", "2026-5-1", ""):
            response = await client.get(SETTINGS, headers={"IC-Api-Version": bad})
            error = assert_error(response, 400, "api_version_invalid")
            assert error["param"] == "IC-Api-Version"
            assert response.headers["ic-api-version"] == api_version.LATEST


async def test_request_id_echoed_or_generated(gateway: RunningGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        echoed = await client.get("/healthz", headers={"X-Request-Id": "trace-42"})
        assert echoed.headers["x-request-id"] == "trace-42"
        fresh = await client.get("/healthz")
        other = await client.get("/healthz")
        assert fresh.headers["x-request-id"].startswith("req_")
        assert fresh.headers["x-request-id"] != other.headers["x-request-id"]
        # A header that could forge log lines is replaced, not echoed.
        weird = await client.get("/healthz", headers={"X-Request-Id": "a b\tc"})
        assert weird.headers["x-request-id"].startswith("req_")
        errored = await client.get("/nowhere", headers={"X-Request-Id": "trace-43"})
        assert errored.headers["x-request-id"] == "trace-43"


async def test_unknown_routes_and_methods_in_openai_shape(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert_error(await client.get("/v1/nothing-here"), 404, "not_found")
        assert_error(await client.delete("/healthz"), 405, "method_not_allowed")
        assert_error(await client.put(SETTINGS, headers=tenant.headers()), 405, "method_not_allowed")


async def test_bad_bodies_are_4xx_in_openai_shape(gateway: RunningGateway, tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        wrong_type = await client.patch(SETTINGS, json={"hosted_keys_enabled": "perhaps"})
        assert assert_error(wrong_type, 422, "validation_error")["param"] == "hosted_keys_enabled"
        assert_error(await client.patch(SETTINGS, json={"surprise": 1}), 422, "validation_error")
        assert_error(await client.patch(SETTINGS, json=[1, 2]), 422, "validation_error")
        not_json = await client.patch(SETTINGS, content=b"{nope", headers={"content-type": "application/json"})
        assert_error(not_json, 400, "invalid_json")
        # Nothing was changed by any of them.
        assert (await client.get(SETTINGS)).json()["hosted_keys_enabled"] is True


async def test_settings_patch_is_audited(gateway: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=tenant.headers()) as client:
        off = await client.patch(SETTINGS, json={"hosted_keys_enabled": False}, headers={"X-Request-Id": "rq-off"})
        assert off.status_code == 200 and off.json()["hosted_keys_enabled"] is False
        assert (await client.get(SETTINGS)).json()["hosted_keys_enabled"] is False
        await client.patch(SETTINGS, json={"hosted_keys_enabled": False})  # no change, no entry
        await client.patch(SETTINGS, json={"hosted_keys_enabled": True}, headers={"X-Request-Id": "rq-on"})
        log = (await client.get("/v1/tenant/audit_log")).json()
        assert [e["action"] for e in log["data"]] == ["hosted_keys.enable", "hosted_keys.disable"]
        assert [e["request_id"] for e in log["data"]] == ["rq-on", "rq-off"]
        assert all(e["token_prefix"] == tenant.tokens["admin"][:11] for e in log["data"])
        assert log["has_more"] is False
        first = (await client.get("/v1/tenant/audit_log", params={"limit": 1})).json()
        assert first["has_more"] is True and len(first["data"]) == 1
        rest = (await client.get("/v1/tenant/audit_log", params={"limit": 1, "after": first["data"][0]["id"]})).json()
        assert rest["data"][0]["action"] == "hosted_keys.disable" and rest["has_more"] is False
        for params in ({"limit": 0}, {"after": 3_000_000_000}, {"after": "1e99"}, {"limit": 10**30}):
            assert_error(await client.get("/v1/tenant/audit_log", params=params), 422, "validation_error")
    async with httpx.AsyncClient(base_url=gateway.url, headers=other_tenant.headers()) as client:
        assert (await client.get("/v1/tenant/audit_log")).json()["data"] == []
        assert (await client.get(SETTINGS)).json()["hosted_keys_enabled"] is True


def test_bodies_over_the_limit_are_413(database_url: str, tenant: SeededTenant) -> None:
    with run_gateway(database_url=database_url, max_body_bytes=1024) as gw:
        big = b'{"hosted_keys_enabled": true, "pad": "' + b"x" * 2048 + b'"}'
        with httpx.Client(base_url=gw.url, headers=tenant.headers()) as client:
            declared = client.patch(SETTINGS, content=big, headers={"content-type": "application/json"})
            assert_error(declared, 413, "request_too_large")

            def chunks():
                for _ in range(8):
                    yield b"x" * 512

            streamed = client.patch(SETTINGS, content=chunks(), headers={"content-type": "application/json"})
            assert_error(streamed, 413, "request_too_large")


@pytest.mark.parametrize(
    "unreachable",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:9/nowhere",
        "postgresql+asyncpg://postgres@no-such-host.invalid:5432/nowhere",
        "postgresql+asyncpg://postgres@127.0.0.1:5432/no_such_database_here",
    ],
    ids=["refused", "unresolvable", "missing-database"],
)
def test_database_down_is_503_not_500(unreachable: str) -> None:
    with run_gateway(database_url=unreachable) as gw:
        assert httpx.get(f"{gw.url}/healthz").status_code == 200
        assert_error(httpx.get(f"{gw.url}/readyz"), 503, "database_unavailable")
        token = "mg_" + "B" * 43
        response = httpx.get(f"{gw.url}{SETTINGS}", headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 503, "database_unavailable")
        assert response.headers["x-should-retry"] == "true"


async def test_logs_are_json_with_request_ids_and_no_secrets(gateway: RunningGateway, tenant: SeededTenant) -> None:
    canary_key = "sk-canary-" + "Q" * 30
    canary_token = "mg_" + "canary" + "Z" * 37
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        await client.get(SETTINGS, headers={"Authorization": f"Bearer {canary_token}", "X-Request-Id": "rq-canary"})
        await client.patch(
            SETTINGS,
            headers={**tenant.headers(), "X-Request-Id": "rq-canary-2"},
            json={"hosted_keys_enabled": canary_key},
        )
        await client.get(SETTINGS, headers={"Authorization": f"Bearer {tenant.tokens['admin']}"})
    text = gateway.logs.text()
    for secret in (canary_key, canary_token, tenant.tokens["admin"], canary_token[12:]):
        assert secret not in text
    lines = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    access = [entry for entry in lines if entry["logger"] == "modelgate.access"]
    by_id = {entry["request_id"]: entry for entry in access}
    assert by_id["rq-canary"]["status"] == 401
    assert by_id["rq-canary-2"]["status"] == 422
    assert by_id["rq-canary-2"]["tenant_id"] == tenant.id
    assert {"method", "path", "status", "duration_ms"} <= set(by_id["rq-canary"])
