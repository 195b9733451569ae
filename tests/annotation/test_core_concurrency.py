"""Concurrent annotators and audit writers: no over-assignment, no lost or double-counted annotation, one chain.

Two arrangements: threads sharing one Workspace, as the server's thread pool does (writers queue on the
workspace's in-process lock), and each thread with its own Workspace (its own engine, pool and lock), as
separate processes would (writers meet only the database's lock). Workspaces are opened before the threads
start: opening runs Alembic, whose global context is not thread-safe.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from datatrainer.annotation.models import AnnotationRow, AssignmentRow
from datatrainer.workspace import Workspace
from tests.annotation.core_fixtures import ner_project, span

ANNOTATORS = [f"ann{i}" for i in range(8)]
TASKS, K = 12, 3


def _annotate_until_empty(ws: Workspace, name: str, got: list[int], errors: list[BaseException]) -> None:
    try:
        user = ws.annotation.get_user(name)
        while (task := ws.annotation.next_task(user, "ner")) is not None:
            again = ws.annotation.next_task(user, "ner")  # the open assignment comes back
            assert again is not None and again.id == task.id
            ws.annotation.submit(user, task.id, {"spans": [span(0, 6, "PER")]})
            got.append(task.id)
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.parametrize("shared", [True, False], ids=["one-workspace", "workspace-per-thread"])
def test_many_annotators_never_exceed_k(workspace: Workspace, tmp_path: Path, catalog_url: str | None,
                                        shared: bool) -> None:
    ner_project(workspace, tmp_path, overlap=K, count=TASKS, annotators=ANNOTATORS)
    got: dict[str, list[int]] = {name: [] for name in ANNOTATORS}
    errors: list[BaseException] = []
    opened = {name: workspace if shared else Workspace.open(workspace.root, db_url=catalog_url)
              for name in ANNOTATORS}
    threads = [threading.Thread(target=_annotate_until_empty, args=(opened[name], name, got[name], errors))
               for name in ANNOTATORS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for ws in opened.values():
        if ws is not workspace:
            ws.close()
    assert errors == []
    for name, task_ids in got.items():
        assert len(task_ids) == len(set(task_ids)), f"{name} got a task twice"
    per_task = Counter(task_id for task_ids in got.values() for task_id in task_ids)
    assert len(per_task) == TASKS and set(per_task.values()) == {K}
    with workspace.annotation.read() as session:
        stored = Counter(session.scalars(select(AnnotationRow.task_id)))
        assignments = Counter(session.scalars(select(AssignmentRow.task_id).where(AssignmentRow.state == "submitted")))
    assert stored == per_task and assignments == per_task
    progress = workspace.annotation.progress(workspace.annotation.get_user("rev"), "ner")
    assert progress.by_state["annotated"] == TASKS
    assert sum(p.submitted for p in progress.per_annotator.values()) == TASKS * K
    report = workspace.audit.verify()
    # The ingested version + 1 project + 9 users + 9 members + per annotation an assignment and a submission.
    assert report.ok and report.entries == 1 + 1 + 9 + 9 + 2 * TASKS * K


def test_concurrent_audit_appends_form_one_chain(workspace: Workspace, catalog_url: str | None) -> None:
    errors: list[BaseException] = []

    def append(ws: Workspace, worker: int) -> None:
        try:
            with ws:
                for i in range(15):
                    ws.audit.record(actor=f"w{worker}", action="tick", entity="counter", entity_id=i)
        except BaseException as exc:
            errors.append(exc)

    opened = [Workspace.open(workspace.root, db_url=catalog_url) for _ in range(6)]
    threads = [threading.Thread(target=append, args=(ws, worker)) for worker, ws in enumerate(opened)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries = workspace.audit.entries(limit=1000)
    assert [e.seq for e in entries] == list(range(1, 91))
    assert workspace.audit.verify().ok
