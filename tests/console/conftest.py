"""The console in a real browser: Debian's Chromium, driven by Playwright, against
the real gateway on loopback with the fake upstreams.

Playwright's own browser download is unreachable here, so the tests use
/usr/bin/chromium (`make test` installs it). No browser: a failure under CI=true,
a skip otherwise. Each test leaves a screenshot in tests/console/output/ (not
committed); `MODELGATE_README_SCREENSHOTS=1` also rewrites the README's two
pictures in docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.fakes.upstream import FakeUpstream, run_fake_upstream
from tests.support import RunningGateway, run_gateway

try:
    from playwright.async_api import Browser, Page, async_playwright, expect
except ImportError:  # the test extra is not installed: the browser fixture says so
    async_playwright = expect = None  # type: ignore[assignment]

# Debian's Chromium; another path can be given (a browser elsewhere, or none to see the skip).
CHROMIUM = Path(os.environ.get("MODELGATE_TEST_CHROMIUM", "/usr/bin/chromium"))
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
OUTPUT = Path(__file__).parent / "output"
HOSTED = {
    "openai": "sk-hosted-openai-console-0123456789",
    "anthropic": "sk-ant-hosted-console-0123456789",
    "google": "AIzaHostedGoogleConsole0123456789abcd",
}
# Chromium logs every non-2xx fetch as a console error; those answers are the
# pages' business (and shown to the user), not a fault of the page.
_EXPECTED_CONSOLE = re.compile(r"Failed to load resource: the server responded with a status of")


def _no_browser(reason: str) -> None:
    message = (
        f"{reason}; install Debian's chromium (`apt-get install chromium`, as `make test` does)"
    )
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if async_playwright is None:
        _no_browser("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        _no_browser(f"no browser at {CHROMIUM}")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session")
def console_upstream() -> Iterator[FakeUpstream]:
    with run_fake_upstream() as fake:
        yield fake


@pytest.fixture(scope="session")
def console_gateway(database_url: str, console_upstream: FakeUpstream) -> Iterator[RunningGateway]:
    """Hosted keys for OpenAI, Anthropic and Google; every other provider has none."""
    fake = console_upstream
    with run_gateway(
        database_url=database_url,
        openai_base_url=f"{fake.url}/v1",
        anthropic_base_url=fake.url,
        google_base_url=fake.url,
        openai_api_key=HOSTED["openai"],
        anthropic_api_key=HOSTED["anthropic"],
        google_api_key=HOSTED["google"],
        allow_private_base_urls=True,
    ) as running:
        yield running


class Console:
    """One browser tab on the console, with what went wrong in it."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []  # uncaught exceptions, CSP violations, console errors
        self.dialogs: list[str] = []  # alert/confirm/prompt: the console never opens one
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, message) -> None:
        if message.type == "error" and not _EXPECTED_CONSOLE.search(message.text):
            self.errors.append(f"console error: {message.text}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        asyncio.ensure_future(dialog.dismiss())

    async def open(self, route: str = "") -> None:
        await self.page.goto(f"{self.base_url}/console{'#' + route if route else ''}")

    async def login(self, token: str, route: str = "/models") -> None:
        await self.open()
        await self.page.get_by_label("Tenant token").fill(token)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.get_by_role("heading", name="Models", exact=True, level=1).wait_for()
        if route != "/models":
            await self.go(route)

    async def go(self, route: str) -> None:
        await self.page.evaluate("route => { window.location.hash = route; }", f"#{route}")
        await self.page.wait_for_function(
            "() => !document.querySelector('#page [aria-busy]')"
            " && !document.querySelector('#page .loading')"
        )


def _screenshot_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name) + ".png"


@pytest.fixture
async def console(
    browser: Browser, console_gateway: RunningGateway, request: pytest.FixtureRequest
) -> AsyncIterator[Console]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    tab = Console(page, console_gateway.url)
    try:
        yield tab
    finally:
        OUTPUT.mkdir(exist_ok=True)
        try:
            await page.screenshot(path=str(OUTPUT / _screenshot_name(request)), full_page=True)
        finally:
            await context.close()
    assert not tab.errors, tab.errors
    assert not tab.dialogs, tab.dialogs


@pytest.fixture
async def admin_api(console_gateway: RunningGateway, tenant) -> AsyncIterator:
    """The tenant admin's API client, for setting up and checking what the pages did."""
    import httpx

    async with httpx.AsyncClient(
        base_url=console_gateway.url, headers=tenant.headers("admin"), timeout=30
    ) as client:
        yield client


DOCS_SCREENSHOTS = Path(__file__).parent.parent.parent / "docs" / "screenshots"
OUTPUT = Path(__file__).parent / "output"


async def readme_screenshot(page: Page, name: str) -> Path:
    """One of the README's two pictures: the 1280x800 viewport, no animations. Written
    to tests/console/output; to docs/screenshots (the README's copies) only with
    MODELGATE_README_SCREENSHOTS=1, so that a test run leaves the tree as it was."""
    folder = DOCS_SCREENSHOTS if os.environ.get("MODELGATE_README_SCREENSHOTS") == "1" else OUTPUT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    await page.mouse.move(0, 0)  # no hover effect in the picture
    await page.screenshot(path=str(path), animations="disabled", caret="hide")
    return path
