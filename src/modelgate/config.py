"""Settings: every knob, read once from ``MODELGATE_*`` variables (or ``.env``).

Nothing else in the package reads the environment. Secrets are ``SecretStr`` so
that a settings object printed in a traceback or a log shows ``**********``.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The providers whose platform key and base URL can be set from the environment.
# `<PROVIDER>` is the catalog's provider id upper-cased with `-` and `.` as `_`.
PROVIDER_IDS = (
    "openai",
    "anthropic",
    "google",
    "deepseek",
    "groq",
    "openrouter",
    "hyperbolic",
    "inceptionlabs",
    "inference-net",
)

SQLITE_PREFIX = "sqlite"


def env_name(provider_id: str) -> str:
    return provider_id.upper().replace("-", "_").replace(".", "_")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MODELGATE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # `MODELGATE_OPENAI_API_KEY=` (as compose files write it) means "not set".
        env_ignore_empty=True,
        frozen=True,
    )

    database_url: str = "sqlite+aiosqlite:///./modelgate.db"
    encryption_keys: SecretStr | None = None
    hosted_keys: bool = True
    allow_private_base_urls: bool = False

    # A catalog file to use instead of the packaged one (same format, validated at start).
    catalog_path: Path | None = None
    # A TOML file of [[models]] entries overriding catalog fields by id (prices,
    # credit_multiplier, lifecycle, disabled, capabilities) or adding models.
    catalog_overlay: Path | None = None

    # Metering: credits = list price in USD x margin x the model's credit_multiplier.
    credit_margin: Decimal = Field(default=Decimal("1.4"), ge=0)
    # Usage events wait in memory at most this long before their batch is written;
    # at most usage_buffer_max wait (the oldest are dropped, and counted, beyond it).
    usage_flush_interval: float = Field(default=1.0, gt=0, le=2.0)
    usage_buffer_max: int = Field(default=100_000, gt=0)
    usage_batch_max: int = Field(default=1000, gt=0)
    # Months of usage events kept (older partitions/rows are dropped); 0 keeps all.
    usage_retention_months: int = Field(default=13, ge=0)
    # Set: GET /metrics needs "Authorization: Bearer <it>". Unset: loopback clients only.
    metrics_token: SecretStr | None = None

    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Real answers are far smaller (a 128k-token completion is ~1 MiB of JSON); the
    # limit bounds what one upstream answer can cost this process (docs/reliability.md).
    max_response_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    # One server-sent event of a stream (a chunk is a few hundred bytes in practice).
    max_event_bytes: int = Field(default=1024 * 1024, gt=0)
    log_level: str = "INFO"

    # In-process caches on the hot path. A revoked token or a deleted key stops
    # working within these many seconds in other processes (at once in this one).
    token_cache_ttl: float = Field(default=5.0, ge=0)
    key_cache_ttl: float = Field(default=5.0, ge=0)

    upstream_connect_timeout: float = Field(default=5.0, gt=0)
    upstream_read_timeout: float = Field(default=60.0, gt=0)
    upstream_total_timeout: float = Field(default=600.0, gt=0)
    upstream_max_connections: int = Field(default=200, gt=0)

    # Fair shares of what every tenant's custom endpoints (BYOK base_url) share.
    custom_endpoint_max_per_host: int = Field(default=16, gt=0)
    custom_endpoint_tenant_concurrency: int = Field(default=32, gt=0)
    # A name lookup of a custom endpoint's host gives up after this long.
    dns_timeout: float = Field(default=2.0, gt=0)
    # Where those lookups go (comma-separated host[:port]); empty: /etc/resolv.conf's.
    custom_endpoint_nameservers: str = ""

    # The gateway's own public names and addresses (comma-separated): a base_url
    # on one of them would call the gateway from itself.
    public_hosts: str = ""

    # Unauthenticated load: unknown bearer tokens looked up per second per process
    # (beyond it: 401 at once), and how long a /readyz answer is reused.
    unknown_token_rate: float = Field(default=50.0, gt=0)
    unknown_token_burst: int = Field(default=100, gt=0)
    readyz_cache_ttl: float = Field(default=1.0, ge=0)

    # Limits and budgets (limits/). Set: counters live in this Redis, shared by every
    # process and replica; unset: in this process. Redis calls give up after
    # redis_timeout seconds (then the limits are served per process until it is back),
    # over at most redis_pool_size connections per process. A budget reservation that
    # is never settled (its process died) expires after reservation_ttl seconds.
    redis_url: SecretStr | None = None
    redis_timeout: float = Field(default=0.25, gt=0)
    redis_pool_size: int = Field(default=20, gt=0)
    reservation_ttl: float = Field(default=900.0, gt=0)

    # uvicorn: connections served at once before 503, and idle keep-alive seconds.
    limit_concurrency: int = Field(default=2048, gt=0)
    keepalive_timeout: float = Field(default=5.0, gt=0)

    # Platform (hosted) keys, one per provider.
    openai_api_key: SecretStr | None = None
    anthropic_api_key: SecretStr | None = None
    google_api_key: SecretStr | None = None
    deepseek_api_key: SecretStr | None = None
    groq_api_key: SecretStr | None = None
    openrouter_api_key: SecretStr | None = None
    hyperbolic_api_key: SecretStr | None = None
    inceptionlabs_api_key: SecretStr | None = None
    inference_net_api_key: SecretStr | None = None

    # Upstream base URLs; None means the catalog's default for the provider.
    openai_base_url: str | None = None
    anthropic_base_url: str | None = None
    google_base_url: str | None = None
    deepseek_base_url: str | None = None
    groq_base_url: str | None = None
    openrouter_base_url: str | None = None
    hyperbolic_base_url: str | None = None
    inceptionlabs_base_url: str | None = None
    inference_net_base_url: str | None = None

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be sqlite+aiosqlite://… or postgresql+asyncpg://…")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here so that a typo stops the start, not the first limited call.
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must be redis://…, rediss://… or unix://…")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return upper

    @field_validator("*", mode="after")
    @classmethod
    def _no_blank_secret(cls, value: object) -> object:
        # A key of only spaces is a mistake, not "no key": refuse it loudly.
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            raise ValueError("is set but empty")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith(SQLITE_PREFIX)

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of an SQLite URL (None for PostgreSQL or in-memory)."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[1].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)

    @cached_property
    def hosted_api_keys(self) -> dict[str, SecretStr]:
        """Platform keys by provider id, only those that are set."""
        keys = {p: getattr(self, f"{env_name(p).lower()}_api_key") for p in PROVIDER_IDS}
        return {p: k for p, k in keys.items() if k is not None}

    @cached_property
    def own_hosts(self) -> frozenset[str]:
        """``public_hosts`` as lower-case names or addresses, without brackets."""
        hosts = (h.strip().strip("[]").rstrip(".").lower() for h in self.public_hosts.split(","))
        return frozenset(h for h in hosts if h)

    @cached_property
    def base_url_overrides(self) -> dict[str, str]:
        urls = {p: getattr(self, f"{env_name(p).lower()}_base_url") for p in PROVIDER_IDS}
        return {p: u.rstrip("/") for p, u in urls.items() if u}


class SettingsError(Exception):
    """A bad setting, with a one-line message naming the variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise SettingsError(f"MODELGATE_{field.upper()}: {first['msg']}") from None
