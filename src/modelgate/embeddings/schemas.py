"""The body of ``POST /v1/embeddings``: OpenAI's Embeddings request.

Strict like the chat request (no coercion), open to unknown fields (the
passthrough forwards them). ``input`` is a string, a list of strings, a token
array or a list of token arrays; token arrays only reach OpenAI-compatible
providers (the translating adapter refuses them with 422).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# OpenAI's own limits: 2048 inputs per request, token ids are non-negative.
MAX_INPUTS = 2048

Tokens = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]
EmbeddingInput = (
    Annotated[str, Field(min_length=1)]
    | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=MAX_INPUTS)]
    | Tokens
    | Annotated[list[Tokens], Field(min_length=1, max_length=MAX_INPUTS)]
)


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")

    model: Annotated[str, Field(min_length=1)]
    input: EmbeddingInput
    dimensions: Annotated[int, Field(ge=1, le=65536)] | None = None
    encoding_format: Literal["float", "base64"] | None = None
    user: str | None = None

    @property
    def texts(self) -> list[str] | None:
        """The inputs as strings, or None when they are token arrays."""
        if isinstance(self.input, str):
            return [self.input]
        if self.input and isinstance(self.input[0], str):
            return list(self.input)  # type: ignore[arg-type]
        return None
