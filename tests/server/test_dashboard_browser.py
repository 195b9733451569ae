"""The dashboard in Debian's Chromium (Playwright), one browser session walking it as people would: log in,
click through the lineage graph to versions, a sample's coverage, the model trained on it and the annotation
project; stop a running job and try to resume one whose input is gone; open a version that does not exist; log
out and in as an annotator, who sees no data, then as an auditor, who verifies the audit log.

The workspace is the one `test_dashboard_pages` builds (real text, filter, quality, scores, sample, coverage,
annotations, a registered model). Every page may fetch nothing outside the server and must raise no
Content-Security-Policy error; screenshots land in test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser import chromium, screenshot
from tests.server.test_dashboard_pages import MODEL, PASSWORD, Built, serve_built

pytestmark = pytest.mark.slow


def _log_in(page: Page, username: str) -> None:
    expect(page.locator("#login")).to_be_visible()
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login button[type=submit]")
    expect(page.locator("#who")).to_have_text(username)


def test_walk_the_dashboard_in_chromium(tmp_path: Path) -> None:
    with serve_built(tmp_path, None) as built, chromium() as browser:
        walk(browser.new_page(viewport={"width": 1200, "height": 900}), built)


def walk(page: Page, built: Built) -> None:
    outside: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(built.url) else outside.append(request.url))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(code in message.text for code in ("401", "403", "404", "422")):
            problems.append(message.text)  # (pages and API calls that answer with those statuses on purpose)

    page.on("console", console)
    page.goto(built.url + "/dashboard")
    _log_in(page, "cora")
    expect(page.locator("#datasets")).to_contain_text("news-sample@1")
    screenshot(page, "dashboard-overview.png")
    page.click('#datasets a:text-is("news")')
    expect(page.locator("#versions")).to_contain_text("quality-filter")
    page.click("nav >> text=Models")
    expect(page.locator("main table")).to_contain_text(MODEL)
    page.go_back()
    page.go_back()

    page.click('#lineage a.node[data-ref="news@2"]')
    expect(page).to_have_url(built.url + "/dashboard/versions/news@2")
    expect(page.locator("#overview")).to_contain_text("quality-filter")
    expect(page.locator("#dropped")).to_contain_text("junk-spam")
    expect(page.locator("#dropped")).to_contain_text("gopher-quality: word_count 8 < 50")
    expect(page.locator("#head")).to_contain_text(built.first_text[:40])
    expect(page.locator("#quality .card")).to_have_count(5)
    expect(page.locator("#scores svg")).to_have_count(1)
    screenshot(page, "dashboard-version.png")

    page.click('#lineage a.node[data-ref="news-sample@1"]')
    expect(page.locator("#coverage")).to_contain_text("clusters covered")
    page.click(f'#models a:text("{MODEL}")')
    expect(page).to_have_url(built.url + f"/dashboard/models/{MODEL}")
    expect(page.locator("#training svg")).to_have_count(1)
    expect(page.locator("#evaluations")).to_contain_text("perplexity")

    page.click("nav >> text=Annotation")
    page.click("text=news-people")
    expect(page.locator("#progress")).to_contain_text("Of 20 tasks, 3 annotated and 0 reviewed")
    expect(page.locator("#agreement")).to_contain_text("span F1")
    screenshot(page, "dashboard-project.png")

    page.click("nav >> text=Jobs")
    page.click('a[href="/dashboard/jobs/1"]')
    expect(page.locator("#about")).to_contain_text("embed minilm: 21 of 42 (50%)")
    page.click('button[data-action="stop"]')  # through the jobs API, with the CSRF header
    expect(page.locator("#job-state")).to_have_text("stopping")
    page.goto(built.url + "/dashboard/jobs/3")  # failed, and its input version is gone
    page.click('button[data-action="resume"]')
    expect(page.locator("#job-message")).to_have_text("cannot resume job 3: its input gone@1 no longer exists")
    screenshot(page, "dashboard-job.png")

    page.goto(built.url + "/dashboard/versions/news@99")
    expect(page.locator("#error")).to_contain_text("has no version 99")

    page.click("#logout")
    _log_in(page, "ann")
    expect(page.locator("section.panel")).to_have_count(1)  # only their projects
    expect(page.locator("nav")).not_to_contain_text("Models")
    page.goto(built.url + "/dashboard/versions/news@2")
    expect(page.locator("#error")).to_have_attribute("data-status", "403")
    assert built.first_text[:40] not in page.content()

    page.click("#logout")
    _log_in(page, "audrey")  # an auditor: reads data and the audit log, annotates nothing
    page.click("nav >> text=Audit log")
    page.click("text=Verify the whole chain")
    expect(page.locator("#audit-verify")).to_contain_text("is intact")
    expect(page.locator("nav")).not_to_contain_text("Annotation")
    assert not outside, f"the dashboard fetched from outside the server: {outside}"
    assert not problems, f"console errors: {problems}"
