"""The web UI in Debian's Chromium (Playwright): log in, annotate by mouse and keyboard, review, export.

Every step is driven the way a person would: a mouse drag selects the entity, a digit key labels it, Enter
submits, arrow keys move between tasks. What the page did is then checked through the API, so the test fails
if the UI only looks right. Screenshots of each screen land in test-artifacts/ (git-ignored); the page may
fetch nothing outside the server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from datatrainer.annotation.types import local_admin
from tests.browser import chromium, screenshot
from tests.server.site import PASSWORD, Site

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


OUTSIDE: list[str] = []  # every request any page made to somewhere other than the server under test


def _login(browser: Browser, site: Site, username: str) -> Page:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("request", lambda request: None if request.url.startswith(site.url) else OUTSIDE.append(request.url))
    page.goto(site.url + "/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#who")).to_contain_text(username)
    return page


def _select(page: Page, start: int, end: int) -> None:
    """Drag the mouse across characters [start, end) of the document, as a person selects an entity."""
    box = page.evaluate("""([start, end]) => {
        const doc = document.getElementById("doc");
        const walker = document.createTreeWalker(doc, NodeFilter.SHOW_TEXT);
        const range = document.createRange();
        let node, offset = 0, started = false;
        while ((node = walker.nextNode())) {
            if (!started && start < offset + node.length) { range.setStart(node, start - offset); started = true; }
            if (end <= offset + node.length) { range.setEnd(node, end - offset); break; }
            offset += node.length;
        }
        const rects = range.getClientRects();
        const a = rects[0], b = rects[rects.length - 1];
        return [a.left + 1, a.top + a.height / 2, b.right - 1, b.top + b.height / 2];
    }""", [start, end])
    page.mouse.move(box[0], box[1])
    page.mouse.down()
    page.mouse.move(box[2], box[3], steps=8)
    page.mouse.up()


def _task_id(page: Page) -> int:
    return int(page.locator("#task").get_attribute("data-task-id") or 0)


def test_ner_by_mouse_and_hotkeys_then_review_and_export(browser: Browser, sqlite_site: Site) -> None:
    site = sqlite_site
    project = site.projects["ner"]
    api_ann = site.client("ann")
    first = api_ann.post(f"/projects/{project}/tasks/next").json()
    text = first["data"]["text"]
    word_end = text.index(" ")
    second_word = (word_end + 1, text.index(" ", word_end + 1))
    with site.open_workspace() as ws:  # a pre-annotation for the second word, as a suggester would store
        ws.annotation.add_suggestions(local_admin(), first["id"], "gazetteer",
                                      {"spans": [{"start": second_word[0], "end": second_word[1], "label": "ORG"}]})

    page = _login(browser, site, "ann")
    expect(page.locator("#projects")).to_contain_text("ner-project")
    screenshot(page, "server-projects.png")
    page.click("text=ner-project")
    expect(page.locator("#start")).to_be_focused()
    page.keyboard.press("Enter")  # the Annotate link has the focus
    expect(page.locator("#task")).to_have_attribute("data-task-id", str(first["id"]))
    expect(page.locator("aside")).to_contain_text("Guidelines for ner")
    expect(page.locator("#suggestion-list")).to_contain_text("ORG")

    _select(page, 0, word_end)
    page.keyboard.press("3")  # LOC
    expect(page.locator("#span-list li")).to_have_count(1)
    expect(page.locator("#doc .span[data-label=LOC]")).to_have_text(text[:word_end])
    page.keyboard.press("a")  # accept every suggestion
    expect(page.locator("#span-list li")).to_have_count(2)
    screenshot(page, "server-ner-annotated.png")
    page.keyboard.press("Enter")
    expect(page.locator("#task")).not_to_have_attribute("data-task-id", str(first["id"]))
    stored = api_ann.get(f"/tasks/{first['id']}").json()["annotations"][0]["result"]["spans"]
    assert stored == [{"start": 0, "end": word_end, "label": "LOC"},
                      {"start": second_word[0], "end": second_word[1], "label": "ORG"}]

    page.keyboard.press("ArrowLeft")  # back to the submitted task: its spans are shown again
    expect(page.locator("#task")).to_have_attribute("data-task-id", str(first["id"]))
    expect(page.locator("#span-list li")).to_have_count(2)
    page.locator("#span-list button").first.click()  # remove LOC by mouse, then resubmit by keyboard
    expect(page.locator("#span-list li")).to_have_count(1)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#task")).not_to_have_attribute("data-task-id", str(first["id"]))
    assert [s["label"] for s in api_ann.get(f"/tasks/{first['id']}").json()["annotations"][0]["result"]["spans"]] \
        == ["ORG"]

    bob = site.client("bob")  # the second annotator (overlap 2) agrees, so the task waits for review
    assert bob.post(f"/projects/{project}/tasks/next").json()["id"] == first["id"]
    bob.post(f"/tasks/{first['id']}/submit", json={"result": {"spans": [
        {"start": second_word[0], "end": second_word[1], "label": "ORG"}]}}).raise_for_status()

    reviewer = _login(browser, site, "rita")
    reviewer.goto(f"{site.url}/#/p/{project}/review")
    expect(reviewer.locator("#annotations .result")).to_have_count(2)
    screenshot(reviewer, "server-review.png")
    reviewer.keyboard.press("a")
    expect(reviewer.locator("#status")).to_contain_text(f"task {first['id']}: accept")
    assert site.client("rita").get(f"/tasks/{first['id']}").json()["state"] == "accepted"

    admin = _login(browser, site, "padmin")
    admin.click("text=ner-project")
    expect(admin.locator(".progress-text")).to_contain_text("1 / 12 tasks done")
    admin.click("#export")
    expect(admin.locator("#status")).to_contain_text("exported as dataset version ner-project@1")
    screenshot(admin, "server-export.png")
    with admin.expect_download() as download:
        admin.click("a[download]:has-text('label-studio')")
    assert download.value.suggested_filename == "ner-project.json"
    acceptance = site.client("padmin").get(f"/projects/{project}/suggestions/acceptance").json()
    assert [(a["label"], a["suggested"], a["accepted"]) for a in acceptance] == [("ORG", 2, 2)]
    assert OUTSIDE == []
    for opened in (page, reviewer, admin):
        opened.close()


def test_classification_preference_and_correction_by_keyboard(browser: Browser, sqlite_site: Site) -> None:
    site = sqlite_site
    page = _login(browser, site, "ann")
    api = site.client("ann")

    page.goto(f"{site.url}/#/p/{site.projects['classification']}/annotate")
    expect(page.locator("#task")).to_have_attribute("data-task-type", "classification")
    task = _task_id(page)
    page.keyboard.press("2")
    expect(page.locator(".labels button[data-label=sport]")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("3")  # single-label: choosing another label replaces the first
    expect(page.locator(".labels button[aria-pressed=true]")).to_have_count(1)
    screenshot(page, "server-classification.png")
    page.keyboard.press("Enter")
    expect(page.locator("#task")).not_to_have_attribute("data-task-id", str(task))
    assert api.get(f"/tasks/{task}").json()["annotations"][0]["result"] == {"labels": ["other"]}

    page.goto(f"{site.url}/#/p/{site.projects['preference']}/annotate")
    expect(page.locator("#task")).to_have_attribute("data-task-type", "preference")
    task = _task_id(page)
    page.keyboard.press("2")
    expect(page.locator("#choice-b")).to_have_class("choice chosen")
    page.fill("#reason", "B answers the prompt")
    screenshot(page, "server-preference.png")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#task")).not_to_have_attribute("data-task-id", str(task))
    assert api.get(f"/tasks/{task}").json()["annotations"][0]["result"] == {"choice": "b",
                                                                             "reason": "B answers the prompt"}

    page.goto(f"{site.url}/#/p/{site.projects['correction']}/annotate")
    expect(page.locator("#task")).to_have_attribute("data-task-type", "correction")
    task = _task_id(page)
    page.fill("#correction", "A corrected response.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#task")).not_to_have_attribute("data-task-id", str(task))
    assert api.get(f"/tasks/{task}").json()["annotations"][0]["result"] == {"text": "A corrected response."}

    page.goto(f"{site.url}/#/p/{site.projects['classification']}/annotate")
    task = _task_id(page)
    page.keyboard.press("s")  # skip: the task goes to someone else
    expect(page.locator("#task")).not_to_have_attribute("data-task-id", str(task))
    assert api.get(f"/tasks/{task}").status_code == 403 or \
        api.get(f"/tasks/{task}").json()["assignment_state"] == "skipped"
    page.click("#logout")
    expect(page.locator("#username")).to_be_visible()
    assert OUTSIDE == []
    page.close()
