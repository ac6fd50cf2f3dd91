"""The body of ``POST /v1/chat/completions``: OpenAI's Chat Completions request.

The model is a validator. Adapters receive the validated model (to translate it)
and the raw dict (the OpenAI-compatible passthrough sends that, so nothing the
model does not know about is lost). Validation is strict: a number given as a
string, an unknown role or a missing ``model`` is an error, not a coercion.
Unknown top-level fields, and unknown keys inside messages, parts and tool calls,
are allowed and kept, for the providers that understand them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

STRICT_OPEN = ConfigDict(strict=True, extra="allow")

NonEmptyStr = Annotated[str, Field(min_length=1)]


# ── content parts ──────────────────────────────────────────────────────────────
class TextPart(BaseModel):
    model_config = STRICT_OPEN
    type: Literal["text"]
    text: str


class ImageURL(BaseModel):
    model_config = STRICT_OPEN
    url: NonEmptyStr
    detail: Literal["auto", "low", "high"] | None = None

    @field_validator("url")
    @classmethod
    def _http_or_data(cls, url: str) -> str:
        # What every provider accepts: an http(s) URL that parses, or a data URL.
        if url.startswith("data:"):
            return url
        try:
            parts = urlsplit(url)
        except ValueError:
            raise ValueError("is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL or a data: URL")
        return url


class ImageURLPart(BaseModel):
    model_config = STRICT_OPEN
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudioPart(BaseModel):
    """Accepted for OpenAI passthrough; the translating adapters refuse it."""

    model_config = STRICT_OPEN
    type: Literal["input_audio"]
    input_audio: dict[str, Any]


class FilePart(BaseModel):
    """Accepted for OpenAI passthrough; the translating adapters refuse it."""

    model_config = STRICT_OPEN
    type: Literal["file"]
    file: dict[str, Any]


class RefusalPart(BaseModel):
    model_config = STRICT_OPEN
    type: Literal["refusal"]
    refusal: str


UserPart = Annotated[
    TextPart | ImageURLPart | InputAudioPart | FilePart, Field(discriminator="type")
]
AssistantPart = Annotated[TextPart | RefusalPart, Field(discriminator="type")]


# ── tool calls ─────────────────────────────────────────────────────────────────
class FunctionCall(BaseModel):
    model_config = STRICT_OPEN
    name: NonEmptyStr
    arguments: str


class ToolCall(BaseModel):
    model_config = STRICT_OPEN
    id: NonEmptyStr
    type: Literal["function"] = "function"
    function: FunctionCall


# ── messages ───────────────────────────────────────────────────────────────────
class SystemMessage(BaseModel):
    model_config = STRICT_OPEN
    role: Literal["system"]
    content: str | list[TextPart]
    name: str | None = None


class DeveloperMessage(BaseModel):
    model_config = STRICT_OPEN
    role: Literal["developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(BaseModel):
    model_config = STRICT_OPEN
    role: Literal["user"]
    content: str | list[UserPart]
    name: str | None = None


class AssistantMessage(BaseModel):
    model_config = STRICT_OPEN
    role: Literal["assistant"]
    content: str | list[AssistantPart] | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    name: str | None = None


class ToolMessage(BaseModel):
    model_config = STRICT_OPEN
    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: NonEmptyStr


# The legacy "function" role is refused: it is not one of the tags.
Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]


# ── tools and options ──────────────────────────────────────────────────────────
class FunctionDefinition(BaseModel):
    model_config = STRICT_OPEN
    name: NonEmptyStr
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(BaseModel):
    model_config = STRICT_OPEN
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(BaseModel):
    model_config = STRICT_OPEN
    name: NonEmptyStr


class NamedToolChoice(BaseModel):
    model_config = STRICT_OPEN
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(BaseModel):
    model_config = STRICT_OPEN
    include_usage: bool | None = None


class JSONSchemaFormat(BaseModel):
    model_config = STRICT_OPEN
    name: NonEmptyStr
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    model_config = STRICT_OPEN
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None


class ChatCompletionRequest(BaseModel):
    model_config = STRICT_OPEN

    model: NonEmptyStr
    messages: list[Message] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    user: str | None = None
    seed: int | None = None
    response_format: ResponseFormat | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    reasoning_effort: str | None = None
    metadata: dict[str, str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_lone_surrogates(cls, data: Any) -> Any:
        # orjson refuses to encode a lone surrogate, so one C pass finds out whether
        # there is any; only then walk the body to say where.
        try:
            orjson.dumps(data)
        except orjson.JSONEncodeError:
            where = _surrogate_path(data, "")
            if where is not None:
                raise ValueError(
                    f"{where or 'body'} contains an invalid (lone surrogate) character"
                )
        return data

    @property
    def output_limit(self) -> int | None:
        """``max_completion_tokens`` (the current name) or else ``max_tokens``."""
        return self.max_completion_tokens or self.max_tokens

    @property
    def stop_sequences(self) -> list[str] | None:
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


def _surrogate_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            # The path names the key with the surrogate escaped: it must encode itself.
            name = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
            child = f"{path}.{name}" if path else name
            if isinstance(key, str) and _surrogate_path(key, child) is not None:
                return child
            found = _surrogate_path(item, child)
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _surrogate_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None
