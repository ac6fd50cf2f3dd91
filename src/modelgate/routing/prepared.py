"""A member made ready to call: what chat's and embeddings' members share.

``prepare_call`` (chat/service.py) and ``prepare_embedding`` (embeddings/service.py)
resolve the member and choose its key (``targets``), then make their subclass of
``PreparedMember`` with ``on_key``; the subclass says how its provider is called
and what output the limits reserve for it (``routing/call.py`` reads both).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from modelgate.catalog import ModelSpec
from modelgate.keys.resolver import KeySource
from modelgate.providers.base import UpstreamTarget
from modelgate.routing.names import Member
from modelgate.routing.targets import ChosenKey, ResolvedMember, call_headers

A = TypeVar("A")  # the provider's adapter for the endpoint: an Adapter, an Embedder
R = TypeVar("R")  # the endpoint's validated request


@dataclass(frozen=True, slots=True)
class PreparedMember(Generic[A, R]):
    adapter: A
    # The request as this member gets it (chat: a config's system prompt, max_tokens).
    request: R
    body: dict[str, Any]
    target: UpstreamTarget
    model: ModelSpec  # the catalog's entry (or the one made up for a prefix-routed id)
    key_source: KeySource
    deprecation_notice: str | None
    end_of_life_at: datetime | None
    member: Member
    custom_endpoint: bool = False

    @classmethod
    def on_key(
        cls, adapter: A, request: R, body: dict[str, Any], resolved: ResolvedMember, key: ChosenKey
    ) -> Self:
        """The member of ``resolved``, called with ``adapter`` on ``key``'s target."""
        notice = resolved.deprecation_notice
        model = resolved.resolution.model
        return cls(
            adapter=adapter,
            request=request,
            body=body,
            target=key.target,
            model=model,
            key_source=key.key_source,
            deprecation_notice=notice,
            end_of_life_at=model.end_of_life_at if notice else None,
            member=resolved.member,
            custom_endpoint=key.custom_endpoint,
        )

    @property
    def requested_output(self) -> int | None:
        """The output the limits reserve for this member (``admission.Reservable``)."""
        raise NotImplementedError

    def answer(self) -> Awaitable[dict[str, Any]]:
        """The provider's whole answer to this member's request, in OpenAI's shape."""
        raise NotImplementedError

    @property
    def shown_model(self) -> str:
        """The answer's ``model``: a config's name, else the resolved id."""
        return self.member.name if self.member.config is not None else self.target.model

    def headers(self) -> dict[str, str]:
        return call_headers(
            self.target, self.key_source, self.deprecation_notice, self.end_of_life_at
        )
