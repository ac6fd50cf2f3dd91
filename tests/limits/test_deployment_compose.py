"""docker-compose.yml and deploy/nginx.conf: the replica topology, checked without Docker.

The machine that runs the tests has no Docker daemon, so the file is checked
two ways. Its shape against the Compose Specification's JSON schema, vendored
as tests/limits/compose_spec.json from the `docker-compose` 1.29.2 wheel on PyPI
(compose/config/compose_spec.json, Apache-2.0). Its meaning by hand: PostgreSQL,
Redis, three gateway replicas on both, nginx in front on 8080 listing exactly
those replicas, a health check on every long-running service, and start-up
ordered by health. The same topology runs as plain processes in the
multi-process tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
NGINX = ROOT / "deploy" / "nginx.conf"
SCHEMA = json.loads((Path(__file__).parent / "compose_spec.json").read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def gateways(services: dict[str, Any]) -> dict[str, Any]:
    return {
        name: service for name, service in services.items()
        if service.get("command", [])[:2] == ["modelgate", "serve"]
    }


def schema_errors(document: object) -> list[str]:
    return [error.message for error in jsonschema_rs.validator_for(SCHEMA).iter_errors(document)]


def test_the_file_is_valid_against_the_compose_schema(compose: dict[str, Any]) -> None:
    assert schema_errors(compose) == []


@pytest.mark.parametrize(
    "mistake",
    [
        {"services": {"a": {"image": "x", "heathcheck": {"test": ["CMD", "true"]}}}},
        {"services": {"a": {"image": "x", "depends_on": {"b": {"condition": "healthy"}}}}},
        {"services": {"a": {"image": "x", "ports": [{"target": "eighty"}]}}},
    ],
)
def test_the_schema_check_does_catch_mistakes(mistake: dict[str, Any]) -> None:
    """The check above means something: typos and wrong values are refused."""
    assert schema_errors(mistake)


def test_three_gateway_replicas_share_postgres_and_redis(services: dict[str, Any]) -> None:
    replicas = gateways(services)
    assert len(replicas) == 3, sorted(replicas)
    images = {service.get("image") for service in replicas.values()}
    assert len(images) == 1  # the same build everywhere
    for name, service in replicas.items():
        env = service["environment"]
        assert env["MODELGATE_DATABASE_URL"].startswith("postgresql+asyncpg://"), name
        assert "@postgres:5432/" in env["MODELGATE_DATABASE_URL"], name
        assert env["MODELGATE_REDIS_URL"] == "redis://redis:6379/0", name
        # Required, not defaulted: compose refuses to start without a keyring.
        required = r"\$\{MODELGATE_ENCRYPTION_KEYS:\?[^}]+\}"
        assert re.fullmatch(required, env["MODELGATE_ENCRYPTION_KEYS"]), name
        # Reached only through the load balancer.
        assert "ports" not in service, name
        assert "--port" in service["command"] and "8080" in service["command"], name
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")


def test_every_long_running_service_has_a_health_check(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name == "migrate":  # a one-shot: done is its health
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), name
    for name, service in gateways(services).items():
        assert any("/readyz" in part for part in service["healthcheck"]["test"]), name


def test_start_up_waits_for_health(services: dict[str, Any]) -> None:
    for name, service in gateways(services).items():
        assert service["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
    assert services["migrate"]["command"] == ["modelgate", "db", "upgrade"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    lb_waits_for = services["nginx"]["depends_on"]
    assert lb_waits_for == {name: {"condition": "service_healthy"} for name in gateways(services)}


def test_nginx_is_the_official_image_on_8080(services: dict[str, Any]) -> None:
    nginx = services["nginx"]
    assert re.fullmatch(r"nginx:[\w.-]+", nginx["image"])  # the official image, no registry prefix
    assert nginx["ports"] == ["8080:8080"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    published = [name for name, service in services.items() if "ports" in service]
    assert published == ["nginx"]


def nginx_directives(block: str) -> list[list[str]]:
    """Each directive as its words; blocks' braces end a directive as a ";" does."""
    text = re.sub(r"#.*", "", block)
    return [statement.split() for statement in re.split(r"[;{}]", text) if statement.strip()]


def test_the_nginx_upstream_lists_exactly_the_replicas(services: dict[str, Any]) -> None:
    config = NGINX.read_text()
    upstream = re.search(r"upstream\s+(\w+)\s*\{(.*?)\}", config, re.S)
    assert upstream is not None
    servers = [d[1] for d in nginx_directives(upstream.group(2)) if d[0] == "server"]
    assert sorted(servers) == sorted(f"{name}:8080" for name in gateways(services))
    directives = nginx_directives(config)
    assert ["listen", "8080"] in directives
    assert ["proxy_pass", f"http://{upstream.group(1)}"] in directives
    # Streams must reach the client as they come.
    assert ["proxy_buffering", "off"] in directives
    # A chat call that reached a replica is never sent to another (it costs credits).
    assert not any("non_idempotent" in d for d in directives)
    # The nginx health check's path is served by nginx itself.
    check = " ".join(services["nginx"]["healthcheck"]["test"])
    path = re.search(r"127\.0\.0\.1:8080(/[\w-]+)", check)
    assert path and f"location = {path.group(1)}" in config
