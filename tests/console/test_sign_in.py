"""Signing in: the token prompt, where the token is kept (sessionStorage only),
signing out, a refused token sending the user back to the prompt, keyboard
navigation, and a read-only token meeting "needs admin" on admin pages."""

from __future__ import annotations

from tests.console.conftest import CSP, OUTPUT, Console, expect
from tests.support import SeededTenant


async def test_sign_in_keeps_the_token_in_session_storage_only(
    console: Console, tenant: SeededTenant
) -> None:
    page = console.page
    response = await page.goto(f"{console.base_url}/console")
    assert response is not None and response.headers["content-security-policy"] == CSP
    token_field = page.get_by_label("Tenant token")
    assert await token_field.get_attribute("type") == "password"
    assert await token_field.get_attribute("autocomplete") == "off"

    # A token the gateway does not know: its message, and still the prompt.
    await token_field.fill("mg_not-a-real-token-0123456789abcdef")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("The gateway did not accept this token")
    await expect(token_field).to_have_value("")

    token = tenant.tokens["admin"]
    await token_field.fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Models", level=1)).to_be_visible()
    stored = await page.evaluate(
        "() => ({session: {...sessionStorage}, local: {...localStorage}, cookie: document.cookie,"
        " url: location.href})"
    )
    assert list(stored["session"].values()) == [token]
    assert stored["local"] == {} and stored["cookie"] == ""
    assert token not in stored["url"]
    assert token not in await page.content()
    assert not await page.context.cookies()

    # A reload in the same tab stays signed in; signing out forgets the token.
    await page.reload()
    await expect(page.get_by_role("heading", name="Models", level=1)).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Tenant token")).to_be_visible()
    assert await page.evaluate("() => sessionStorage.length") == 0


async def test_a_refused_token_goes_back_to_the_prompt(
    console: Console, tenant: SeededTenant
) -> None:
    await console.login(tenant.tokens["admin"])
    page = console.page
    # The token stops working (as a revoked one would): the next call answers 401.
    await page.evaluate(
        "() => sessionStorage.setItem('modelgate.console.token', 'mg_revoked-0123456789abcdef')"
    )
    await page.get_by_role("link", name="Usage").click()
    await expect(page.get_by_label("Tenant token")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("Your session ended")
    assert await page.evaluate("() => sessionStorage.length") == 0


async def test_keyboard_only_navigation(console: Console, tenant: SeededTenant) -> None:
    page = console.page
    await console.open()
    await page.keyboard.type(tenant.tokens["admin"])  # the token field has the focus
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Models", level=1)).to_be_visible()
    await page.wait_for_selector(".model-row")

    # Tab reaches the navigation; Enter opens a page and moves the focus into it.
    for _ in range(10):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.textContent") == "Model groups":
            break
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Model groups", level=1)).to_be_visible()
    assert await page.evaluate("() => document.activeElement.id") == "main"

    # In the picker, arrow keys move between models.
    await page.get_by_role("link", name="Models", exact=True).click()
    first = page.locator(".model-row input[type=radio]").first
    await first.focus()
    await page.keyboard.press("Space")
    await expect(first).to_be_checked()
    await page.keyboard.press("ArrowDown")
    second = page.locator(".model-row input[type=radio]").nth(1)
    await expect(second).to_be_checked()
    await expect(page.locator("#picked")).to_contain_text(await second.get_attribute("value"))

    # Every input, select and textarea on every page has a label.
    for route in ("/models", "/settings/models", "/configs", "/groups", "/usage", "/audit"):
        await console.go(route)
        unlabelled = await page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                              && !el.getAttribute('aria-labelledby'))
                .map(el => el.outerHTML)"""
        )
        assert unlabelled == [], (route, unlabelled)


async def test_read_only_token_is_told_admin_pages_need_admin(
    console: Console, tenant: SeededTenant
) -> None:
    await console.login(tenant.tokens["read"])
    page = console.page
    # Models reads with runs:read: it works.
    await expect(page.locator("section.provider-group").first).to_be_visible()
    for route, name in (
        ("/settings/models", "Settings → Models"),
        ("/usage", "Usage"),
        ("/audit", "Audit log"),
    ):
        await console.go(route)
        message = page.locator(".needs-admin")
        await expect(message).to_be_visible()
        await expect(message.get_by_role("heading")).to_have_text("This page needs an admin token")
        await expect(message).to_contain_text(f"{name} is for tenant admins")
        await expect(message).to_contain_text("lacks the 'admin' scope")
        OUTPUT.mkdir(exist_ok=True)
        await page.screenshot(path=str(OUTPUT / f"read-only{route.replace('/', '-')}.png"))

    # Configs are readable; creating one is refused with a clear message.
    await console.go("/configs")
    await expect(page.get_by_text("No model configs yet")).to_be_visible()
    await page.get_by_role("button", name="New config").click()
    await page.get_by_label("Name").fill("read-only-attempt")
    await page.get_by_label("Base model").select_option("gpt-5.1")
    await page.get_by_role("button", name="Create config").click()
    await expect(page.get_by_role("alert")).to_contain_text("needs an admin token")
