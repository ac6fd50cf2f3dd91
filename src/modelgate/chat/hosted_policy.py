"""What a request may ask of the platform's own (hosted) provider keys.

On a hosted key the platform pays and the platform's provider organisation holds
whatever the provider keeps. Fields that would change that price or custody are
refused or dropped there; on the tenant's own key (BYOK) they pass untouched.

- Refused (422 ``validation_error``, ``param`` the field): fields whose effect
  the caller asked for and would silently not get if we dropped them. Their
  default values (``store: false``, ``service_tier: "auto"``) are dropped instead.
- Dropped: labels and identifiers whose absence does not change the answer.

``check`` runs once per call, before any upstream work, whatever the provider
(one rule for every provider, so a model moving between providers changes
nothing). ``strip`` removes every listed field from an OpenAI-style body, the
one the passthrough forwards; the translating adapters forward none of them but
``user`` (Anthropic's ``metadata.user_id``), which they leave out on hosted keys.
The README's table is this one, with the same reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelgate.chat.schemas import ChatCompletionRequest
from modelgate.errors import ValidationFailed

__all__ = ["RULES", "FieldRule", "check", "strip"]


@dataclass(frozen=True, slots=True)
class FieldRule:
    refuse: bool  # True: any value but one of `harmless` is a 422
    reason: str
    harmless: tuple[object, ...] = ()  # values that ask for nothing: dropped, not refused


_IDENTIFIES = (
    "an end-user id sent under the platform's organisation, where the provider ties "
    "abuse decisions to it across every tenant (one tenant's 'alice' is another's)"
)
RULES: dict[str, FieldRule] = {
    # Refused: price.
    "service_tier": FieldRule(
        True,
        "a premium tier (priority, scale) bills the platform more per token; flex "
        "changes its capacity and latency class",
        harmless=("auto", "default", "on_demand"),  # on_demand: Groq's name for standard
    ),
    "web_search_options": FieldRule(
        True, "search models bill a fee per search, outside the token usage the gateway meters"
    ),
    "models": FieldRule(
        True,
        "OpenRouter: fallback models outside the catalog, at their price, on the platform's key",
    ),
    "plugins": FieldRule(
        True, "OpenRouter: plugins (web search, file parsing) are billed per use, outside tokens"
    ),
    # Refused: custody.
    "store": FieldRule(
        True,
        "stores the prompt and answer in the platform's organisation (30 days, visible "
        "in its dashboard, usable for evals and distillation)",
        harmless=(False,),
    ),
    # Dropped: custody and cross-organisation identifiers.
    "metadata": FieldRule(
        False, "tags for stored completions: tenant text kept in the platform's organisation"
    ),
    "user": FieldRule(False, _IDENTIFIES),
    "safety_identifier": FieldRule(False, "the successor of user: " + _IDENTIFIES),
    "prompt_cache_key": FieldRule(
        False,
        "steers routing of the prompt cache that every tenant on the platform's "
        "organisation shares (caching still works by prefix without it)",
    ),
    "prompt_cache_retention": FieldRule(
        False, "'24h' keeps prompt-derived cache state in the platform's organisation longer"
    ),
    "provider": FieldRule(
        False,
        "OpenRouter: overrides the platform account's data policy (data_collection) "
        "and provider routing and price limits",
    ),
}
_REFUSED = tuple((name, rule) for name, rule in RULES.items() if rule.refuse)


def check(request: ChatCompletionRequest) -> None:
    """Raise ``ValidationFailed`` if the request asks a hosted key for a refused field."""
    extra = request.model_extra or {}
    for name, rule in _REFUSED:
        value = extra.get(name)
        if value is not None and not _harmless(value, rule.harmless):
            raise ValidationFailed(
                f"{name} is not available with the platform's key ({rule.reason}); "
                "leave it out, or set your own provider key with PUT /v1/tenant/model_keys.",
                param=name,
            )


def strip(payload: dict[str, Any]) -> None:
    """Remove every listed field from ``payload`` (an OpenAI-style body), in place."""
    for name in RULES:
        payload.pop(name, None)


def _harmless(value: object, harmless: tuple[object, ...]) -> bool:
    # By type too: `0 == False`, but `store: 0` is not the default, it is a bad value.
    return any(type(value) is type(h) and value == h for h in harmless)
