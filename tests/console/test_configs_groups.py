"""Model configs and model groups: create, edit and delete them in the pages, see
the API's refusals, and the XSS case: a tenant's names and descriptions are shown
as text and never run."""

from __future__ import annotations

import httpx

from tests.console.conftest import Console, expect
from tests.support import SeededTenant

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_TEXT = "<script>alert(2)</script><b onmouseover=alert(3)>bold</b>"
XSS_GROUP = "<svg onload=alert(4)>"


async def test_create_edit_and_delete_a_config(
    console: Console, tenant: SeededTenant, admin_api: httpx.AsyncClient
) -> None:
    page = console.page
    await console.login(tenant.tokens["admin"], route="/configs")
    await expect(page.get_by_text("No model configs yet")).to_be_visible()

    await page.get_by_role("button", name="New config").click()
    await expect(page.get_by_label("Name")).to_be_focused()
    await page.get_by_label("Name").fill("support-bot")
    await page.get_by_label("Base model").select_option("gpt-5.1")
    await page.get_by_label("Max output tokens").fill("2000")
    await page.get_by_label("Description").fill("Answers support tickets")
    await page.get_by_label("System prompt").fill("You answer support tickets.")
    await page.get_by_role("button", name="Create config").click()
    await expect(page.locator("#flash")).to_contain_text("Config “support-bot” created.")
    row = page.locator("#configs-list tbody tr", has_text="support-bot")
    await expect(row).to_contain_text("gpt-5.1")
    await expect(row).to_contain_text("2k output")
    [config] = (await admin_api.get("/v1/tenant/model_configs")).json()["data"]
    assert (config["name"], config["base_model"], config["max_tokens"]) == (
        "support-bot",
        "gpt-5.1",
        2000,
    )
    assert config["system_prompt"] == "You answer support tickets."
    assert config["context_window"] is None  # left empty: the base model's

    # A name the catalog owns: the API's 409, with its message, on the form.
    await page.get_by_role("button", name="New config").click()
    await page.get_by_label("Name").fill("gpt-5.1")
    await page.get_by_label("Base model").select_option("gpt-5.1")
    await page.get_by_role("button", name="Create config").click()
    alert = page.locator("form").get_by_role("alert")
    await expect(alert).to_contain_text("model_name_taken (HTTP 409)")
    await expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    await page.get_by_role("button", name="Cancel").click()

    # Edit: a smaller output limit, no streaming.
    await page.get_by_role("button", name="Edit support-bot").click()
    await expect(page.get_by_label("Name")).to_have_value("support-bot")
    await expect(page.get_by_label("Base model")).to_have_value("gpt-5.1")
    await page.get_by_label("Max output tokens").fill("1000")
    await page.get_by_label("Streaming allowed").uncheck()
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#flash")).to_contain_text("Config “support-bot” saved.")
    await expect(page.locator("#configs-list")).to_contain_text("No streaming")
    config = (await admin_api.get(f"/v1/tenant/model_configs/{config['id']}")).json()
    assert (config["max_tokens"], config["streaming"], config["description"]) == (
        1000,
        False,
        "Answers support tickets",
    )

    # Delete, after a confirmation.
    await page.get_by_role("button", name="Delete support-bot").click()
    await page.get_by_role("button", name="Delete “support-bot”").click()
    await expect(page.locator("#flash")).to_contain_text("Config “support-bot” deleted.")
    await expect(page.get_by_text("No model configs yet")).to_be_visible()
    assert (await admin_api.get("/v1/tenant/model_configs")).json()["data"] == []


async def test_create_edit_and_delete_a_group(
    console: Console, tenant: SeededTenant, admin_api: httpx.AsyncClient
) -> None:
    page = console.page
    await console.login(tenant.tokens["admin"], route="/groups")
    await expect(page.get_by_text("No model groups yet")).to_be_visible()

    await page.get_by_role("button", name="New group").click()
    await page.get_by_label("Name").fill("fast-chat")
    await page.get_by_label("Strategy").select_option("loadbalance")
    await page.get_by_label("Model", exact=True).fill("gpt-5.1")
    await page.get_by_label("Weight").fill("3")
    await page.get_by_role("button", name="Add member").click()
    await page.get_by_label("Model", exact=True).nth(1).fill("no-such-model-anywhere")
    await page.get_by_role("button", name="Create group").click()
    # The member that does not resolve: the API's 422 names it.
    await expect(page.locator("form").get_by_role("alert")).to_contain_text(
        "no-such-model-anywhere"
    )

    await page.get_by_label("Model", exact=True).nth(1).fill("claude-sonnet-4-6")
    await page.get_by_role("button", name="Create group").click()
    await expect(page.locator("#flash")).to_contain_text("Group “fast-chat” created.")
    row = page.locator("#groups-list tbody tr", has_text="fast-chat")
    await expect(row).to_contain_text("Load balance")
    await expect(row).to_contain_text("gpt-5.1 × 3")
    [group] = (await admin_api.get("/v1/tenant/model_groups")).json()["data"]
    assert group["strategy"] == "loadbalance"
    assert group["members"] == [
        {"model": "gpt-5.1", "weight": 3},
        {"model": "claude-sonnet-4-6", "weight": 1},
    ]

    # Edit: fallback, and the second member removed.
    await page.get_by_role("button", name="Edit fast-chat").click()
    await page.get_by_label("Strategy").select_option("fallback")
    await page.get_by_role("button", name="Remove this member").nth(1).click()
    await expect(page.get_by_label("Model", exact=True)).to_have_count(1)
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#flash")).to_contain_text("Group “fast-chat” saved.")
    group = (await admin_api.get(f"/v1/tenant/model_groups/{group['id']}")).json()
    assert (group["strategy"], group["members"]) == (
        "fallback",
        [{"model": "gpt-5.1", "weight": 3}],
    )

    await page.get_by_role("button", name="Delete fast-chat").click()
    await page.get_by_role("button", name="Delete “fast-chat”").click()
    await expect(page.get_by_text("No model groups yet")).to_be_visible()
    assert (await admin_api.get("/v1/tenant/model_groups")).json()["data"] == []


async def test_tenant_text_is_shown_as_text_and_never_runs(
    console: Console, tenant: SeededTenant, admin_api: httpx.AsyncClient
) -> None:
    created = await admin_api.post(
        "/v1/tenant/model_configs",
        json={
            "name": XSS_NAME,
            "base_model": "gpt-5.1",
            "description": XSS_TEXT,
            "system_prompt": XSS_TEXT,
        },
    )
    assert created.status_code == 201, created.text
    created = await admin_api.post(
        "/v1/tenant/model_groups",
        json={
            "name": XSS_GROUP,
            "description": XSS_TEXT,
            "members": [{"model": XSS_NAME}],
        },
    )
    assert created.status_code == 201, created.text
    page = console.page
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    await page.add_init_script(
        "window.__ran = []; window.alert = (m) => window.__ran.push(String(m));"
    )

    await console.login(tenant.tokens["admin"])
    await expect(page.locator("#side-configs")).to_contain_text(XSS_NAME)
    await expect(page.locator("#side-groups")).to_contain_text(XSS_GROUP)
    await console.go("/configs")
    await expect(page.locator("#configs-list strong")).to_have_text(XSS_NAME)
    await expect(page.locator("#configs-list")).to_contain_text(XSS_TEXT)
    await page.get_by_role("button", name=f"Edit {XSS_NAME}").click()
    await expect(page.get_by_label("Name")).to_have_value(XSS_NAME)
    await expect(page.get_by_label("System prompt")).to_have_value(XSS_TEXT)
    await console.go("/groups")
    await expect(page.locator("#groups-list strong")).to_have_text(XSS_GROUP)
    await expect(page.locator("#groups-list code")).to_have_text(XSS_NAME)
    await console.go("/audit")
    await page.locator("#audit-list").wait_for()
    await page.locator("#groups-list, #audit-list").first.hover()

    # Nothing ran, nothing was parsed as markup, nothing was fetched for it.
    assert await page.evaluate("() => window.__ran") == []
    assert console.dialogs == []
    for route in ("/models", "/configs", "/groups"):
        await console.go(route)
        injected = await page.evaluate(
            "() => document.querySelectorAll("
            "'#page img, #page script, #page svg:not(.chart), #page b').length"
        )
        assert injected == 0, route
    assert not [url for url in fetched if url.rstrip("/").endswith("/x")]
