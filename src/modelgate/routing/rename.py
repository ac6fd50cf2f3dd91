"""The answer names the model that was called (CONTRACT-2): a config's name
rather than its base model's id, in a whole answer and in every stream chunk.

Every adapter writes ``"model":<target.model as JSON>`` exactly so (orjson, no
spaces) in each chunk; replacing those bytes renames a chunk without decoding
it. Inside JSON strings a quote is escaped, so the pattern cannot match text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson


def rename_answer(answer: dict[str, Any], name: str) -> dict[str, Any]:
    answer["model"] = name
    return answer


async def renamed_chunks(
    chunks: AsyncIterator[bytes], upstream_model: str, name: str
) -> AsyncIterator[bytes]:
    theirs = b'"model":' + orjson.dumps(upstream_model)
    ours = b'"model":' + orjson.dumps(name)
    async with aclosing(chunks):  # type: ignore[type-var]
        async for chunk in chunks:
            yield chunk.replace(theirs, ours) if theirs in chunk else chunk
