"""Helpers for the annotation core tests: real versions ingested from JSONL, real users with real hashes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datatrainer.annotation.types import TaskInfo, UserInfo, local_admin
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

ADMIN = local_admin()
PASSWORD = "correct horse battery"
TEXTS = [
    "Angela Merkel met Emmanuel Macron in Paris.",
    "Apple opened an office in Berlin last year.",
    "The Danube flows through Vienna and Budapest.",
    "Marie Curie worked at the University of Paris.",
    "Toyota builds cars in Kentucky.",
    "Nelson Mandela was born in Mvezo.",
]


def ingest(ws: Workspace, tmp_path: Path, records: Sequence[dict[str, Any]], name: str = "docs") -> DatasetVersion:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return ws.ingest(path, name)


def text_version(ws: Workspace, tmp_path: Path, count: int = len(TEXTS)) -> DatasetVersion:
    return ingest(ws, tmp_path, [{"id": f"r{i}", "text": TEXTS[i % len(TEXTS)] + f" ({i})"} for i in range(count)])


def users(ws: Workspace, *names: str) -> list[UserInfo]:
    return [ws.annotation.create_user(ADMIN, name, PASSWORD) for name in names]


def ner_project(ws: Workspace, tmp_path: Path, *, overlap: int = 2, count: int = len(TEXTS),
                annotators: Sequence[str] = ("ann1", "ann2", "ann3"), reviewer: str = "rev",
                **options: Any) -> tuple[str, dict[str, UserInfo]]:
    version = text_version(ws, tmp_path, count)
    ws.annotation.create_project(ADMIN, "ner", version.ref, "ner", ["PER", "ORG", "LOC"], overlap=overlap, **options)
    people = {user.username: user for user in users(ws, *annotators, reviewer)}
    for name in annotators:
        ws.annotation.add_member(ADMIN, "ner", name, "annotator")
    ws.annotation.add_member(ADMIN, "ner", reviewer, "reviewer")
    return "ner", people


def span(start: int, end: int, label: str) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label}


def take(ws: Workspace, user: UserInfo, project: str) -> TaskInfo:
    """The user's next task, which the test expects to exist."""
    task = ws.annotation.next_task(user, project)
    assert task is not None, f"{user.username} got no task in {project}"
    return task
