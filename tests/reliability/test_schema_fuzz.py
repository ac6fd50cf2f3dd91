"""Schema fuzzing: schemathesis drives every operation of our own OpenAPI document.

A real gateway (uvicorn, real app, its own SQLite file) with every provider
pointed at the loopback fake, so that a valid chat call is answered and nothing
leaves 127.0.0.1. Each operation is fuzzed with a valid token of each scope that
may call it (admin implies the others), in positive mode (data that fits the
schema) and negative mode (data that breaks it), up to 100 examples each.

What must hold for every example: no 5xx; the status is one the document declares
for the operation, the content type and the body match what it declares for that
status; every error is in the OpenAI shape; and every negative case is refused
with 400, 404, 413 or 422.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fakes.upstream import FakeUpstream, run_fake_upstream
from tests.reliability.upstream_harness import seeded_tenant, upstream_settings
from modelgate.app import create_app
from modelgate.config import load_settings
from tests.support import TEST_KEYRING, RunningGateway, SeededTenant, run_gateway

EXAMPLES = 100
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_STATUSES = {400, 404, 413, 422}
# The scope each operation needs, by path prefix; every wider scope may call it too.
ADMIN_PATHS = (
    "/v1/tenant/model_keys", "/v1/tenant/settings", "/v1/tenant/audit_log", "/v1/tenant/usage",
)
# A tenant's model configs and groups: reads need runs:read, every write admin.
ADMIN_WRITE_PATHS = ("/v1/tenant/model_configs", "/v1/tenant/model_groups")
WIDER = {"read": ("read", "admin"), "write": ("write", "admin"), "admin": ("admin",)}

# What the examples saw, per (mode, operation): counted for the summary test.
SEEN: Counter[tuple[str, str]] = Counter()
STATUSES: Counter[tuple[str, int]] = Counter()
# Hypothesis reseeds the global `random` before every example: ids must not repeat.
REQUEST_IDS: Counter[str] = Counter()


def needed_scope(method: str, path: str) -> str:
    if path.startswith(ADMIN_PATHS):
        return "admin"
    if path.startswith(ADMIN_WRITE_PATHS):
        return "read" if method == "GET" else "admin"
    return "write" if method == "POST" else "read"


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningGateway, SeededTenant, FakeUpstream]]:
    url, tenant = seeded_tenant(tmp_path_factory.mktemp("fuzz"))
    with run_fake_upstream() as fake, run_gateway(
        database_url=url, register_sent_secrets=False, **upstream_settings(fake.url)
    ) as gw:
        yield gw, tenant, fake


def _document() -> dict:
    """The document the gateway serves, built at collection time (no server, no
    database: building the app touches neither)."""
    settings = load_settings(database_url="sqlite+aiosqlite://", encryption_keys=TEST_KEYRING)
    return create_app(settings).openapi()


DOCUMENT = _document()


def _schema(mode: GenerationMode) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    schema.config.generation.update(
        modes=[mode],
        max_examples=EXAMPLES,
        deterministic=True,  # the same examples on every run: a failure reproduces
        database="none",
        # Tokens are the isolation matrix's subject; here every call carries a valid one.
        with_security_parameters=False,
        # Unknown query parameters are ignored, as OpenAI's API ignores them: not a
        # negative case for us.
        allow_extra_parameters=False,
    )
    return schema


def _exercise(case, gw_url: str, tenant: SeededTenant, mode: str) -> None:
    method, path = case.operation.method.upper(), case.operation.path
    if case.method.upper() != method:  # the coverage phase tries undeclared methods
        response = case.call(base_url=gw_url, headers=tenant.headers("admin"), timeout=30)
        assert response.status_code == 405, (case.method, path, response.status_code)
        assert response.json()["error"]["code"] == "method_not_allowed"
        STATUSES[(mode, 405)] += 1
        return
    for which in WIDER[needed_scope(method, path)] if path.startswith("/v1/") else ("admin",):
        response = case.call(base_url=gw_url, headers=tenant.headers(which), timeout=30)
        case.validate_response(response, checks=CHECKS)
        SEEN[(mode, f"{method} {path}")] += 1
        REQUEST_IDS[response.headers["x-request-id"][0]] += 1  # schemathesis: value lists
        STATUSES[(mode, response.status_code)] += 1
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error"}, body
            assert set(body["error"]) == {"message", "type", "param", "code"}, body
            assert isinstance(body["error"]["message"], str) and body["error"]["message"]
        if mode == "negative" and response.status_code < 400:
            # Some negative examples read as valid once on the wire (["false"] in a query
            # is ?x=false, [] is no parameter at all): schemathesis's own check knows
            # those, and fails every other negative example that was accepted.
            case.validate_response(response, checks=[negative_data_rejection])
        elif mode == "negative":
            assert response.status_code in NEGATIVE_STATUSES, (response.status_code, response.text)


positive = _schema(GenerationMode.POSITIVE)
# An operation without parameters or body has no input that could break its schema.
WITHOUT_INPUTS = [
    f"{method.upper()} {path}"
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
    if not operation.get("parameters") and "requestBody" not in operation
]
negative = _schema(GenerationMode.NEGATIVE).exclude(name=WITHOUT_INPUTS)


@positive.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_positive(case, fuzz_target) -> None:
    _exercise(case, fuzz_target[0].url, fuzz_target[1], "positive")


@negative.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_negative(case, fuzz_target) -> None:
    _exercise(case, fuzz_target[0].url, fuzz_target[1], "negative")


def test_the_fuzzing_reached_every_operation(fuzz_target, record_property) -> None:
    """Runs after the two above (pytest keeps file order): every operation was called
    in positive mode, and every one with inputs in negative mode too."""
    gw = fuzz_target[0]
    document = httpx.get(f"{gw.url}/openapi.json").json()
    operations = {
        f"{method.upper()} {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    for label, operation in operations.items():
        assert SEEN[("positive", label)] >= 1, label
        if operation.get("parameters") or operation.get("requestBody"):
            assert SEEN[("negative", label)] >= 1, label
    assert not any(status >= 500 for _, status in STATUSES)
    assert REQUEST_IDS.most_common(1)[0][1] == 1, REQUEST_IDS.most_common(3)
    record_property("operations", len(operations))
    record_property("calls_per_mode_operation", dict(sorted(SEEN.items())))
    record_property("statuses", dict(sorted(STATUSES.items())))
    print(f"\nfuzzed {len(operations)} operations, {sum(SEEN.values())} calls; statuses {dict(STATUSES)}")
