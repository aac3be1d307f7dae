"""The dashboard in real Chromium against a real system: install from a local registry and
watch it complete, toggle, a config error shown at its field, cancel a hung install, a clean
console, no sideways scrolling at 360 px, screenshots at 1280 and 360 px (tests/artifacts/),
the token prompt."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.actors.installer.installer_helpers import (
    GitRepo,
    SilentServer,
    plugin_files,
    registry_entry,
    tar_gz_bytes,
)
from tests.web.browser import ARTIFACTS, Console, chromium, open_dashboard, require_browser
from tests.web.plugin_env import PluginEnv, RunningApi, make_env

pytestmark = pytest.mark.timeout(90)

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City to show", "default": "Oslo"},
        "units": {"type": "string", "enum": ["metric", "imperial"], "default": "metric"},
        "interval": {
            "type": "integer",
            "minimum": 30,
            "maximum": 3600,
            "default": 300,
            "description": "Seconds between updates",
        },
        "api_key": {"type": "string", "x-secret": True},
    },
}
WAIT_MS = 20_000


@pytest.fixture
def env(tmp_path: Path, silent: SilentServer) -> PluginEnv:
    require_browser()
    env = make_env(tmp_path)
    repo = GitRepo(tmp_path / "repos" / "weather")
    files = plugin_files("weather")
    files["config_schema.json"] = json.dumps(WEATHER_SCHEMA)
    repo.commit(files, "weather 1.0.0")
    env.add_entry(registry_entry("weather", repo.url, name="Weather <b>&amp;</b>"))
    env.add_entry(registry_entry("hung", f"http://127.0.0.1:{silent.port}/hung.git"))
    return env


@pytest.fixture
async def api(env: PluginEnv) -> AsyncIterator[RunningApi]:
    async with RunningApi(env.settings()) as api:
        yield api


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    async with chromium(tmp_path) as context:
        yield context


def url(api: RunningApi) -> str:
    assert api.client is not None
    return str(api.client.make_url("/"))


async def install(api: RunningApi, plugin_id: str) -> None:
    status, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": plugin_id})
    assert (status, body["data"]["status"]) == (200, "completed"), body


async def test_install_from_the_store_shows_progress_until_completed(
    api: RunningApi, browser: Any
) -> None:
    from playwright.async_api import expect

    console = Console()
    page = await open_dashboard(browser, url(api), console)
    # The registry's name is shown as text, markup and entities included.
    await expect(page.locator('[data-store="weather"] h3')).to_have_text("Weather <b>&amp;</b>")
    await page.get_by_role("button", name="Install Plugin clock").click()
    operation = page.locator("[data-operation]").filter(has_text="install clock")
    await expect(operation.locator(".badge").first).to_have_text("completed", timeout=WAIT_MS)
    await expect(operation.locator("progress")).to_have_attribute("value", "100")
    await expect(operation).to_contain_text("stage: done")
    card = page.locator('[data-plugin="clock"]')
    await expect(card.get_by_role("switch", name="Plugin clock enabled")).to_be_checked()
    await expect(card).to_contain_text("clock · version 1.0.0")
    await expect(page.locator('[data-store="clock"]')).to_contain_text("installed 1.0.0")
    # The history heard of it from the feed, without a reload.
    await expect(page.locator("#history-list")).to_contain_text("install clock")
    assert console.errors == []


async def test_the_switch_disables_and_enables_a_plugin(api: RunningApi, browser: Any) -> None:
    from playwright.async_api import expect

    await install(api, "clock")
    console = Console()
    page = await open_dashboard(browser, url(api), console)
    switch = page.get_by_role("switch", name="Plugin clock enabled")
    await expect(switch).to_be_checked()
    await switch.focus()
    await page.keyboard.press("Space")  # from the keyboard
    await expect(page.locator('[data-plugin="clock"] .badge').first).to_have_text("disabled")
    status, body = await api.get("/api/v3/plugins/state?plugin_id=clock")
    assert (status, body["data"]["enabled"], body["data"]["status"]) == (200, False, "disabled")
    await switch.click()
    await expect(page.locator('[data-plugin="clock"] .badge').first).to_have_text("enabled")
    await expect(switch).to_be_checked()
    status, body = await api.get("/api/v3/plugins/state?plugin_id=clock")
    assert (status, body["data"]["enabled"]) == (200, True)
    assert console.errors == []


async def test_an_invalid_setting_is_shown_at_its_field(api: RunningApi, browser: Any) -> None:
    from playwright.async_api import expect

    await install(api, "weather")
    console = Console()
    page = await open_dashboard(browser, url(api), console)
    await page.get_by_role("button", name="Configure Plugin weather").click()
    interval = page.get_by_label("interval")
    await expect(interval).to_have_value("300")  # the schema's default
    secret = page.get_by_label("api key")
    assert await secret.get_attribute("type") == "password"
    await expect(secret).to_have_value("")
    await interval.fill("5")
    await page.get_by_label("city").fill("Bergen")
    await page.get_by_role("button", name="Save settings").click()
    error_id = await interval.get_attribute("aria-describedby")
    assert error_id is not None
    error = page.locator(f"#{error_id.split()[-1]}")
    await expect(error).to_have_text("must be at least 30")
    await expect(interval).to_have_attribute("aria-invalid", "true")
    await expect(interval).to_be_focused()
    await expect(page.get_by_label("city")).to_have_attribute("aria-invalid", "false")
    status, body = await api.get("/api/v3/plugins/config?plugin_id=weather")
    assert (status, body["data"]["interval"], body["data"]["city"]) == (200, 300, "Oslo")
    # The browser reports the refused request itself; nothing else went wrong.
    assert [e for e in console.errors if "status of 400" not in e] == []
    console.errors.clear()

    await interval.fill("60")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#config-panel [role=status]")).to_contain_text("saved")
    await expect(error).to_have_text("")
    status, body = await api.get("/api/v3/plugins/config?plugin_id=weather")
    assert (status, body["data"]["interval"], body["data"]["city"]) == (200, 60, "Bergen")

    # Changed elsewhere meanwhile: the page's If-Match no longer matches; 412 explained.
    status, _ = await api.post(
        "/api/v3/plugins/config", {"plugin_id": "weather", "config": {"city": "Tromsø"}}
    )
    assert status == 200
    await interval.fill("90")
    await page.get_by_role("button", name="Save settings").click()
    summary = page.locator("#config-form-errors")
    await expect(summary).to_contain_text("changed elsewhere")
    status, body = await api.get("/api/v3/plugins/config?plugin_id=weather")
    assert (body["data"]["interval"], body["data"]["city"]) == (60, "Tromsø")
    await summary.get_by_role("button", name="Load the current settings").click()
    await expect(page.get_by_label("city")).to_have_value("Tromsø")
    await expect(page.get_by_label("interval")).to_have_value("60")
    assert [e for e in console.errors if "status of 412" not in e] == []


async def test_a_hung_install_is_cancelled_from_the_page(api: RunningApi, browser: Any) -> None:
    from playwright.async_api import expect

    console = Console()
    page = await open_dashboard(browser, url(api), console)
    await page.get_by_role("button", name="Install Plugin hung").click()
    operation = page.locator("[data-operation]").filter(has_text="install hung")
    await expect(operation).to_contain_text("stage: downloading", timeout=WAIT_MS)
    await expect(operation.locator(".badge").first).to_have_text("running")
    await operation.get_by_role("button", name="Cancel install hung").click()
    await expect(operation.locator(".badge").first).to_have_text("cancelled", timeout=WAIT_MS)
    await expect(operation.get_by_role("button")).to_have_count(0)
    status, body = await api.get("/api/v3/plugins/operations?status=active")
    assert (status, body["data"]) == (200, [])
    assert console.errors == []


async def test_install_from_a_url_and_from_an_uploaded_archive(
    api: RunningApi, env: PluginEnv, browser: Any, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    console = Console()
    page = await open_dashboard(browser, url(api), console)
    await page.get_by_text("Install from a URL").click()
    await page.get_by_label("Git or archive URL").fill(env.repos["ticker"].url)
    await page.get_by_role("button", name="Install from URL").click()
    await expect(page.get_by_role("switch", name="Plugin ticker enabled")).to_be_checked(
        timeout=WAIT_MS
    )
    archive = tmp_path / "banner.tar.gz"
    archive.write_bytes(tar_gz_bytes(plugin_files("banner", "2.1.0"), top="banner-main/"))
    await page.get_by_text("Install an uploaded archive").click()
    await page.get_by_label("Plugin archive (.zip or .tar.gz)").set_input_files(str(archive))
    await page.get_by_role("button", name="Upload and install").click()
    card = page.locator('[data-plugin="banner"]')
    await expect(card).to_contain_text("banner · version 2.1.0", timeout=WAIT_MS)
    status, body = await api.get("/api/v3/plugins/installed")
    assert status == 200
    assert sorted(p["id"] for p in body["data"]["plugins"]) == ["banner", "ticker"]
    assert console.errors == []


@pytest.mark.parametrize("width", [1280, 360])
async def test_clean_console_no_sideways_scroll_and_a_screenshot(
    api: RunningApi, browser: Any, width: int
) -> None:
    from playwright.async_api import expect

    await install(api, "weather")
    await install(api, "clock")
    console = Console()
    page = await open_dashboard(browser, url(api), console, width=width)
    await page.get_by_role("button", name="Configure Plugin weather").click()
    await expect(page.get_by_label("interval")).to_have_value("300")
    await expect(page.locator("#health-panel")).to_contain_text("root/queue")
    await expect(page.locator('[data-store="ticker"]')).to_be_visible()
    scroll_width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"dashboard-{width}.png"
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert console.errors == []


async def test_the_page_asks_for_the_token_and_keeps_it(env: PluginEnv, browser: Any) -> None:
    from playwright.async_api import expect

    token_file = env.root / "secret" / "token"
    async with RunningApi(env.settings(token_file=str(token_file))) as api:
        token = token_file.read_text().strip()
        console = Console()
        page = await browser.new_page()
        page.on("console", console.on_message)
        await page.goto(url(api))  # the page itself needs no token
        dialog = page.get_by_role("dialog", name="Access token needed")
        await expect(dialog).to_be_visible()
        await expect(page.get_by_label("API token")).to_be_focused()
        await page.keyboard.type(token + "-wrong")
        await page.keyboard.press("Enter")
        await expect(dialog).to_be_visible()  # refused: asked again
        await page.get_by_label("API token").fill(token)
        await page.keyboard.press("Enter")
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#feed-status")).to_have_attribute("data-state", "live")
        await expect(page.locator('[data-store="clock"]')).to_be_visible()
        await expect(page.locator("#health-panel")).to_contain_text("root/queue")
        stored = await page.evaluate("localStorage.getItem('plugvisor.token')")
        assert stored == token
        # A write with the token goes through (same origin), from the page.
        await page.get_by_role("button", name="Install Plugin clock").click()
        switch = page.get_by_role("switch", name="Plugin clock enabled")
        await expect(switch).to_be_checked(timeout=WAIT_MS)
        # Before the token: the refused requests and the refused WebSocket, nothing else.
        refused = ("status of 401", "HTTP Authentication failed")
        assert [e for e in console.errors if not any(r in e for r in refused)] == []
        # A new visit uses the kept token: no prompt, no error at all.
        console.errors.clear()
        await page.reload()
        await expect(page.locator("#feed-status")).to_have_attribute("data-state", "live")
        await expect(page.locator("#health-panel")).to_contain_text("root/queue")
        await expect(dialog).to_be_hidden()
        assert console.errors == []
