"""The routing steps without HTTP: plans, orders, cooldowns, verdicts, config
rules and the stream hold-back, on hand-built snapshots and generators."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator

import orjson
import pytest

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.errors import (
    ModelKeyMissing,
    ModelNotFound,
    ModelRetired,
    ModelTypeMismatch,
    RateLimitExceeded,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    ValidationFailed,
)
from modelgate.providers.holdback import (
    MAX_HELD,
    is_substantive,
    prime_stream,
    stream_with_error_tail,
)
from modelgate.routing import config_rules
from modelgate.routing.cooldown import Cooldowns
from modelgate.routing.failover import Candidate, Verdict, call_members, judge
from modelgate.routing.names import Member, plan_for
from modelgate.routing.order import weighted_order
from modelgate.tenant_models.entries import (
    EMPTY,
    ConfigEntry,
    GroupEntry,
    GroupMember,
    TenantModels,
)

BOT = ConfigEntry(id="mc_1", name="Support-Bot", base_model="gpt-4o", max_tokens=100,
                  system_prompt="Be brief.")
GROUP = GroupEntry(
    id="grp_1", name="resilient", strategy="fallback",
    members=(GroupMember("support-bot"), GroupMember("claude-haiku-4-5", 3)),
)
SNAPSHOT = TenantModels(configs=(BOT,), groups=(GROUP,))


def chunk(delta: dict, finish: str | None = None, **extra: object) -> bytes:
    event = {"object": "chat.completion.chunk", "model": "m",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return b"data: " + orjson.dumps(event) + b"\n\n"


# ── plans ─────────────────────────────────────────────────────────────────────
def test_tenant_names_come_first_by_name_any_case_or_id() -> None:
    for requested in ("support-bot", "SUPPORT-BOT", "mc_1"):
        plan = plan_for(requested, SNAPSHOT, model_type="chat_completion")
        assert plan.tenant_name == "Support-Bot" and plan.members[0].config is BOT
    plan = plan_for("gpt-4o", SNAPSHOT, model_type="chat_completion")
    assert plan.tenant_name is None and plan.members == (Member("gpt-4o"),)
    assert plan_for("gpt-4o", EMPTY, model_type="chat_completion").members == (Member("gpt-4o"),)


def test_a_group_lists_its_members_with_their_configs() -> None:
    plan = plan_for("RESILIENT", SNAPSHOT, model_type="chat_completion")
    assert plan.is_group and plan.tenant_name == "resilient"
    assert [m.requested for m in plan.members] == ["support-bot", "claude-haiku-4-5"]
    assert plan.members[0].config is BOT and plan.members[0].name == "Support-Bot"
    assert plan.members[1].config is None


def test_a_group_of_the_other_type_is_refused() -> None:
    with pytest.raises(ModelTypeMismatch) as raised:
        plan_for("resilient", SNAPSHOT, model_type="embedding")
    assert raised.value.param == "model" and raised.value.status_code == 422


# ── orders ────────────────────────────────────────────────────────────────────
def test_loadbalance_first_picks_follow_the_weights() -> None:
    members = (GroupMember("a", 1), GroupMember("b", 3), GroupMember("c", 6))
    rng = random.Random(20261201)
    firsts = Counter(weighted_order(members, rng)[0].model for _ in range(20_000))
    # Expected 2000 / 6000 / 12000; the bounds are over 10 standard deviations wide.
    assert 1_600 < firsts["a"] < 2_400
    assert 5_400 < firsts["b"] < 6_600
    assert 11_300 < firsts["c"] < 12_700


def test_loadbalance_tries_every_member_once() -> None:
    members = (GroupMember("a", 1), GroupMember("b", 100))
    rng = random.Random(7)
    for _ in range(200):
        assert sorted(m.model for m in weighted_order(members, rng)) == ["a", "b"]


def test_fallback_keeps_the_listed_order() -> None:
    plan = plan_for("resilient", SNAPSHOT, model_type="chat_completion", rng=random.Random(1))
    assert [m.requested for m in plan.members] == ["support-bot", "claude-haiku-4-5"]


# ── cooldowns ─────────────────────────────────────────────────────────────────
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cooldown_doubles_caps_and_resets() -> None:
    clock = Clock()
    cooldowns = Cooldowns(clock=clock)
    key = ("tn_a", "openai", "gpt-4o")
    assert [cooldowns.failed(key) for _ in range(6)] == [5, 10, 20, 40, 60, 60]
    assert cooldowns.cooling(key)
    clock.now += 61
    assert not cooldowns.cooling(key)
    cooldowns.succeeded(key)
    assert cooldowns.failed(key) == 5  # a success forgot the streak
    assert not cooldowns.cooling(("tn_b", "openai", "gpt-4o"))  # another tenant's is apart


def test_cooling_members_go_last_least_recently_failed_first() -> None:
    clock = Clock()
    cooldowns = Cooldowns(clock=clock)
    items = ["a", "b", "c"]
    key = lambda item: ("t", "p", item)  # noqa: E731
    cooldowns.failed(key("a"))
    clock.now += 1
    assert cooldowns.order(items, key) == ["b", "c", "a"]
    cooldowns.failed(key("c"))
    clock.now += 1
    cooldowns.failed(key("b"))
    # All cooling: still all tried, a (failed first) first.
    assert cooldowns.order(items, key) == ["a", "c", "b"]
    clock.now += 100
    assert cooldowns.order(items, key) == items


def test_cooldowns_stay_bounded() -> None:
    cooldowns = Cooldowns(max_entries=100)
    for i in range(1_000):
        cooldowns.failed(("t", "p", str(i)))
    assert len(cooldowns) == 100


# ── verdicts ──────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (UpstreamUnavailable("down"), Verdict.NEXT_AND_COOL),
        (UpstreamTimeout("slow"), Verdict.NEXT_AND_COOL),
        (UpstreamError("busy", status_code=429), Verdict.NEXT_AND_COOL),
        (UpstreamError("who", status_code=401), Verdict.NEXT),
        (UpstreamError("no", status_code=403), Verdict.NEXT),
        (ModelKeyMissing("no key"), Verdict.NEXT),
        (ModelRetired("gone"), Verdict.NEXT),
        (ModelNotFound("disabled"), Verdict.NEXT),
        (UpstreamError("bad", status_code=400), Verdict.STOP),
        (UpstreamError("what", status_code=404), Verdict.STOP),
        (UpstreamError("bad", status_code=422), Verdict.STOP),
        (ValidationFailed("ours"), Verdict.STOP),
        (RateLimitExceeded("ours"), Verdict.STOP),
    ],
)
def test_the_failover_list(error: Exception, verdict: Verdict) -> None:
    assert judge(error) is verdict  # type: ignore[arg-type]


async def test_a_400_is_returned_at_once_and_cools_nothing() -> None:
    cooldowns = Cooldowns()
    calls: list[str] = []

    async def call(name: str) -> str:
        calls.append(name)
        raise UpstreamError("bad request", status_code=400)

    candidates = [Candidate(Member(n), n, cool_key=("t", "p", n)) for n in ("a", "b")]
    with pytest.raises(UpstreamError) as raised:
        await call_members(candidates, call, cooldowns=cooldowns, group=True)
    assert calls == ["a"] and raised.value.headers["IC-Attempts"] == "1"
    assert len(cooldowns) == 0


async def test_all_failing_answers_with_the_last_failure() -> None:
    cooldowns = Cooldowns()
    skipped: list[str] = []

    async def call(name: str) -> str:
        raise UpstreamUnavailable(f"{name} is down")

    candidates: list[Candidate[str]] = [
        Candidate(Member("keyless"), error=ModelKeyMissing("no key")),
        Candidate(Member("a"), "a", cool_key=("t", "p", "a")),
        Candidate(Member("b"), "b", cool_key=("t", "p", "b")),
    ]
    with pytest.raises(UpstreamUnavailable) as raised:
        await call_members(candidates, call, cooldowns=cooldowns, group=True,
                           before_next=lambda c, e: skipped.append(c.member.requested))
    assert raised.value.message == "b is down" and raised.value.headers["IC-Attempts"] == "3"
    assert skipped == ["keyless", "a"]
    assert cooldowns.cooling(("t", "p", "a")) and cooldowns.cooling(("t", "p", "b"))


# ── config rules ──────────────────────────────────────────────────────────────
def request(**fields: object) -> tuple[ChatCompletionRequest, dict]:
    body = {"model": "support-bot", "messages": [{"role": "user", "content": "Hi"}], **fields}
    return ChatCompletionRequest.model_validate(body), body


def test_config_rules_prompt_first_and_max_tokens_default() -> None:
    chat, body = request()
    new_chat, new_body = config_rules.apply(chat, body, BOT, provider="openai")
    assert [m.role for m in new_chat.messages] == ["system", "user"]
    assert new_body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert new_body["max_completion_tokens"] == 100 and new_chat.output_limit == 100
    assert "max_completion_tokens" not in body and len(body["messages"]) == 1  # untouched
    _, groq_body = config_rules.apply(chat, body, BOT, provider="groq")
    assert groq_body["max_tokens"] == 100 and "max_completion_tokens" not in groq_body


def test_config_rules_ceiling_and_streaming_switch() -> None:
    for field in ("max_tokens", "max_completion_tokens"):
        chat, body = request(**{field: 101})
        with pytest.raises(ValidationFailed) as raised:
            config_rules.apply(chat, body, BOT, provider="openai")
        assert raised.value.param == field
    chat, body = request(max_tokens=50)
    _, kept = config_rules.apply(chat, body, BOT, provider="openai")
    assert kept["max_tokens"] == 50 and "max_completion_tokens" not in kept
    chat, body = request(stream=True)
    quiet = ConfigEntry(id="mc_2", name="quiet", base_model="gpt-4o", streaming=False)
    with pytest.raises(ValidationFailed) as raised:
        config_rules.apply(chat, body, quiet, provider="openai")
    assert raised.value.param == "stream"


# ── the hold-back ─────────────────────────────────────────────────────────────
def test_what_is_substantive() -> None:
    assert not is_substantive(chunk({"role": "assistant", "content": "", "refusal": None}))
    assert not is_substantive(chunk({}))
    assert not is_substantive(b": keep-alive\n\n")
    assert is_substantive(chunk({"content": "Hi"}))
    assert is_substantive(chunk({"tool_calls": [{"index": 0, "id": "c1"}]}))
    assert is_substantive(chunk({"reasoning_content": "hmm"}))
    assert is_substantive(chunk({}, "stop"))
    assert is_substantive(chunk({}, usage={"prompt_tokens": 1}))
    assert is_substantive(b'data: {"error": {"message": "x"}}\n\n')
    assert is_substantive(b"data: [DONE]\n\n")


async def upstream(items: list[bytes | Exception]) -> AsyncIterator[bytes]:
    for item in items:
        if isinstance(item, Exception):
            raise item
        yield item


async def drain(stream: AsyncIterator[bytes]) -> list[bytes]:
    return [piece async for piece in stream]


async def test_an_error_before_the_first_content_raises() -> None:
    role = chunk({"role": "assistant", "content": ""})
    stream = stream_with_error_tail(upstream([role, chunk({}), UpstreamUnavailable("cut")]))
    with pytest.raises(UpstreamUnavailable):
        await prime_stream(stream)


async def test_an_error_after_the_first_content_ends_the_stream() -> None:
    role, hello = chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello"})
    primed = await prime_stream(
        stream_with_error_tail(
            upstream([role, hello, chunk({"content": "!"}), UpstreamUnavailable("cut")])
        )
    )
    pieces = await drain(primed)
    assert pieces[:3] == [role, hello, chunk({"content": "!"})]
    assert orjson.loads(pieces[-1][6:])["error"]["code"] == "upstream_unavailable"
    assert b"[DONE]" not in b"".join(pieces)


async def test_endless_empty_deltas_are_let_through() -> None:
    empties = [chunk({}) for _ in range(MAX_HELD + 5)]
    items: list[bytes | Exception] = [*empties, UpstreamUnavailable("x")]
    primed = await prime_stream(stream_with_error_tail(upstream(items)))
    pieces = await drain(primed)
    assert len(pieces) == MAX_HELD + 6 and b"error" in pieces[-1]
