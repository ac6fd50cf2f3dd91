"""A config's rules on a chat call (CONTRACT-2, "Tenant model configurations").

- ``system_prompt`` goes first, as a system message, before the request's
  messages: in the validated request (the translating adapters read it) and in
  the raw body (the passthrough forwards that).
- No ``max_tokens``/``max_completion_tokens`` in the request: the config's
  ``max_tokens`` is sent; more than it: 422 ``validation_error`` naming the field.
  The default goes upstream as ``max_completion_tokens`` to OpenAI itself (its
  reasoning models refuse ``max_tokens``) and as ``max_tokens`` to every other
  OpenAI-compatible provider (not all of them know the newer name).
- ``stream: true`` on a config with ``streaming: false``: 422 (param ``stream``).

Nothing is changed in place: a group may call several members with one request.
"""

from __future__ import annotations

from typing import Any

from modelgate.catalog.resolver import shown
from modelgate.chat.schemas import ChatCompletionRequest, SystemMessage
from modelgate.errors import ValidationFailed
from modelgate.tenant_models.entries import ConfigEntry


def apply(
    chat: ChatCompletionRequest, body: dict[str, Any], config: ConfigEntry, *, provider: str
) -> tuple[ChatCompletionRequest, dict[str, Any]]:
    if chat.stream and not config.streaming:
        raise ValidationFailed(
            f"The model '{shown(config.name)}' does not stream; leave stream out or set it "
            "to false.",
            param="stream",
        )
    updates: dict[str, Any] = {}
    body = dict(body)
    limit = config.max_tokens
    if limit is not None:
        for field in ("max_completion_tokens", "max_tokens"):
            asked = getattr(chat, field)
            if asked is not None and asked > limit:
                raise ValidationFailed(
                    f"{field} {asked} is over the model '{shown(config.name)}''s limit of {limit}.",
                    param=field,
                )
        if chat.output_limit is None:
            field = "max_completion_tokens" if provider == "openai" else "max_tokens"
            updates[field] = limit
            body[field] = limit
    if config.system_prompt:
        updates["messages"] = [
            SystemMessage(role="system", content=config.system_prompt),
            *chat.messages,
        ]
        raw = body.get("messages")
        body["messages"] = [
            {"role": "system", "content": config.system_prompt},
            *(raw if isinstance(raw, list) else []),
        ]
    if updates:
        chat = chat.model_copy(update=updates)
    return chat, body
