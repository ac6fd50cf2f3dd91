"""observe() and the counters: the contract's names and labels, bounded labels,
nothing about a tenant in any of them. The families are the process's, so each
test compares values before and after."""

from __future__ import annotations

import time

import pytest
from prometheus_client import generate_latest

from modelgate.catalog import load_catalog
from modelgate.metering import metrics
from modelgate.metering.metrics import REGISTRY, UsageMetrics
from tests.metering.usage_helpers import make_event

CHAT = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
        "gen_ai_request_model": "gpt-4o-mini", "error_type": ""}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(scope="module")
def observer() -> UsageMetrics:
    return UsageMetrics.for_catalog(load_catalog())


def test_observe_updates_every_family_with_the_contract_labels(observer: UsageMetrics) -> None:
    before = {
        "requests": sample("modelgate_requests_total", status="200"),
        "duration": sample("gen_ai_client_operation_duration_seconds_count", **CHAT),
        "duration_sum": sample("gen_ai_client_operation_duration_seconds_sum", **CHAT),
        "input": sample("gen_ai_client_token_usage_sum", **CHAT, gen_ai_token_type="input"),
        "output": sample("gen_ai_client_token_usage_sum", **CHAT, gen_ai_token_type="output"),
        "ttft": sample("gen_ai_server_time_to_first_token_seconds_count", **CHAT),
        "credits": sample("modelgate_credits_total", source="hosted"),
    }
    observer.observe(make_event("t1", input_tokens=11, output_tokens=22, latency_ms=250,
                                ttft_ms=40, stream=True, credits_n=2_100_000_000))
    assert sample("modelgate_requests_total", status="200") == before["requests"] + 1
    assert sample("gen_ai_client_operation_duration_seconds_count", **CHAT) == before["duration"] + 1
    assert sample("gen_ai_client_operation_duration_seconds_sum", **CHAT) == pytest.approx(
        before["duration_sum"] + 0.25)
    assert sample("gen_ai_client_token_usage_sum", **CHAT, gen_ai_token_type="input") == before["input"] + 11
    assert sample("gen_ai_client_token_usage_sum", **CHAT, gen_ai_token_type="output") == before["output"] + 22
    assert sample("gen_ai_server_time_to_first_token_seconds_count", **CHAT) == before["ttft"] + 1
    assert sample("modelgate_credits_total", source="hosted") == pytest.approx(before["credits"] + 2.1)
    # The OTel-advised buckets: 22 output tokens fall in le=64, not in le=16.
    bucket = "gen_ai_client_token_usage_bucket"
    assert sample(bucket, **CHAT, gen_ai_token_type="output", le="64.0") >= 1
    text = generate_latest(REGISTRY).decode()
    for name in ("gen_ai_client_operation_duration_seconds_bucket", "gen_ai_client_token_usage_bucket",
                 "gen_ai_server_time_to_first_token_seconds_bucket", "modelgate_requests_total",
                 "modelgate_credits_total"):
        assert f"\n{name}{{" in text, name
    assert "_created" not in text  # same series as in multiprocess mode


def test_errors_carry_error_type_and_no_tokens_when_nothing_was_generated(observer: UsageMetrics) -> None:
    failed = {**CHAT, "gen_ai_provider_name": "anthropic", "gen_ai_request_model": "claude-haiku-4-5",
              "error_type": "502"}
    before_count = sample("gen_ai_client_operation_duration_seconds_count", **failed)
    before_tokens = sample("gen_ai_client_token_usage_count", **failed, gen_ai_token_type="input")
    observer.observe(make_event("t1", provider="anthropic", model="claude-haiku-4-5",
                                base_model="claude-haiku-4-5", status=502, usage_source="none",
                                input_tokens=0, output_tokens=0))
    assert sample("gen_ai_client_operation_duration_seconds_count", **failed) == before_count + 1
    assert sample("gen_ai_client_token_usage_count", **failed, gen_ai_token_type="input") == before_tokens


def test_a_provider_reported_zero_is_observed_as_zero(observer: UsageMetrics) -> None:
    before = sample("gen_ai_client_token_usage_count", **CHAT, gen_ai_token_type="output")
    observer.observe(make_event("t1", output_tokens=0, usage_source="provider"))
    assert sample("gen_ai_client_token_usage_count", **CHAT, gen_ai_token_type="output") == before + 1


def test_free_text_models_map_to_other_and_nothing_tenant_shaped_is_a_label(observer: UsageMetrics) -> None:
    secretish = "tenant-config-zq8w3k5v9x"
    other = {**CHAT, "gen_ai_request_model": "other", "gen_ai_provider_name": "other"}
    before = sample("gen_ai_client_operation_duration_seconds_count", **other)
    for i in range(50):  # fifty distinct ids the catalog does not list: one series
        observer.observe(make_event("tenant_zq8w3k5v9xa1", model=f"{secretish}-{i}",
                                    base_model=f"{secretish}-{i}", provider="my-private-llm",
                                    token_prefix="mg_zq8w3k5v9xb2", request_id="req_zq8w3k5v9xc3"))
    assert sample("gen_ai_client_operation_duration_seconds_count", **other) == before + 50
    text = generate_latest(REGISTRY).decode()
    for fragment in ("zq8w3k5v9x", "my-private-llm", "mg_", "tenant_"):
        assert fragment not in text


def test_an_alias_or_config_name_is_labelled_with_the_model_that_served(observer: UsageMetrics) -> None:
    labels = {**CHAT, "gen_ai_request_model": "gpt-4o"}
    before = sample("gen_ai_client_operation_duration_seconds_count", **labels)
    observer.observe(make_event("t1", model="my-fast-config", base_model="gpt-4o"))
    assert sample("gen_ai_client_operation_duration_seconds_count", **labels) == before + 1
    unsettled = {**CHAT, "gen_ai_provider_name": "none", "gen_ai_request_model": "other",
                 "error_type": "404"}
    before = sample("gen_ai_client_operation_duration_seconds_count", **unsettled)
    observer.observe(make_event("t1", model="no-such-model", base_model=None, provider=None,
                                source=None, status=404, usage_source="none"))
    assert sample("gen_ai_client_operation_duration_seconds_count", **unsettled) == before + 1


def test_the_children_cache_is_bounded_and_counts_stay_right() -> None:
    small = UsageMetrics(models=["gpt-4o-mini"], providers=["openai"], max_cached=2)
    statuses = [200, 400, 401, 429, 500, 502, 504]
    before = {s: sample("modelgate_requests_total", status=str(s)) for s in statuses}
    for status in statuses * 3:
        small.observe(make_event("t1", status=status))
    assert len(small._bound) == 2
    for status in statuses:
        assert sample("modelgate_requests_total", status=str(status)) == before[status] + 3


def test_byok_credits_stay_zero_and_the_other_counters(observer: UsageMetrics) -> None:
    before = sample("modelgate_credits_total", source="byok")
    observer.observe(make_event("t1", source="byok", credits_n=0))
    assert sample("modelgate_credits_total", source="byok") == before
    assert "modelgate_credits_total{source=\"byok\"}" in generate_latest(REGISTRY).decode()

    before = sample("modelgate_rate_limited_total", reason="rpm")
    before_other = sample("modelgate_rate_limited_total", reason="other")
    metrics.count_rate_limited("rpm")
    metrics.count_rate_limited("whatever a caller made up")
    assert sample("modelgate_rate_limited_total", reason="rpm") == before + 1
    assert sample("modelgate_rate_limited_total", reason="other") == before_other + 1

    before = sample("modelgate_upstream_attempts_total", provider="openai", outcome="timeout")
    before_other = sample("modelgate_upstream_attempts_total", provider="other", outcome="error")
    observer.upstream_attempt("openai", "timeout")
    observer.upstream_attempt("https://tenant.example/v1", "weird")
    assert sample("modelgate_upstream_attempts_total", provider="openai", outcome="timeout") == before + 1
    assert sample("modelgate_upstream_attempts_total", provider="other", outcome="error") == before_other + 1

    before = sample("modelgate_usage_events_dropped_total")
    metrics.count_dropped(3)
    assert sample("modelgate_usage_events_dropped_total") == before + 3


def test_observe_is_cheap(observer: UsageMetrics, record_property) -> None:
    event = make_event("t1", ttft_ms=30, stream=True)
    observer.observe(event)  # bind once
    rounds = 20_000
    started = time.process_time()
    for _ in range(rounds):
        observer.observe(event)
    per_call_us = (time.process_time() - started) / rounds * 1e6
    record_property("observe_cpu_us", round(per_call_us, 2))
    print(f"\nobserve(): {per_call_us:.2f} us CPU per event (single-process mode)")
    # A chat call through the gateway costs some hundreds of microseconds of CPU.
    assert per_call_us < 50
