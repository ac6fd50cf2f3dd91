"""The gateway's Prometheus metrics: OpenTelemetry GenAI names, and our own.

Built on ``prometheus_client`` rather than the OpenTelemetry SDK with its
Prometheus exporter: the exporter keeps its state in each process's memory and
has no multi-process story, so with ``modelgate serve --workers N`` a scrape
would see one random worker. ``prometheus_client``'s multiprocess mode keeps
each worker's values in a memory-mapped file in one directory
(``PROMETHEUS_MULTIPROC_DIR``, set up by ``metering/multiprocess.py``) and a
scrape sums them. Without that variable (one process, tests) values live in
memory and ``REGISTRY`` below is what a scrape reads.

Labels never carry a tenant, a token, a key or any free text: the model label is
a catalog id or ``other``, the provider a catalog provider or ``other``, the
rest come from small fixed sets. So the number of series is bounded by the
catalog, whatever tenants send.

Families are created once per process, at import (prometheus_client decides
between in-memory and mmapped values when it is first imported, from the
environment, which is why the serve command sets the directory before any
worker starts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    multiprocess,
    values,
)
from prometheus_client.exposition import choose_encoder

from modelgate.metering.events import UsageEvent

if TYPE_CHECKING:
    from modelgate.catalog import Catalog

# *_created series double every counter's output in single-process mode and do
# not exist in multiprocess mode: off, so both modes expose the same series.
disable_created_metrics()

OTHER = "other"  # a model or provider outside the catalog (a pass-through id)
NONE = "none"  # not settled: the call failed before a provider was chosen
NANO_PER_UNIT = 1e9  # credits_n is nano-credits; a float counter is exact enough for a metric

# The OpenTelemetry GenAI semantic conventions' advised bucket boundaries.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                    40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                5.0, 7.5, 10.0)

GEN_AI_LABELS = (
    "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"
)
OPERATION_NAMES = {"chat": "chat", "embeddings": "embeddings"}  # OTel's well-known values
RATE_LIMIT_REASONS = frozenset({"rpm", "tpm", "concurrency", "budget", "upstream", "unknown_token"})
ATTEMPT_OUTCOMES = frozenset(
    {"ok", "error", "timeout", "rate_limited", "unavailable", "cancelled"}
)

REGISTRY = CollectorRegistry(auto_describe=True)

OPERATION_DURATION = Histogram(
    "gen_ai_client_operation_duration_seconds",
    "GenAI operation duration: from the request to the last byte of the answer.",
    GEN_AI_LABELS,
    buckets=DURATION_BUCKETS,
    registry=REGISTRY,
)
TOKEN_USAGE = Histogram(
    "gen_ai_client_token_usage",
    "Tokens per call, by gen_ai_token_type (input|output), as billed.",
    (*GEN_AI_LABELS, "gen_ai_token_type"),
    buckets=TOKEN_BUCKETS,
    registry=REGISTRY,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "gen_ai_server_time_to_first_token_seconds",
    "Time to the first token of a streamed answer, as the gateway saw it.",
    GEN_AI_LABELS,
    buckets=TTFT_BUCKETS,
    registry=REGISTRY,
)
REQUESTS = Counter(
    "modelgate_requests", "Metered calls, by the HTTP status the client got.", ("status",),
    registry=REGISTRY,
)
CREDITS = Counter(
    "modelgate_credits", "Credits charged, by key source (hosted|byok; byok is always 0).",
    ("source",), registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "modelgate_rate_limited", "Requests refused with 429, by reason.", ("reason",),
    registry=REGISTRY,
)
UPSTREAM_ATTEMPTS = Counter(
    "modelgate_upstream_attempts", "Calls to a provider (several per request with failover).",
    ("provider", "outcome"), registry=REGISTRY,
)
USAGE_EVENTS_DROPPED = Counter(
    "modelgate_usage_events_dropped",
    "Usage events dropped because the recorder's buffer was full (the database was down).",
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class _Bound:
    """One label combination's children, looked up once and reused."""

    requests: Counter
    duration: Histogram
    ttft: Histogram
    input_tokens: Histogram
    output_tokens: Histogram


class UsageMetrics:
    """Turns usage events into metric updates, with labels from a closed set.

    One per app (it knows the catalog); the families it updates are the
    process's. ``observe`` costs a few dict lookups and the updates themselves:
    each label combination's children are bound once and cached, up to
    ``max_cached`` combinations (a bound that the closed label sets already
    keep; past it, children are looked up each time rather than cached).
    """

    def __init__(
        self, *, models: Iterable[str], providers: Iterable[str], max_cached: int = 4096
    ) -> None:
        self._models = frozenset(models)
        self._providers = frozenset(providers)
        self._max_cached = max_cached
        self._bound: dict[tuple[str, str, str, int], _Bound] = {}
        self._credits = {source: CREDITS.labels(source) for source in ("hosted", "byok")}

    @classmethod
    def for_catalog(cls, catalog: Catalog) -> UsageMetrics:
        return cls(
            models=(m.id for m in catalog.models), providers=(p.id for p in catalog.providers)
        )

    def observe(self, event: UsageEvent) -> None:
        """Count one finished call: its status, duration, time to first token,
        tokens (unless nothing was generated) and credits."""
        provider = self.provider_label(event.provider)
        model = self.model_label(event)
        key = (event.endpoint, provider, model, event.status)
        bound = self._bound.get(key)
        if bound is None:
            bound = self._bind(event.endpoint, provider, model, event.status)
            if len(self._bound) < self._max_cached:
                self._bound[key] = bound
        bound.requests.inc()
        bound.duration.observe(event.latency_ms / 1000)
        if event.ttft_ms is not None:
            bound.ttft.observe(event.ttft_ms / 1000)
        if event.usage_source != "none":
            bound.input_tokens.observe(event.input_tokens)
            bound.output_tokens.observe(event.output_tokens)
        credits = self._credits.get(event.source or "")
        if credits is not None:
            credits.inc(event.credits_n / NANO_PER_UNIT)

    def upstream_attempt(self, provider: str | None, outcome: str) -> None:
        """Count one call to a provider; ``outcome`` one of ``ATTEMPT_OUTCOMES``."""
        outcome = outcome if outcome in ATTEMPT_OUTCOMES else "error"
        UPSTREAM_ATTEMPTS.labels(self.provider_label(provider), outcome).inc()

    def provider_label(self, provider: str | None) -> str:
        if provider is None:
            return NONE
        return provider if provider in self._providers else OTHER

    def model_label(self, event: UsageEvent) -> str:
        """The catalog model that served (an alias, config or group name maps to
        it), else the model as called when it is a catalog id, else ``other``:
        an id the catalog does not list is tenant text and never a label."""
        for name in (event.base_model, event.model):
            if name is not None and name in self._models:
                return name
        return OTHER

    def _bind(self, endpoint: str, provider: str, model: str, status: int) -> _Bound:
        operation = OPERATION_NAMES.get(endpoint, OTHER)
        # OTel's error.type: empty (Prometheus: absent) on success, else the status.
        error_type = str(status) if status >= 400 else ""
        labels = (operation, provider, model, error_type)
        return _Bound(
            requests=REQUESTS.labels(str(status)),
            duration=OPERATION_DURATION.labels(*labels),
            ttft=TIME_TO_FIRST_TOKEN.labels(*labels),
            input_tokens=TOKEN_USAGE.labels(*labels, "input"),
            output_tokens=TOKEN_USAGE.labels(*labels, "output"),
        )


def count_rate_limited(reason: str) -> None:
    """Count one request refused with 429; ``reason`` one of ``RATE_LIMIT_REASONS``."""
    RATE_LIMITED.labels(reason if reason in RATE_LIMIT_REASONS else OTHER).inc()


def count_dropped(events: int = 1) -> None:
    """Count usage events the recorder dropped (its buffer was full)."""
    USAGE_EVENTS_DROPPED.inc(events)


def is_multiprocess() -> bool:
    """Whether this process writes its values to the shared directory."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def render(accept: str | None) -> tuple[bytes, str]:
    """The scrape: every worker's values summed (multiprocess mode) or this
    process's; in the format ``accept`` asks for (Prometheus text by default,
    OpenMetrics on request). Returns the body and its content type."""
    if is_multiprocess():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
