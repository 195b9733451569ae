"""Small workspaces with known texts, for the store and CLI tests."""

from __future__ import annotations

import json
from pathlib import Path

from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace
from tests.conftest import write_lines


def ingest_texts(ws: Workspace, tmp_path: Path, name: str, texts: list[str], prefix: str = "r") -> DatasetVersion:
    path = write_lines(tmp_path / f"{name}.jsonl",
                       *[json.dumps({"id": f"{prefix}{i}", "text": text}) for i, text in enumerate(texts)])
    return ws.ingest(path, name)
