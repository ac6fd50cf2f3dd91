"""Chat Completions request → Anthropic Messages request (``POST /v1/messages``).

System and developer messages become ``system``; tool calls become ``tool_use``
blocks and tool messages ``tool_result`` blocks in a user turn; consecutive
messages of one role are merged, as the Messages API requires alternation.
"""

from __future__ import annotations

from typing import Any

from modelgate.chat.schemas import (
    AssistantMessage,
    ChatCompletionRequest,
    DeveloperMessage,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)
from modelgate.errors import ValidationFailed
from modelgate.providers.base import parse_data_url, tool_arguments
from modelgate.providers.common import user_parts

FALLBACK_MAX_TOKENS = 4096

_TOOL_CHOICE = {"auto": "auto", "required": "any", "none": "none"}


def to_messages_request(
    request: ChatCompletionRequest,
    *,
    model: str,
    default_max_tokens: int | None,
    stream: bool,
    hosted: bool = False,
) -> dict[str, Any]:
    """``hosted``: the platform's key, which never carries the caller's end-user id
    (see ``chat.hosted_policy``)."""
    if request.n not in (None, 1):
        raise ValidationFailed("n greater than 1 is not supported by this provider.", param="n")
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for index, message in enumerate(request.messages):
        if isinstance(message, (SystemMessage, DeveloperMessage)):
            system.extend(_text_blocks(message.content))
        elif isinstance(message, UserMessage):
            _append(messages, "user", _user_blocks(message, index))
        elif isinstance(message, AssistantMessage):
            _append(messages, "assistant", _assistant_blocks(message, index))
        elif isinstance(message, ToolMessage):
            result = {"type": "tool_result", "tool_use_id": message.tool_call_id}
            if content := _text_blocks(message.content):
                result["content"] = content
            _append(messages, "user", [result])

    payload: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": request.output_limit or default_max_tokens or FALLBACK_MAX_TOKENS,
    }
    if system:
        payload["system"] = system
    if request.temperature is not None:
        payload["temperature"] = request.temperature
    if request.top_p is not None:
        payload["top_p"] = request.top_p
    if stops := request.stop_sequences:
        payload["stop_sequences"] = stops
    if request.user and not hosted:
        payload["metadata"] = {"user_id": request.user}
    if request.tools:
        payload["tools"] = [_tool(tool.function) for tool in request.tools]
        if (choice := _tool_choice(request)) is not None:
            payload["tool_choice"] = choice
    if stream:
        payload["stream"] = True
    return payload


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if not blocks:
        return
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def _text_blocks(content: str | list[Any] | None) -> list[dict[str, Any]]:
    # Anthropic refuses empty text blocks, so empty strings are left out.
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for part in content:
        text = part.text if isinstance(part, TextPart) else getattr(part, "refusal", "")
        if text:
            blocks.append({"type": "text", "text": text})
    return blocks


def _user_blocks(message: UserMessage, index: int) -> list[dict[str, Any]]:
    return user_parts(message, index, text=_text_blocks, image=_image)


def _image(url: str, index: int) -> dict[str, Any]:
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    media_type, data = parse_data_url(url, param=f"messages.{index}.content")
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _assistant_blocks(message: AssistantMessage, index: int) -> list[dict[str, Any]]:
    blocks = _text_blocks(message.content)
    for position, call in enumerate(message.tool_calls or ()):
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.function.name,
                "input": tool_arguments(call, f"messages.{index}.tool_calls.{position}"),
            }
        )
    return blocks


def _tool(function: Any) -> dict[str, Any]:
    tool: dict[str, Any] = {
        "name": function.name,
        "input_schema": function.parameters or {"type": "object", "properties": {}},
    }
    if function.description:
        tool["description"] = function.description
    return tool


def _tool_choice(request: ChatCompletionRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    if choice is None:
        result = {"type": "auto"} if request.parallel_tool_calls is False else None
    elif isinstance(choice, str):
        result = {"type": _TOOL_CHOICE[choice]}
    else:
        result = {"type": "tool", "name": choice.function.name}
    if result is not None and request.parallel_tool_calls is False and result["type"] != "none":
        result["disable_parallel_tool_use"] = True
    return result
