"""Calling a tenant's model configuration (CONTRACT-2, "Tenant model
configurations" — "Calling it"), through the official SDK, against the fake."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.metering.outcome_harness import gateway_settings, usage_events
from tests.routing.conftest import CONFIGS, HI, admin, chat, create_config, sdk
from tests.support import RunningGateway, SeededTenant, run_gateway


def test_a_config_call_applies_its_rules(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    config = create_config(
        metered_gateway, tenant, name="Support-Bot", max_tokens=64, system_prompt="Be brief."
    )
    client = sdk(metered_gateway, tenant)
    for model in ("support-bot", "SUPPORT-BOT", config["id"]):
        raw = client.chat.completions.with_raw_response.create(model=model, messages=HI)
        answer = raw.parse()
        assert answer.model == "Support-Bot"
        assert raw.headers["ic-base-model"] == "gpt-4o" and raw.headers["ic-provider"] == "openai"
        sent = upstream.last.body
        assert sent["model"] == "gpt-4o"
        assert sent["messages"] == [{"role": "system", "content": "Be brief."}, *HI]
        assert sent["max_completion_tokens"] == 64 and "max_tokens" not in sent
    events = usage_events(metered_gateway, tenant, 3)
    assert {(e["model"], e["base_model"], e["status"]) for e in events} == {
        ("Support-Bot", "gpt-4o", 200)
    }


def test_a_streamed_config_call_names_the_config_in_every_chunk(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_config(metered_gateway, tenant, name="streamer", system_prompt="Be brief.")
    chunks = list(
        sdk(metered_gateway, tenant).chat.completions.create(
            model="streamer", messages=HI, stream=True
        )
    )
    assert chunks and {c.model for c in chunks} == {"streamer"}
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert upstream.last.body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_a_translating_provider_gets_the_rules_too(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_config(metered_gateway, tenant, name="haiku-bot", base_model="claude-haiku-4-5",
                  max_tokens=99, system_prompt="Answer in French.")
    answer = sdk(metered_gateway, tenant).chat.completions.create(model="haiku-bot", messages=HI)
    assert answer.model == "haiku-bot"
    sent = upstream.last.body
    assert upstream.last.path == "/v1/messages" and sent["max_tokens"] == 99
    system = sent["system"]
    text = system if isinstance(system, str) else " ".join(part["text"] for part in system)
    assert "Answer in French." in text
    chunks = list(sdk(metered_gateway, tenant).chat.completions.create(
        model="haiku-bot", messages=HI, stream=True
    ))
    assert chunks and {c.model for c in chunks} == {"haiku-bot"}
    assert upstream.last.body["stream"] is True and upstream.last.body["max_tokens"] == 99


def test_max_tokens_ceiling_and_the_streaming_switch(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_config(metered_gateway, tenant, name="capped", max_tokens=64, streaming=False)
    client = sdk(metered_gateway, tenant)
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        client.chat.completions.create(model="capped", messages=HI, max_tokens=65)
    assert raised.value.body["code"] == "validation_error"
    assert raised.value.body["param"] == "max_tokens"
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        client.chat.completions.create(model="capped", messages=HI, stream=True)
    assert raised.value.body["param"] == "stream"
    assert upstream.requests == []
    client.chat.completions.create(model="capped", messages=HI, max_tokens=64)
    assert upstream.last.body["max_tokens"] == 64


def test_a_disabled_config_does_not_exist(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    config = create_config(metered_gateway, tenant, name="paused")
    with admin(metered_gateway, tenant) as http:
        assert http.patch(f"{CONFIGS}/{config['id']}", json={"enabled": False}).status_code == 200
    response = chat(metered_gateway, tenant, "paused")
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
    assert upstream.requests == []


def test_names_are_the_tenants_own(
    metered_gateway: RunningGateway, tenant: SeededTenant, other_tenant: SeededTenant,
    upstream: FakeUpstream,
) -> None:
    config = create_config(metered_gateway, tenant, name="private-bot")
    for model in ("private-bot", config["id"]):
        response = chat(metered_gateway, other_tenant, model)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "model_not_found"
    assert upstream.requests == []


def test_chat_on_a_non_chat_model_is_a_type_mismatch(
    metered_gateway: RunningGateway, tenant: SeededTenant, upstream: FakeUpstream
) -> None:
    create_config(metered_gateway, tenant, name="vectors", base_model="text-embedding-3-small")
    for model in ("text-embedding-3-small", "vectors"):
        response = chat(metered_gateway, tenant, model)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "model_type_mismatch" and error["param"] == "model"
    assert upstream.requests == []
    # An id the catalog does not list is the provider's to judge: it passes.
    assert chat(metered_gateway, tenant, "gpt-embedding-free-form").status_code == 200


def overlay(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overlay.toml"
    path.write_text(text)
    return path


def test_the_base_models_lifecycle_applies(
    database_url: str, fake: FakeUpstream, tenant: SeededTenant, tmp_path: Path,
    metered_gateway: RunningGateway,
) -> None:
    create_config(metered_gateway, tenant, name="legacy-bot", base_model="gpt-4o-mini")
    fake.reset()
    deprecated = (
        '[[models]]\nid = "gpt-4o-mini"\nend_of_life_at = 2999-01-01\n'
        'replacement = "gpt-4.1-mini"\n'
    )
    with run_gateway(database_url=database_url, catalog_overlay=overlay(tmp_path, deprecated),
                     **gateway_settings(fake.url)) as gw:
        response = chat(gw, tenant, "legacy-bot")
    assert response.status_code == 200 and response.json()["model"] == "legacy-bot"
    assert "2999-01-01" in response.headers["deprecation"]
    retired = deprecated.replace("2999-01-01", "2020-01-01")
    (tmp_path / "retired").mkdir()
    with run_gateway(database_url=database_url,
                     catalog_overlay=overlay(tmp_path / "retired", retired),
                     **gateway_settings(fake.url)) as gw:
        response = chat(gw, tenant, "legacy-bot")
    assert response.status_code == 410, response.text
    assert response.json()["error"]["code"] == "model_retired"
    assert "gpt-4.1-mini" in response.json()["error"]["message"]
    assert len(fake.requests) == 1  # the retired one never went upstream
