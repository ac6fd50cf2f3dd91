"""One call's usage as the gateway learns it, closed into exactly one UsageEvent.

The chat router opens a ``CallMeter`` as soon as the caller is authenticated and
closes it on every way out (answer, error, client gone, stream cut)::

    meter = CallMeter.open(principal, endpoint="chat")
    meter.requested(body, stream=chat.stream)
    meter.settle(spec=…, provider=…, source=…)   # once the model, provider and key are known
    meter.sent()                                 # the request is going upstream
    meter.answered(answer)                       # or relayed(chunk) + report(usage) for streams
    gateway.usage.finish(meter, status)          # metering/sink.py: priced, counted, queued

Every adapter answers in OpenAI's shape, usage included (the translating ones
convert Anthropic's and Gemini's counts), so usage is read here once, from that
shape, for every provider. Where the provider reported nothing (a cut stream, a
client that left, an upstream timeout), the gateway counts the tokens itself
(``estimate.py``) and marks the event ``estimated``. A provider-reported zero
is a report: it is never replaced by an estimate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from modelgate.logs import request_id_var
from modelgate.metering import estimate, pricing
from modelgate.metering.events import Endpoint, TokenCounts, UsageEvent, UsageSource, new_event_id

if TYPE_CHECKING:
    from modelgate.catalog import ModelSpec
    from modelgate.tenants.auth import Principal

# What a cut stream keeps of what it relayed, to count the output it cost.
_KEPT_STREAM_BYTES = 4 * 1024 * 1024


def counts_of(usage: Any) -> TokenCounts | None:
    """An OpenAI ``usage`` object as TokenCounts; None when there is none."""
    if not isinstance(usage, dict):
        return None

    def count(container: Any, key: str) -> int:
        value = container.get(key) if isinstance(container, dict) else None
        return value if isinstance(value, int) and value >= 0 else 0

    return TokenCounts(
        input_tokens=count(usage, "prompt_tokens"),
        output_tokens=count(usage, "completion_tokens"),
        cached_input_tokens=count(usage.get("prompt_tokens_details"), "cached_tokens"),
        reasoning_tokens=count(usage.get("completion_tokens_details"), "reasoning_tokens"),
    )


@dataclass(slots=True)
class _Estimate:
    """What an estimate needs, taken while the call was alive (counted later, in a thread)."""

    provider: str | None
    model: str
    messages: list[Any]
    tools: list[Any] | None
    relayed: list[bytes]
    answer: dict[str, Any] | None


class CallMeter:
    __slots__ = (
        "tenant_id", "token_prefix", "request_id", "endpoint", "model", "stream",
        "base_model", "provider", "source", "spec", "attempts", "_started", "_ttft",
        "_sent", "_refused", "_reported", "admission", "_answer", "_relayed", "_relayed_bytes", "_body",
    )

    def __init__(
        self, *, tenant_id: str, token_prefix: str, request_id: str, endpoint: Endpoint, model: str
    ) -> None:
        self.tenant_id = tenant_id
        self.token_prefix = token_prefix
        self.request_id = request_id
        self.endpoint: Endpoint = endpoint
        self.model = model
        self.stream = False
        self.base_model: str | None = None
        self.provider: str | None = None
        self.source: str | None = None
        self.spec: ModelSpec | None = None
        self.attempts = 1
        self.admission: Any = None  # the limits' Admission, settled with the event
        self._started = time.monotonic()
        self._ttft: float | None = None
        self._sent = False
        self._refused = False
        self._reported: TokenCounts | None = None
        self._answer: dict[str, Any] | None = None
        self._relayed: list[bytes] = []
        self._relayed_bytes = 0
        self._body: dict[str, Any] | None = None

    @classmethod
    def open(cls, principal: Principal, *, endpoint: Endpoint) -> CallMeter:
        return cls(
            tenant_id=principal.tenant_id,
            token_prefix=principal.token_prefix,
            request_id=request_id_var.get() or "",
            endpoint=endpoint,
            model="",  # until the body is read (``requested``)
        )

    # ── what the call learns, in order ─────────────────────────────────────────
    def requested(self, body: dict[str, Any], *, stream: bool | None) -> None:
        model = body.get("model")
        if isinstance(model, str):
            self.model = model[:200]
        # The request's ``stream`` is None when it was left out: that is a plain call
        # (and the column is NOT NULL: a None would lose the whole event).
        self.stream = bool(stream)
        self._body = body

    def settle(
        self, *, spec: ModelSpec, provider: str, source: str, called_as: str | None = None
    ) -> None:
        """The call resolved. ``model`` becomes the name as resolved (CONTRACT-2): the
        catalog id however it was spelled ("GPT-4o-2024-08-06" is "gpt-4o", so usage
        groups by model in one row), or ``called_as``, the tenant's config or group
        name; ``base_model`` is always the catalog model that serves."""
        self.model = (called_as or spec.id)[:200]
        self.spec = spec
        self.base_model = spec.id
        self.provider = provider
        self.source = source

    def sent(self) -> None:
        self._sent = True

    def next_attempt(self) -> None:
        """A group moves past a failed member: what that attempt relayed or
        reported is not the answer's. The event counts the member that answers
        (or, when all fail, the last one tried)."""
        self.attempts += 1
        self.base_model = self.provider = self.source = None
        self.spec = None
        self._sent = False
        self._refused = False
        self._reported = None
        self._answer = None
        self._ttft = None
        self._relayed = []
        self._relayed_bytes = 0

    def refused(self) -> None:
        """The provider answered with an error, or could not be reached, before any
        answer began: it generated nothing, so nothing is estimated."""
        self._refused = True

    def report(self, usage: Any) -> None:
        """The provider's own usage (OpenAI's shape); the last report wins."""
        counts = counts_of(usage)
        if counts is not None:
            self._reported = counts

    def answered(self, answer: dict[str, Any]) -> None:
        """A whole (non-stream) answer: its usage, or its text for an estimate."""
        if "usage" in answer and answer["usage"] is not None:
            self.report(answer["usage"])
        else:
            self._answer = answer

    def relayed(self, chunk: bytes) -> None:
        """A stream chunk on its way to the client; kept (bounded) until the end."""
        if self._ttft is None:
            self._ttft = time.monotonic()
        if self._relayed_bytes < _KEPT_STREAM_BYTES:
            self._relayed.append(chunk)
            self._relayed_bytes += len(chunk)

    # ── closing ────────────────────────────────────────────────────────────────
    @property
    def went_upstream(self) -> bool:
        return self._sent

    @property
    def needs_estimate(self) -> bool:
        """The provider may have done work (the request went) and reported none."""
        return self._sent and not self._refused and self._reported is None

    def close(self, status: int, *, margin: Decimal) -> UsageEvent:
        """The event, from the provider's report or (no request sent, or the
        provider answered an error: nothing generated) zero tokens."""
        if self._reported is not None:
            return self._event(status, self._reported, "provider", margin)
        return self._event(status, TokenCounts(), "none", margin)

    def estimate_later(self) -> _Estimate:
        body = self._body or {}
        messages = body.get("messages")
        if self.endpoint == "embeddings":
            # The inputs are the prompt (token arrays are not text: left uncounted).
            texts = body.get("input")
            texts = [texts] if isinstance(texts, str) else texts if isinstance(texts, list) else []
            messages = [{"role": "user", "content": t} for t in texts if isinstance(t, str)]
        tools = body.get("tools")
        return _Estimate(
            provider=self.provider,
            model=self.base_model or self.model,
            messages=messages if isinstance(messages, list) else [],
            tools=tools if isinstance(tools, list) else None,
            relayed=self._relayed,
            answer=self._answer,
        )

    def close_estimated(self, status: int, pending: _Estimate, *, margin: Decimal) -> UsageEvent:
        """The event with counts the gateway made (CPU-bound: call it in a thread)."""
        input_tokens = estimate.count_messages(
            pending.provider, pending.model,
            [m for m in pending.messages if isinstance(m, dict)], tools=pending.tools,
        )
        text, reasoning, arguments = _generated(pending)
        output = estimate.estimate_output(
            pending.provider, pending.model, text=text, reasoning=reasoning, tool_arguments=arguments
        )
        output.input_tokens = input_tokens
        return self._event(status, output, "estimated", margin)

    def _event(
        self, status: int, counts: TokenCounts, source: UsageSource, margin: Decimal
    ) -> UsageEvent:
        now = time.monotonic()
        cost, credits = (None, 0)
        if self.spec is not None:
            cost, credits = pricing.price(
                self.spec, counts, hosted=self.source == "hosted", margin=margin
            )
        return UsageEvent(
            id=new_event_id(),
            tenant_id=self.tenant_id,
            request_id=self.request_id,
            created_at=datetime.now(UTC),
            model=self.model,
            base_model=self.base_model,
            provider=self.provider,
            source=self.source,
            token_prefix=self.token_prefix,
            endpoint=self.endpoint,
            stream=self.stream,
            status=status,
            input_tokens=counts.input_tokens,
            output_tokens=counts.output_tokens,
            cached_input_tokens=counts.cached_input_tokens,
            reasoning_tokens=counts.reasoning_tokens,
            usage_source=source,
            cost_nusd=cost,
            credits_n=credits,
            latency_ms=round((now - self._started) * 1000),
            ttft_ms=None if self._ttft is None else round((self._ttft - self._started) * 1000),
            attempts=self.attempts,
        )


def _generated(pending: _Estimate) -> tuple[str, str, list[str]]:
    """The text, reasoning and tool arguments that reached the client."""
    texts: list[str] = []
    reasoning: list[str] = []
    arguments: list[str] = []
    pieces: list[Any] = []
    if pending.answer is not None:
        pieces = [c.get("message") for c in pending.answer.get("choices") or [] if isinstance(c, dict)]
    for chunk in pending.relayed:
        for line in chunk.split(b"\n"):
            if not line.startswith(b"data:") or line[5:].strip() == b"[DONE]":
                continue
            try:
                event = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                continue
            if isinstance(event, dict):
                choices = event.get("choices") or []
                pieces.extend(c.get("delta") for c in choices if isinstance(c, dict))
    for piece in pieces:
        if not isinstance(piece, dict):
            continue
        if isinstance(content := piece.get("content"), str):
            texts.append(content)
        if isinstance(thought := piece.get("reasoning_content"), str):
            reasoning.append(thought)
        for call in piece.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                arguments.append(function["arguments"])
    return "".join(texts), "".join(reasoning), arguments
