"""Pieces the translating adapters (Anthropic, Gemini) share: walking a user
message's parts, and reading a provider's event stream as JSON objects."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

from modelgate.chat.schemas import ImageURLPart, TextPart, UserMessage
from modelgate.errors import ValidationFailed
from modelgate.providers.answer_limits import json_object
from modelgate.providers.base import UpstreamTarget
from modelgate.providers.sse import SSEEvent

Part = dict[str, Any]


def user_parts(
    message: UserMessage,
    index: int,
    *,
    text: Callable[[str], list[Part]],
    image: Callable[[str, int], Part],
) -> list[Part]:
    """A user message's content in the provider's parts; other part types are refused."""
    if isinstance(message.content, str):
        return text(message.content)
    parts: list[Part] = []
    for part in message.content:
        if isinstance(part, TextPart):
            parts.extend(text(part.text))
        elif isinstance(part, ImageURLPart):
            parts.append(image(part.image_url.url, index))
        else:
            raise ValidationFailed(
                f"Content parts of type '{part.type}' are not supported by this provider.",
                param=f"messages.{index}.content",
            )
    return parts


async def json_objects(
    events: AsyncIterator[SSEEvent], target: UpstreamTarget
) -> AsyncIterator[dict[str, Any]]:
    """Each event's data as a JSON object; anything else is an unreadable answer."""
    async with aclosing(events):  # type: ignore[type-var]
        async for event in events:
            yield json_object(event.data, target)
