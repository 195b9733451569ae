"""Evaluation data: a dataset version of the workspace (`web@2`) or a local file (JSONL, JSON list, Parquet),
read as a table with the fields a suite needs, which are named in one line when missing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from datatrainer.errors import DatatrainerError, InputError
from datatrainer.workspace import Workspace

FILE_SUFFIXES = (".jsonl", ".json", ".parquet")


def load_table(ws: Workspace | None, source: str, fields: Sequence[str], suite: str) -> tuple[pa.Table, str]:
    """(the rows, a reference to them: the version's `name@n` or the file's resolved path)."""
    path = Path(source).expanduser()
    if path.suffix in FILE_SUFFIXES and path.is_file():
        table, ref = _read_file(path), str(path.resolve())
    elif path.suffix in FILE_SUFFIXES and ("/" in source or ws is None):
        raise DatatrainerError(f"evaluation data file {source!r} does not exist")
    elif ws is None:
        raise DatatrainerError(f"{source!r} is neither a file nor, without a workspace, a dataset version")
    else:
        version = ws.version(source)
        table, ref = version.to_table(), version.ref
    if missing := [field for field in fields if field not in table.column_names]:
        raise DatatrainerError(f"{ref} lacks the field{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                               f"that the {suite} suite needs (it has: {', '.join(table.column_names)})")
    if table.num_rows == 0:
        raise DatatrainerError(f"{ref} has no records to evaluate on")
    return table, ref


def _read_file(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    raw = path.read_bytes()
    if path.suffix == ".json":
        rows = _parse(raw, str(path))
        if not isinstance(rows, list):
            raise InputError(str(path), "expected a JSON list of records")
    else:
        rows = [_parse(line, f"{path}:{number}") for number, line in enumerate(raw.splitlines(), 1) if line.strip()]
    if not all(isinstance(row, dict) for row in rows):
        raise InputError(str(path), "every record must be a JSON object")
    return pa.Table.from_pylist(rows)


def _parse(raw: bytes, location: str) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(location, f"invalid JSON: {exc}") from None
