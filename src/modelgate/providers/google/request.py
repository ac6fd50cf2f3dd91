"""Chat Completions request → Gemini ``generateContent`` request.

Messages become ``contents`` (roles ``user``/``model``) with ``systemInstruction``;
tool calls and tool results become ``functionCall``/``functionResponse`` parts.
Gemini names a function response by the function's name, not by the call id, so
the name is looked up from the assistant turn that made the call.
"""

from __future__ import annotations

import mimetypes
import re
from typing import Any
from urllib.parse import urlsplit

import orjson

from modelgate.chat.schemas import (
    AssistantMessage,
    ChatCompletionRequest,
    DeveloperMessage,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from modelgate.errors import ValidationFailed
from modelgate.providers.base import parse_data_url, tool_arguments
from modelgate.providers.common import user_parts

_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
# Google's documented stand-in for a function call replayed without its signature
# (Gemini 3 refuses such a call otherwise, and older models may not accept it).
SKIP_SIGNATURE = "skip_thought_signature_validator"
_SIGNED_MODELS = re.compile(r"gemini-([3-9]|\d{2,})")


def to_generate_request(request: ChatCompletionRequest, *, model: str) -> dict[str, Any]:
    if request.n not in (None, 1):
        raise ValidationFailed("n greater than 1 is not supported by this provider.", param="n")
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    needs_signature = bool(_SIGNED_MODELS.search(model))
    for index, message in enumerate(request.messages):
        if isinstance(message, (SystemMessage, DeveloperMessage)):
            system.extend(_text_parts(message.content))
        elif isinstance(message, UserMessage):
            _append(contents, "user", _user_parts(message, index))
        elif isinstance(message, AssistantMessage):
            parts = _text_parts(message.content)
            calls = [
                _function_call(call, index, n) for n, call in enumerate(message.tool_calls or ())
            ]
            if needs_signature and calls and not any("thoughtSignature" in c for c in calls):
                calls[0]["thoughtSignature"] = SKIP_SIGNATURE
            call_names.update((call.id, call.function.name) for call in message.tool_calls or ())
            _append(contents, "model", parts + calls)
        elif isinstance(message, ToolMessage):
            _append(contents, "user", [_function_response(message, call_names, index)])

    payload: dict[str, Any] = {"contents": contents}
    if system:
        payload["systemInstruction"] = {"parts": system}
    if request.tools:
        payload["tools"] = [
            {"functionDeclarations": [_declaration(t.function) for t in request.tools]}
        ]
        if request.tool_choice is not None:
            payload["toolConfig"] = {"functionCallingConfig": _calling_config(request)}
    if config := _generation_config(request):
        payload["generationConfig"] = config
    return payload


def _append(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    if not parts:
        return
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts})


def _text_parts(content: str | list[Any] | None) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    texts = (p.text if isinstance(p, TextPart) else getattr(p, "refusal", "") for p in content)
    return [{"text": text} for text in texts if text]


def _user_parts(message: UserMessage, index: int) -> list[dict[str, Any]]:
    return user_parts(message, index, text=_text_parts, image=_image)


def _image(url: str, index: int) -> dict[str, Any]:
    if url.startswith(("http://", "https://")):
        try:
            path = urlsplit(url).path
        except ValueError:  # e.g. an unclosed "[" in the host
            raise ValidationFailed(
                "The image URL is not a valid URL.", param=f"messages.{index}.content"
            ) from None
        guessed, _ = mimetypes.guess_type(path)
        mime_type = guessed if guessed and guessed.startswith("image/") else "image/jpeg"
        return {"fileData": {"mimeType": mime_type, "fileUri": url}}
    mime_type, data = parse_data_url(url, param=f"messages.{index}.content")
    return {"inlineData": {"mimeType": mime_type, "data": data}}


def _function_call(call: ToolCall, index: int, position: int) -> dict[str, Any]:
    part: dict[str, Any] = {
        "functionCall": {
            "name": call.function.name,
            "args": tool_arguments(call, f"messages.{index}.tool_calls.{position}"),
        }
    }
    if signature := _thought_signature(call):
        part["thoughtSignature"] = signature
    return part


def _thought_signature(call: ToolCall) -> str | None:
    """Where Google's own OpenAI-compatible API puts it, and where we put it too."""
    extra = (call.model_extra or {}).get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    signature = google.get("thought_signature") if isinstance(google, dict) else None
    return signature if isinstance(signature, str) and signature else None


def _function_response(
    message: ToolMessage, call_names: dict[str, str], index: int
) -> dict[str, Any]:
    name = call_names.get(message.tool_call_id)
    if name is None:
        raise ValidationFailed(
            "This tool message answers a tool_call_id that no earlier assistant message made.",
            param=f"messages.{index}.tool_call_id",
        )
    text = (
        message.content
        if isinstance(message.content, str)
        else "".join(part.text for part in message.content)
    )
    try:
        result: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        result = text
    # Gemini wants an object; anything else is wrapped.
    response = result if isinstance(result, dict) else {"result": result}
    return {"functionResponse": {"name": name, "response": response}}


def _declaration(function: Any) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": function.name}
    if function.description:
        declaration["description"] = function.description
    if function.parameters:
        # parametersJsonSchema takes JSON Schema as is (parameters wants OpenAPI's subset).
        declaration["parametersJsonSchema"] = function.parameters
    return declaration


def _calling_config(request: ChatCompletionRequest) -> dict[str, Any]:
    choice = request.tool_choice
    if isinstance(choice, str):
        return {"mode": _MODES[choice]}
    assert choice is not None
    return {"mode": "ANY", "allowedFunctionNames": [choice.function.name]}


def _generation_config(request: ChatCompletionRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, value in (
        ("temperature", request.temperature),
        ("topP", request.top_p),
        ("maxOutputTokens", request.output_limit),
        ("stopSequences", request.stop_sequences),
        ("seed", request.seed),
        ("presencePenalty", request.presence_penalty),
        ("frequencyPenalty", request.frequency_penalty),
    ):
        if value is not None:
            config[name] = value
    response_format = request.response_format
    if response_format is not None and response_format.type != "text":
        config["responseMimeType"] = "application/json"
        schema = response_format.json_schema.schema_ if response_format.json_schema else None
        if response_format.type == "json_schema" and schema:
            config["responseJsonSchema"] = schema
    return config
