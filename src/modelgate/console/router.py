"""GET /console: the console's static files, with strict security headers.

The files are read once, when this module is imported, into a map from their
path under ``static/`` to their bytes: a request can only ever get one of those
files, so no path it sends (``..``, ``%2e%2e``, absolute paths, symlinks) can
reach anything else. ``/console`` and ``/console/`` answer ``index.html``; the
pages route with the URL's hash, so every other path is a file or a 404.

No bearer token and no API version header are needed here: the page asks for
the token and sends it to the ``/v1`` API itself. Kept out of the OpenAPI
document (it is not part of the API).
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from fastapi import APIRouter
from starlette.responses import Response

from modelgate.errors import NotFound
from modelgate.http_errors import error_response

STATIC = Path(__file__).parent / "static"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

# No inline script or style anywhere in the console: everything comes from 'self'.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidate every time: after an upgrade the browser must not mix old and new modules.
    "Cache-Control": "no-cache",
}


def _load(root: Path) -> MappingProxyType[str, tuple[bytes, str]]:
    files: dict[str, tuple[bytes, str]] = {}
    for path in sorted(root.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if path.is_file() and not path.is_symlink() and content_type is not None:
            files[path.relative_to(root).as_posix()] = (path.read_bytes(), content_type)
    return MappingProxyType(files)


FILES = _load(STATIC)

router = APIRouter(include_in_schema=False)


def _answer(name: str) -> Response:
    found = FILES.get(name)
    if found is None:
        response = error_response(NotFound("No such console file.", param=None))
        response.headers.update(SECURITY_HEADERS)
        return response
    body, content_type = found
    return Response(body, media_type=content_type, headers=SECURITY_HEADERS)


@router.get("/console")
@router.get("/console/")
async def console_index() -> Response:
    return _answer("index.html")


@router.get("/console/{name:path}")
async def console_file(name: str) -> Response:
    return _answer(name)
