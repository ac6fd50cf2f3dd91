"""Anthropic's Messages API: request, response and stream translation, and the adapter."""

from modelgate.providers.anthropic.adapter import ANTHROPIC_VERSION, AnthropicAdapter

__all__ = ["ANTHROPIC_VERSION", "AnthropicAdapter"]
