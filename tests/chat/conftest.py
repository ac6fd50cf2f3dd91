"""A gateway whose providers are the loopback fake, with canary platform keys."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.fakes.upstream import FakeUpstream, run_fake_upstream
from tests.support import RunningGateway, SeededTenant, run_gateway

HOSTED = {
    "openai": "sk-hosted-openai-canary-0123456789",
    "anthropic": "sk-ant-hosted-canary-0123456789",
    "google": "AIzaHostedGoogleCanary0123456789abcd",
}


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


@pytest.fixture
def upstream(fake_upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    fake_upstream.reset()
    yield fake_upstream
    fake_upstream.reset()


def gateway_settings(fake: FakeUpstream) -> dict[str, object]:
    return {
        "openai_base_url": f"{fake.url}/v1",
        "groq_base_url": f"{fake.url}/groq/v1",
        "anthropic_base_url": fake.url,
        "google_base_url": fake.url,
        "openai_api_key": HOSTED["openai"],
        "anthropic_api_key": HOSTED["anthropic"],
        "google_api_key": HOSTED["google"],
        "allow_private_base_urls": True,
        "upstream_read_timeout": 1.5,
        "upstream_total_timeout": 20.0,
        "log_level": "DEBUG",
    }


@pytest.fixture(scope="session")
def chat_gateway(database_url: str, fake_upstream: FakeUpstream) -> Iterator[RunningGateway]:
    with run_gateway(database_url=database_url, **gateway_settings(fake_upstream)) as gw:
        yield gw


@pytest.fixture
def sdk(chat_gateway: RunningGateway, tenant: SeededTenant) -> openai.OpenAI:
    """The official SDK pointed at the gateway, with a runs:write token."""
    return openai.OpenAI(
        base_url=f"{chat_gateway.url}/v1", api_key=tenant.tokens["write"], max_retries=0, timeout=30
    )
