"""The Models page (the picker view): the catalog grouped by provider, flagship
first, "no key" flags that go away when a key is added, configs and groups beside."""

from __future__ import annotations

import httpx

from tests.console.conftest import OUTPUT, Console, expect
from tests.support import RunningGateway, SeededTenant


def shown_first(models: list[dict]) -> list[dict]:
    """What the picker lists before "Show all": the curated models (seed 000), else all."""
    return [m for m in models if m["curated"]] or models


def tokens_text(count: int) -> str:
    """As the page writes a token count: 400000 -> "400k", 1048576 -> "1.05M"."""
    if count >= 1_000_000:
        return f"{round(count / 1_000_000, 2):g}M"
    return f"{round(count / 1_000, 1):g}k" if count >= 1_000 else str(count)


CAPABILITIES = [
    ("tools", "Tools"),
    ("vision", "Vision"),
    ("reasoning", "Reasoning"),
    ("streaming", "Streaming"),
]


async def test_models_are_grouped_by_provider_and_flagged(
    console: Console, console_gateway: RunningGateway, tenant: SeededTenant
) -> None:
    async with httpx.AsyncClient(base_url=console_gateway.url, headers=tenant.headers()) as client:
        listing = (await client.get("/v1/tenant/models")).json()
    listing["data"] = [m for m in listing["data"] if m.get("kind", "system") == "system"]
    await console.login(tenant.tokens["admin"])
    page = console.page

    # One section per provider, in the API's order.
    sections = page.locator("section.provider-group")
    shown = await sections.evaluate_all("els => els.map(e => e.dataset.provider)")
    assert shown == [
        p["id"]
        for p in listing["providers"]
        if any(m["provider"] == p["id"] for m in listing["data"])
    ]

    openai = page.locator('section[data-provider="openai"]')
    openai_models = [m for m in listing["data"] if m["provider"] == "openai"]
    assert openai_models[0]["id"] == "gpt-5.5" and openai_models[0]["recommended"]  # seed 000
    rows = openai.locator(".model-row")
    assert await rows.evaluate_all("rows => rows.map(r => r.dataset.model)") == [
        m["id"] for m in shown_first(openai_models)
    ]
    await expect(rows.first.locator(".badge", has_text="Flagship")).to_be_visible()
    await expect(openai.locator(".provider-head .badge")).to_have_text("Hosted")

    # A provider without a key: flagged, its models still listed and selectable.
    groq = page.locator('section[data-provider="groq"]')
    await expect(groq.get_by_text("No key for Groq: add one in")).to_be_visible()
    groq_models = [m for m in listing["data"] if m["provider"] == "groq"]
    await expect(groq.locator(".model-row")).to_have_count(len(shown_first(groq_models)))
    await expect(groq.locator(".model-row .badge", has_text="no key")).to_have_count(
        len(shown_first(groq_models))
    )
    row = groq.locator(".model-row").first
    await row.click()
    picked = page.locator("#picked")
    await expect(picked).to_contain_text(groq_models[0]["label"])
    await expect(picked).to_contain_text("No key for Groq: calls fail with model_key_missing")

    # Price, credits, context and capabilities, as the API gives them.
    priced = next(m for m in listing["data"] if m["id"] == "gpt-5.1")
    await page.get_by_label("Search models").fill("gpt-5.1")
    gpt51 = page.locator('.model-row[data-model="gpt-5.1"]')
    pricing = priced["pricing"]
    await expect(gpt51).to_contain_text(
        f"in ${pricing['input_per_1k']} · out ${pricing['output_per_1k']}"
    )
    await expect(gpt51).to_contain_text(f"in {pricing['credits_input_per_1k']}")
    await expect(gpt51).to_contain_text(f"{tokens_text(priced['context_window'])} context")
    await expect(gpt51.locator(".chip")).to_have_text(
        [label for name, label in CAPABILITIES if priced["capabilities"][name]]
    )


async def test_search_filters_and_show_all(
    console: Console, tenant: SeededTenant, admin_api: httpx.AsyncClient
) -> None:
    listing = (await admin_api.get("/v1/tenant/models", params={"provider": "openai"})).json()
    every = [m for m in listing["data"] if m.get("kind", "system") == "system"]
    curated = shown_first(every)
    assert len(curated) < len(every)
    await console.login(tenant.tokens["admin"])
    page = console.page
    openai = page.locator('section[data-provider="openai"]')
    # The picker shows each provider's curated models first; the rest on demand.
    await expect(openai.locator(".model-row")).to_have_count(len(curated))
    await openai.get_by_role("button", name=f"Show all {len(every)} OpenAI models").click()
    await expect(openai.locator(".model-row")).to_have_count(len(every))
    await expect(openai.get_by_role("button", name="Show OpenAI's picks only")).to_be_focused()

    await page.get_by_label("Search models").fill("sonnet")
    await expect(page.locator("section.provider-group")).to_have_count(1)
    await expect(page.locator(".summary")).to_contain_text("match")
    await page.get_by_label("Search models").fill("nothing-is-called-this")
    await expect(page.get_by_text("No model matches")).to_be_visible()
    await page.get_by_label("Search models").fill("")
    await page.get_by_label("Only models with a key").check()
    await expect(page.locator('section[data-provider="deepseek"]')).to_have_count(0)
    await expect(page.locator(".model-row .badge", has_text="no key")).to_have_count(0)


async def test_every_page_fits_a_phone(console: Console, tenant: SeededTenant) -> None:
    page = console.page
    await page.set_viewport_size({"width": 390, "height": 844})
    await console.login(tenant.tokens["admin"])
    for route in ("/models", "/settings/models", "/configs", "/groups", "/usage", "/audit"):
        await console.go(route)
        await expect(page.locator("nav.sidebar")).to_be_visible()
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, (route, width)
        OUTPUT.mkdir(exist_ok=True)
        await page.screenshot(path=str(OUTPUT / f"phone{route.replace('/', '-')}.png"))
    # The navigation scrolls sideways instead of overflowing the page.
    await page.get_by_role("link", name="Audit log").click()
    await expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
