"""Settings → Models: BYOK keys added, replaced and removed (the "no key" flag on
the Models page follows), the key never left in the page, the API's errors shown,
and the hosted-keys switch."""

from __future__ import annotations

import secrets

import httpx

from tests.console.conftest import Console, expect, readme_screenshot
from tests.fakes.upstream import FakeUpstream
from tests.support import SeededTenant


async def _groq_flagged(console: Console, flagged: bool) -> None:
    await console.go("/models")
    groq = console.page.locator('section[data-provider="groq"]')
    callout = groq.get_by_text("No key for Groq: add one in")
    if flagged:
        await expect(callout).to_be_visible()
        await expect(groq.locator(".provider-head .badge")).to_have_text("no key")
    else:
        await expect(callout).to_have_count(0)
        await expect(groq.locator(".provider-head .badge")).to_have_text("BYOK")
        await expect(groq.locator(".model-row .badge", has_text="no key")).to_have_count(0)


async def test_add_and_remove_a_byok_key(
    console: Console,
    tenant: SeededTenant,
    admin_api: httpx.AsyncClient,
    console_upstream: FakeUpstream,
) -> None:
    page = console.page
    await console.login(tenant.tokens["admin"])
    await _groq_flagged(console, flagged=True)

    await console.go("/settings/models")
    card = page.locator('li.provider-card[data-provider="groq"]')
    await expect(card.locator(".badge").first).to_have_text("None")
    await card.get_by_role("button", name="Add key for Groq").click()
    key_field = card.get_by_label("API key for Groq")
    assert await key_field.get_attribute("type") == "password"
    assert await key_field.get_attribute("autocomplete") == "off"
    await expect(key_field).to_be_focused()
    canary = f"gsk_console_canary_{secrets.token_hex(12)}"
    await key_field.fill(canary)
    await card.get_by_label("Base URL (optional)").fill(f"{console_upstream.url}/groq/v1")
    await card.get_by_role("button", name="Save key").click()

    await expect(page.locator("#flash")).to_contain_text("Key for Groq saved.")
    card = page.locator('li.provider-card[data-provider="groq"]')
    await expect(card.locator(".badge").first).to_have_text("BYOK")
    await expect(card).to_contain_text(f"{console_upstream.url}/groq/v1")
    # The key is nowhere in the page: not in the markup, not in any field's value.
    assert canary not in await page.content()
    values = await page.evaluate(
        "() => [...document.querySelectorAll('input, textarea')].map(e => e.value)"
    )
    assert canary not in values
    assert canary not in str(await page.evaluate("() => ({...sessionStorage, ...localStorage})"))
    stored = {
        k["provider"]: k for k in (await admin_api.get("/v1/tenant/model_keys")).json()["data"]
    }
    assert stored["groq"]["configured"] is True

    await _groq_flagged(console, flagged=False)
    assert canary not in await page.content()

    # Replace it, then remove it (with a confirmation step first).
    await console.go("/settings/models")
    card = page.locator('li.provider-card[data-provider="groq"]')
    await card.get_by_role("button", name="Replace key for Groq").click()
    await card.get_by_label("API key for Groq").fill(
        f"gsk_console_replaced_{secrets.token_hex(12)}"
    )
    await card.get_by_role("button", name="Save key").click()
    await expect(page.locator("#flash")).to_contain_text("Key for Groq saved.")
    card = page.locator('li.provider-card[data-provider="groq"]')
    await expect(card).not_to_contain_text("/groq/v1")  # no base_url this time: the default
    await card.get_by_role("button", name="Remove key for Groq").click()
    await expect(card.get_by_text("Remove your key for Groq?")).to_be_visible()
    await card.get_by_role("button", name="Remove key").click()
    await expect(page.locator("#flash")).to_contain_text("Key for Groq removed.")
    await expect(page.locator('li.provider-card[data-provider="groq"] .badge').first).to_have_text(
        "None"
    )
    stored = {
        k["provider"]: k for k in (await admin_api.get("/v1/tenant/model_keys")).json()["data"]
    }
    assert stored["groq"]["configured"] is False

    await _groq_flagged(console, flagged=True)


async def test_api_errors_are_shown_with_their_message(
    console: Console, tenant: SeededTenant, admin_api: httpx.AsyncClient
) -> None:
    page = console.page
    await console.login(tenant.tokens["admin"], route="/settings/models")
    card = page.locator('li.provider-card[data-provider="openai"]')
    await card.get_by_role("button", name="Add key for OpenAI").click()

    # A gateway token is not a provider key: the API's 422 message, word for word.
    await card.get_by_label("API key for OpenAI").fill(tenant.tokens["write"])
    await card.get_by_role("button", name="Save key").click()
    alert = card.get_by_role("alert")
    await expect(alert).to_contain_text("is a modelgate gateway token")
    await expect(alert).to_contain_text("Error code: validation_error (HTTP 422)")
    await expect(card.get_by_label("API key for OpenAI")).to_have_value("")

    # A base_url that is not http(s).
    await card.get_by_label("API key for OpenAI").fill("sk-console-valid-looking-0123456789")
    await card.get_by_label("Base URL (optional)").fill("ftp://example.com/v1")
    await card.get_by_role("button", name="Save key").click()
    await expect(card.get_by_role("alert")).to_contain_text("base_url_invalid")
    assert (await admin_api.get("/v1/tenant/model_keys")).json()["data"][0]["configured"] is False

    # Cancel closes the form and leaves nothing behind.
    await card.get_by_role("button", name="Cancel").click()
    await expect(card.locator("form")).to_have_count(0)


async def test_hosted_keys_switch(
    console: Console, tenant: SeededTenant, admin_api: httpx.AsyncClient
) -> None:
    page = console.page
    await console.login(tenant.tokens["admin"], route="/settings/models")
    switch = page.get_by_role("switch", name="Use the platform's hosted keys")
    await expect(switch).to_be_checked()
    openai = page.locator('li.provider-card[data-provider="openai"] .badge').first
    await expect(openai).to_have_text("Hosted")

    # Off, with the keyboard.
    await switch.focus()
    await page.keyboard.press("Space")
    await expect(page.locator("#flash")).to_contain_text("Hosted keys turned off")
    switch = page.get_by_role("switch", name="Use the platform's hosted keys")
    await expect(switch).not_to_be_checked()
    await expect(
        page.locator('li.provider-card[data-provider="openai"] .badge').first
    ).to_have_text("None")
    assert (await admin_api.get("/v1/tenant/settings")).json()["hosted_keys_enabled"] is False

    await console.go("/models")
    await expect(
        page.locator('section[data-provider="openai"]').get_by_text("No key for OpenAI: add one in")
    ).to_be_visible()

    # And on again, with a click.
    await console.go("/settings/models")
    await page.get_by_text("Use the platform's hosted keys").click()
    await expect(page.locator("#flash")).to_contain_text("Hosted keys turned on.")
    await expect(
        page.locator('li.provider-card[data-provider="openai"] .badge').first
    ).to_have_text("Hosted")
    assert (await admin_api.get("/v1/tenant/settings")).json()["hosted_keys_enabled"] is True
    actions = [e["action"] for e in (await admin_api.get("/v1/tenant/audit_log")).json()["data"]]
    assert actions[:2] == ["hosted_keys.enable", "hosted_keys.disable"]


async def test_readme_screenshots(
    console: Console, tenant: SeededTenant, admin_api: httpx.AsyncClient
) -> None:
    """The README's two pictures, from a tenant with one key of its own, a config and a group."""
    assert (
        await admin_api.put(
            "/v1/tenant/model_keys/groq", json={"api_key": f"gsk_readme_{secrets.token_hex(12)}"}
        )
    ).status_code == 200
    assert (
        await admin_api.post(
            "/v1/tenant/model_configs",
            json={
                "name": "support-bot",
                "base_model": "gpt-5.1",
                "max_tokens": 2000,
                "description": "Answers support tickets",
                "system_prompt": "You answer support tickets.",
            },
        )
    ).status_code == 201
    assert (
        await admin_api.post(
            "/v1/tenant/model_groups",
            json={
                "name": "reliable-chat",
                "strategy": "fallback",
                "members": [{"model": "claude-sonnet-4-6"}, {"model": "gpt-5.1"}],
            },
        )
    ).status_code == 201
    page = console.page
    await console.login(tenant.tokens["admin"])
    await page.locator('.model-row[data-model="gpt-5.5"]').click()
    await expect(page.locator("#picked")).to_contain_text("GPT-5.5")
    await expect(page.locator(".provider-pill", has_text="DeepSeek")).to_contain_text("no key")
    await expect(page.locator("#side-configs")).to_contain_text("support-bot")
    models = await readme_screenshot(page, "console-models.png")

    await console.go("/settings/models")
    await expect(page.locator('li.provider-card[data-provider="groq"] .badge').first).to_have_text(
        "BYOK"
    )
    settings = await readme_screenshot(page, "console-settings-models.png")
    for path in (models, settings):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size < 400_000
