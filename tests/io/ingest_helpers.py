"""Helpers shared by the ingest tests: writing inputs with the standard library, reading versions back."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from datatrainer.errors import InputError
from datatrainer.io.ingest import IngestOptions
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

# The smallest sizes IngestOptions allows: many chunks and many parts even for small inputs.
TINY = {"chunk_bytes": 1024, "part_bytes": 1024}


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def rows(version: DatasetVersion) -> list[dict[str, Any]]:
    return version.to_table().to_pylist()


def column(version: DatasetVersion, name: str) -> list[Any]:
    return version.to_table([name])[name].to_pylist()


def tmp_entries(ws: Workspace) -> list[Path]:
    return sorted((ws.root / "tmp").iterdir())


def ingest_fails(ws: Workspace, path: Path, **options: Any) -> InputError:
    """Ingest that must fail with a one-line InputError and leave the workspace exactly as it was."""
    names = ws.datasets.names()
    versions = sorted(p.name for p in (ws.root / "versions").iterdir())
    with pytest.raises(InputError) as caught:
        ws.ingest(path, "bad-input", IngestOptions(**options))
    error = caught.value
    assert "\n" not in str(error), str(error)
    assert ws.datasets.names() == names
    assert tmp_entries(ws) == []
    assert sorted(p.name for p in (ws.root / "versions").iterdir()) == versions
    return error
