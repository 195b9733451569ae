"""Many annotators at once on one project with overlap k: nothing over-assigned, lost or double-counted.

Each of 24 annotators (60 tasks, k = 3) runs in its own thread with its own HTTP connection against the live
server, asking for the next task and submitting (skipping one in eight) until the queue is empty. Afterwards
the server's record must equal what the clients saw succeed: exactly k annotations per task, one per (task,
annotator), the per-annotator counts equal to the successful submits, and one unbroken audit chain. It runs
against one server process and against three worker processes sharing the catalog.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from datatrainer.annotation.types import local_admin
from datatrainer.corpora import news_articles, write_jsonl
from tests.server.site import PASSWORD, Site

ANNOTATORS = 24
OVERLAP = 3
RECORDS = 60


def _annotate_until_empty(site: Site, token: str, project: int, seed: int) -> tuple[list[int], list[int]]:
    """Submitted and skipped task ids, in order."""
    rng = random.Random(seed)
    submitted: list[int] = []
    skipped: list[int] = []
    with httpx.Client(base_url=site.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                      timeout=120) as client:
        while True:
            response = client.post(f"/projects/{project}/tasks/next")
            if response.status_code == 204:
                return submitted, skipped
            response.raise_for_status()
            task = response.json()
            if rng.random() < 0.125:
                client.post(f"/tasks/{task['id']}/skip").raise_for_status()
                skipped.append(task["id"])
                continue
            label = rng.choice(["politics", "sport", "other"])
            client.post(f"/tasks/{task['id']}/submit", json={"result": {"labels": [label]}}).raise_for_status()
            submitted.append(task["id"])


@pytest.mark.parametrize("server", ["site", "workers_site"])
def test_concurrent_annotators_respect_overlap_and_lose_nothing(server: str, request: pytest.FixtureRequest,
                                                                  tmp_path: Path, catalog_url: str | None) -> None:
    """One server process with its thread pool, and three processes whose writers meet only in the database
    (`catalog_url` is named so that the site fixtures run on each database)."""
    site: Site = request.getfixturevalue(server)
    names = [f"worker{i:02d}" for i in range(ANNOTATORS)]
    write_jsonl((a for a, _ in zip(news_articles(), range(RECORDS), strict=False)), tmp_path / "more.jsonl")
    with site.open_workspace() as ws:
        ws.ingest(tmp_path / "more.jsonl", "more-news")
        svc = ws.annotation
        project = svc.create_project(local_admin(), "busy", "more-news", "classification",
                                     ["politics", "sport", "other"], overlap=OVERLAP).id
        svc.add_member(local_admin(), project, "rita", "reviewer")
        tokens = []
        for name in names:
            svc.create_user(local_admin(), name, PASSWORD)
            svc.add_member(local_admin(), project, name, "annotator")
            tokens.append(svc.create_api_token(local_admin(), "load", username=name).token)
        tasks = svc.tasks_for(local_admin(), project, limit=1000)
    # An annotator stops when the queue is empty for them; a task another annotator skips after that reopens, so
    # everyone comes back for another round until a round finds nothing (as a team would the next morning).
    outcomes: list[tuple[list[int], list[int]]] = [([], []) for _ in names]
    for round_ in itertools.count():
        with ThreadPoolExecutor(ANNOTATORS) as pool:
            found = list(pool.map(_annotate_until_empty, itertools.repeat(site), tokens, itertools.repeat(project),
                                  range(1000 * round_, 1000 * round_ + ANNOTATORS)))
        if not any(submitted or skipped for submitted, skipped in found):
            break
        outcomes = [(done + submitted, passed + skipped)
                    for (done, passed), (submitted, skipped) in zip(outcomes, found, strict=True)]

    client_submits = {(task, name) for name, (submitted, _) in zip(names, outcomes, strict=True) for task in submitted}
    assert sum(len(s) for s, _ in outcomes) == len(client_submits), "a task was submitted twice by one annotator"
    assert any(skipped for _, skipped in outcomes), "the run should exercise skips"
    rita = site.client("rita")
    server_submits = set()
    for task in tasks:
        detail = rita.get(f"/tasks/{task.id}").json()
        assert detail["state"] == "annotated", detail
        assert len(detail["annotations"]) == OVERLAP, detail
        server_submits |= {(task.id, a["username"]) for a in detail["annotations"]}
    assert server_submits == client_submits
    per_task = Counter(task for task, _ in client_submits)
    assert set(per_task.values()) == {OVERLAP} and len(per_task) == len(tasks)
    progress = rita.get(f"/projects/{project}/progress").json()
    assert progress["by_state"]["annotated"] == len(tasks)
    for name, (submitted, skipped) in zip(names, outcomes, strict=True):
        counts = progress["per_annotator"].get(name, {"submitted": 0, "skipped": 0, "assigned": 0})
        assert (counts["submitted"], counts["skipped"], counts["assigned"]) == (len(submitted), len(skipped), 0)
    with site.open_workspace() as ws:
        assert ws.audit.verify().ok, "concurrent writers forked or broke the audit chain"
