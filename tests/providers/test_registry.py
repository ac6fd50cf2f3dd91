"""The registry: api_style → adapter, one client per provider, closed at shutdown."""

from __future__ import annotations

import pytest
import respx

from modelgate.providers.anthropic import AnthropicAdapter
from modelgate.providers.base import Timeouts
from modelgate.providers.google import GoogleAdapter
from modelgate.providers.openai_compat import OpenAICompatAdapter
from modelgate.providers.registry import ProviderRegistry, adapter_class, build_clients
from tests.providers.helpers import chat, target

STYLES = {"openai": "openai", "anthropic": "anthropic", "google": "google", "groq": "openai"}


def test_adapter_class_by_api_style() -> None:
    assert adapter_class("openai") is OpenAICompatAdapter
    assert adapter_class("anthropic") is AnthropicAdapter
    assert adapter_class("google") is GoogleAdapter
    with pytest.raises(ValueError, match="Unknown api_style 'soap'"):
        adapter_class("soap")


async def test_one_client_per_provider_and_close_all() -> None:
    timeouts = Timeouts(connect=2, read=30, total=90)
    registry = ProviderRegistry.build(STYLES, timeouts, max_response_bytes=1234)
    try:
        assert set(registry.adapters) == set(STYLES)
        groq = registry.adapter_for("groq")
        assert isinstance(groq, OpenAICompatAdapter)
        assert isinstance(registry.adapter_for("google"), GoogleAdapter)
        clients = list(registry.clients.values())
        assert len({id(client) for client in clients}) == len(STYLES)
        assert groq.client is registry.clients["groq"]
        assert groq.timeouts == timeouts and groq.max_response_bytes == 1234
        with pytest.raises(LookupError):
            registry.adapter_for("nobody")
    finally:
        await registry.close_all()
    assert all(client.is_closed for client in clients)


def test_unknown_style_fails_before_any_client_is_built() -> None:
    with pytest.raises(ValueError):
        ProviderRegistry.build({"openai": "openai", "x": "corba"})


async def test_build_clients() -> None:
    clients = build_clients(("a", "b"), Timeouts())
    assert set(clients) == {"a", "b"} and clients["a"] is not clients["b"]
    for client in clients.values():
        await client.aclose()


async def test_a_byok_host_is_served_by_the_providers_client(upstream: respx.MockRouter) -> None:
    registry = ProviderRegistry.build({"openai": "openai"})
    try:
        route = upstream.post("http://10.0.0.5:8000/v1/chat/completions").respond(
            200, json={"choices": [], "model": "x"}
        )
        byok = target("openai", base_url="http://10.0.0.5:8000/v1")
        answer = await registry.adapter_for("openai").complete(*chat(), byok)
        assert route.called and answer["model"] == "gpt-4o-mini"
    finally:
        await registry.close_all()
