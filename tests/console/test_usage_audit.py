"""Usage (a call shows up in the chart, the totals and the table by model; the
month's limits with what is left) and the audit log (newest first, paged)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
import openai
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.db import session_factory
from modelgate.limits import service as limits
from tests.console.conftest import Console, expect
from tests.support import RunningGateway, SeededTenant


async def _until_recorded(client: httpx.AsyncClient, requests: int) -> dict:
    """The usage recorder writes in batches (within ~2 s): poll the API until it has them."""
    deadline = time.monotonic() + 15
    while True:
        report = (await client.get("/v1/tenant/usage", params={"group_by": "model"})).json()
        if report["totals"]["requests"] >= requests or time.monotonic() > deadline:
            return report
        await asyncio.sleep(0.1)


async def test_usage_after_a_call(
    console: Console,
    tenant: SeededTenant,
    clean_engine: AsyncEngine,
    console_gateway: RunningGateway,
    admin_api: httpx.AsyncClient,
) -> None:
    async with session_factory(clean_engine)() as session, session.begin():
        await limits.set_limits(session, tenant.id, rpm=600, monthly_credits=Decimal(50))
    page = console.page
    await console.login(tenant.tokens["admin"], route="/usage")
    await expect(page.get_by_text("No calls in this period")).to_be_visible()
    await expect(page.locator("#usage-limits")).to_contain_text("600 requests")
    await expect(page.locator("#usage-limits")).to_contain_text("50.00 left")

    sdk = openai.AsyncOpenAI(
        base_url=f"{console_gateway.url}/v1", api_key=tenant.tokens["write"], max_retries=0
    )
    answer = await sdk.chat.completions.create(
        model="gpt-5.1", messages=[{"role": "user", "content": "Hello"}]
    )
    assert answer.usage is not None
    report = await _until_recorded(admin_api, 1)
    [row] = report["data"]
    assert row["model"] == "gpt-5.1" and row["credits"] > 0

    # The period select reloads the page's figures.
    await page.get_by_label("Period").select_option("7")
    await page.get_by_label("Period").select_option("month")
    totals = page.locator("#usage-totals")
    await expect(totals.locator(".stat", has_text="Requests").locator(".stat-value")).to_have_text(
        "1"
    )
    await expect(
        totals.locator(".stat", has_text="Input tokens").locator(".stat-value")
    ).to_have_text(str(answer.usage.prompt_tokens))
    by_model = page.locator("#usage-by-model tbody tr")
    await expect(by_model).to_have_count(1)
    await expect(by_model.first).to_contain_text("gpt-5.1")
    # One bar of credits and two of tokens (input, output) for today, in SVG.
    await expect(page.locator("svg.chart rect.bar.s-credits")).to_have_count(1)
    await expect(page.locator("svg.chart rect.bar.s-input")).to_have_count(1)
    await expect(page.locator("svg.chart rect.bar.s-output")).to_have_count(1)
    await expect(page.locator("#usage-limits progress")).to_have_count(1)
    left = Decimal(50) - Decimal(str(row["credits"]))
    await expect(page.locator("#usage-limits")).to_contain_text(f"{left:,.4f} left")


async def test_audit_log_pages(
    console: Console, tenant: SeededTenant, admin_api: httpx.AsyncClient
) -> None:
    # 25 entries: a key set and removed, again and again.
    for number in range(25):
        if number % 2 == 0:
            response = await admin_api.put(
                "/v1/tenant/model_keys/groq",
                json={"api_key": f"gsk_audit_page_{number:04d}_abcdef"},
            )
        else:
            response = await admin_api.delete("/v1/tenant/model_keys/groq")
        assert response.status_code == 200
    page = console.page
    await console.login(tenant.tokens["admin"], route="/audit")
    rows = page.locator("#audit-list tbody tr")
    newer = page.get_by_role("button", name="Newer entries")
    older = page.get_by_role("button", name="Older entries")

    await expect(rows).to_have_count(20)
    await expect(rows.first.locator("td").first).to_have_text("25")
    await expect(rows.first).to_contain_text("Provider key set")
    await expect(rows.nth(1)).to_contain_text("Provider key removed")
    await expect(newer).to_be_disabled()
    await expect(older).to_be_enabled()

    await older.click()
    await expect(rows).to_have_count(5)
    ids = await rows.evaluate_all("rows => rows.map(r => r.cells[0].textContent)")
    assert ids == ["5", "4", "3", "2", "1"]
    await expect(older).to_be_disabled()
    await expect(page.get_by_text("Page 2")).to_be_visible()

    await newer.click()
    await expect(rows).to_have_count(20)
    await expect(rows.first.locator("td").first).to_have_text("25")
