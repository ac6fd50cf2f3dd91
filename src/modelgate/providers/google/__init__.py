"""Google Gemini's generateContent API: request, response and stream translation, and the adapter."""

from modelgate.providers.google.adapter import GoogleAdapter

__all__ = ["GoogleAdapter"]
