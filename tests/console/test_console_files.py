"""GET /console: the static files, their content types and security headers, no
path outside the console's own files, no token needed, not in the API document;
and the sources themselves never turn text into HTML."""

from __future__ import annotations

import asyncio
import http.client
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from modelgate.console import router as console_router
from tests.console.conftest import CSP
from tests.support import RunningGateway

STATIC = Path(console_router.__file__).parent / "static"


def _security_headers_of(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CSP
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/console", "text/html; charset=utf-8"),
        ("/console/", "text/html; charset=utf-8"),
        ("/console/app.css", "text/css; charset=utf-8"),
        ("/console/js/app.js", "text/javascript; charset=utf-8"),
        ("/console/js/pages/models.js", "text/javascript; charset=utf-8"),
        ("/console/favicon.svg", "image/svg+xml"),
    ],
)
async def test_files_are_served_with_strict_headers(
    console_gateway: RunningGateway, path: str, content_type: str
) -> None:
    # No bearer token and no IC-Api-Version header: the page asks for the token itself.
    async with httpx.AsyncClient(base_url=console_gateway.url) as client:
        response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    _security_headers_of(response)
    assert (
        response.content
        == console_router.FILES[
            "index.html" if path in ("/console", "/console/") else path.removeprefix("/console/")
        ][0]
    )


def _raw_get(url: str, raw_path: str) -> tuple[int, dict[str, str]]:
    """A request whose path goes out byte for byte (httpx would remove the dot segments)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", raw_path)
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


@pytest.mark.parametrize(
    "raw_path",
    [
        "/console/../pyproject.toml",
        "/console/../../../../etc/passwd",
        "/console/js/../../router.py",
        "/console/%2e%2e/router.py",
        "/console/..%2frouter.py",
        "/console/%2e%2e%2f%2e%2e%2fapp.py",
        "/console//etc/passwd",
        "/console/router.py",
        "/console/__init__.py",
        "/console/js/nothing.js",
        "/console/static/index.html",
    ],
)
async def test_paths_outside_the_console_files_are_404(
    console_gateway: RunningGateway, raw_path: str
) -> None:
    status, headers = await asyncio.to_thread(_raw_get, console_gateway.url, raw_path)
    assert status == 404
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"


async def test_console_is_not_in_the_openapi_document(console_gateway: RunningGateway) -> None:
    async with httpx.AsyncClient(base_url=console_gateway.url) as client:
        document = (await client.get("/openapi.json")).json()
    assert not [path for path in document["paths"] if path.startswith("/console")]


def _code(text: str) -> str:
    """The text without its comments (they may name what the code avoids)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"^\s*//.*$", "", text, flags=re.MULTILINE)


def _sources() -> list[tuple[str, str]]:
    return [
        (path.relative_to(STATIC).as_posix(), _code(path.read_text()))
        for path in sorted(STATIC.rglob("*"))
        if path.suffix in (".js", ".html")
    ]


def test_sources_never_parse_text_as_html_or_store_the_token_elsewhere() -> None:
    """Safe by construction: no HTML parsing of strings, no eval, no token outside
    sessionStorage, no inline script or style, nothing from another origin."""
    forbidden = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
        r"localStorage|document\.cookie|setAttribute\(\s*[\"']style|DOMParser|"
        r"createContextualFragment"
    )
    sources = _sources()
    assert len(sources) >= 10
    for name, text in sources:
        assert not forbidden.search(text), (name, forbidden.search(text).group(0))
        assert not re.search(r"https?://", text.replace("http://www.w3.org/2000/svg", "")), name
    index = dict(sources)["index.html"]
    assert not re.search(r"<script(?![^>]*\bsrc=)", index), "inline script in index.html"
    assert "<style" not in index and " style=" not in index
