"""The part of a ``base_url`` that the audit log may keep: scheme, host and port.

A path or query can carry a credential (``https://host/v1/<token>``), and
user-info certainly does, so neither is ever written to the log. The port is
always spelled out, so ``https://h`` and ``https://h:443`` read the same.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def base_url_origin(base_url: str | None) -> str | None:
    """``scheme://host:port`` of ``base_url``; None for None (the provider default).

    Stored URLs were validated when they were set; anything that does not parse
    here still yields no more than a marker, never the text itself.
    """
    if base_url is None:
        return None
    try:
        parts = urlsplit(base_url)
        host = parts.hostname  # lower-cased, without user-info and brackets
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return "(unparsable)"
    if not host or port is None:
        return "(unparsable)"
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{shown}:{port}"
