"""Real Chromium for the dashboard tests: Debian's /usr/bin/chromium driven by Playwright.

Skipped where no browser is installed, unless PLUGVISOR_REQUIRE_BROWSER=1 (set by .ci/run),
which turns a missing browser into a failure.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Skip (or, under PLUGVISOR_REQUIRE_BROWSER=1, fail) without Chromium and Playwright."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if not missing:
        return
    why = "the browser tests need " + " and ".join(missing)
    if os.environ.get("PLUGVISOR_REQUIRE_BROWSER") == "1":
        pytest.fail(why)
    pytest.skip(why)


@dataclass
class Console:
    """What the page said: console errors and uncaught exceptions."""

    errors: list[str] = field(default_factory=list)

    def on_message(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def on_error(self, error: Any) -> None:
        self.errors.append(f"uncaught: {error}")


@asynccontextmanager
async def chromium(tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh Chromium (its own profile folder under ``tmp_path``), closed on exit."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        context = await driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=LAUNCH_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            await context.close()


async def open_dashboard(context: Any, url: str, console: Console, width: int = 1280) -> Any:
    """A page on ``url`` once its status feed is live, listening to its console."""
    page = await context.new_page()
    await page.set_viewport_size({"width": width, "height": 900})
    page.on("console", console.on_message)
    page.on("pageerror", console.on_error)
    await page.goto(url)
    await page.wait_for_selector('#feed-status[data-state="live"]', timeout=15_000)
    return page
