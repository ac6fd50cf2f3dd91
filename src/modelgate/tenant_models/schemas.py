"""Request bodies of the configs and groups API (pydantic, strict).

Only the shape is checked here (types, lengths, ranges, text that a database can
store); what needs the catalog or the tenant's other names is ``rules.py``'s.
Unknown fields are refused (422), so that a misspelt ``maxTokens`` cannot pass
for "inherit the base model's".

PATCH bodies: a field left out is unchanged; ``null`` clears the fields that
may be empty (description, context_window, max_tokens, system_prompt: the
config then inherits the base model's figure); the other fields refuse null.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from modelgate.catalog.resolver import fold
from modelgate.tenant_models.models import DESCRIPTION_LENGTH, MODEL_LENGTH, NAME_KEY_LENGTH

NAME_LENGTH = 200
SYSTEM_PROMPT_LENGTH = 50_000
CONTEXT_WINDOW_MAX = 2_000_000
MAX_TOKENS_MAX = 200_000
MEMBERS_MAX = 10
WEIGHT_MAX = 100
# Our ids: a name that looks like one would be ambiguous wherever a name or an id is taken.
RESERVED_PREFIXES = ("mc_", "grp_")


def _storable(value: str) -> str:
    # PostgreSQL's text refuses NUL, and a lone surrogate has no UTF-8 form:
    # either would fail the INSERT (a 500) instead of being refused here.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains an invalid (lone surrogate) character") from None
    return value


def _name(value: str) -> str:
    _storable(value)
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        raise ValueError("must not contain control or invisible formatting characters")
    if fold(value).startswith(RESERVED_PREFIXES):  # the fold the call path matches with
        raise ValueError("must not start with 'mc_' or 'grp_' (those are ids)")
    if len(fold(value)) > NAME_KEY_LENGTH:
        raise ValueError("is too long once case-folded")
    return value


def _model_ref(value: str) -> str:
    _storable(value)
    if not value.strip():
        raise ValueError("must not be empty")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters")
    return value


Name = Annotated[StrictStr, Field(min_length=1, max_length=NAME_LENGTH), AfterValidator(_name)]
ModelRef = Annotated[
    StrictStr, Field(min_length=1, max_length=MODEL_LENGTH), AfterValidator(_model_ref)
]
Description = Annotated[
    StrictStr, Field(max_length=DESCRIPTION_LENGTH), AfterValidator(_storable)
]
SystemPrompt = Annotated[
    StrictStr, Field(max_length=SYSTEM_PROMPT_LENGTH), AfterValidator(_storable)
]
ContextWindow = Annotated[StrictInt, Field(ge=1, le=CONTEXT_WINDOW_MAX)]
MaxTokens = Annotated[StrictInt, Field(ge=1, le=MAX_TOKENS_MAX)]
Weight = Annotated[StrictInt, Field(ge=1, le=WEIGHT_MAX)]
ModelType = Literal["chat_completion", "embedding"]
Strategy = Literal["fallback", "loadbalance"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _left_out() -> Any:
    """A PATCH field that may be left out but not set to null: the document
    shows it as its type alone (no ``default: null`` that it would refuse)."""
    return Field(None, json_schema_extra=_drop_default)


class ConfigCreate(_Body):
    name: Name = Field(description="1-200 characters; unique per tenant (case-insensitive)")
    base_model: ModelRef = Field(description="A catalog model id or alias, active or deprecated")
    description: Description | None = None
    context_window: ContextWindow | None = Field(
        None, description="≤ the base model's; null: the base model's"
    )
    max_tokens: MaxTokens | None = Field(
        None, description="≤ the base model's max_output_tokens; null: the base model's"
    )
    streaming: StrictBool = True
    enabled: StrictBool = True
    system_prompt: SystemPrompt | None = None


class ConfigPatch(_Body):
    # Not nullable: a default of None only means "left out" (see the module's docstring).
    name: Name = _left_out()
    base_model: ModelRef = _left_out()
    description: Description | None = None
    context_window: ContextWindow | None = None
    max_tokens: MaxTokens | None = None
    streaming: StrictBool = _left_out()
    enabled: StrictBool = _left_out()
    system_prompt: SystemPrompt | None = None


class MemberIn(_Body):
    model: ModelRef = Field(description="A catalog id, alias, provider:model, or a config's name")
    weight: Weight = 1


Members = Annotated[list[MemberIn], Field(min_length=1, max_length=MEMBERS_MAX)]


class GroupCreate(_Body):
    name: Name
    description: Description | None = None
    model_type: ModelType = "chat_completion"
    strategy: Strategy = "fallback"
    members: Members


class GroupPatch(_Body):
    name: Name = _left_out()
    description: Description | None = None
    model_type: ModelType = _left_out()
    strategy: Strategy = _left_out()
    members: Members = _left_out()


class MemberAdd(_Body):
    weight: Weight = 1
