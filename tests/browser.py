"""Headless Debian Chromium for the tests that open a page (reports, the annotation web UI).

One place says how Chromium is launched (never a Playwright-downloaded browser) and how a self-contained page
is opened while recording every request it makes, so "fetches nothing from the network" is checked the same
way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Request, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@contextmanager
def chromium() -> Iterator[Browser]:
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@contextmanager
def open_page(browser: Browser, url: str) -> Iterator[tuple[Page, list[str]]]:
    """The loaded page and the list of every URL it requested (growing while the page lives)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    page.on("request", record)
    try:
        page.goto(url)
        page.wait_for_load_state("load")
        yield page, requests
    finally:
        page.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact (test-artifacts/ is git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
