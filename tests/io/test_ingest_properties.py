"""Property tests: whatever the records and however the input is cut into chunks, ingest gives them back.

Inputs are written with the standard library (json, csv) or pyarrow; expectations come from the records
themselves and hashlib, never from datatrainer.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datatrainer.errors import InputError
from datatrainer.io.ingest import IngestOptions
from datatrainer.workspace import Workspace
from tests.io.ingest_helpers import md5, rows, tmp_entries, write_csv, write_jsonl

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_files = itertools.count()

# Strings that trip naive readers: separators, quotes, line breaks of every kind, dates, numbers, emoji.
TRICKY = ["", " ", ",", '"', "'", '""', "\n", "\r", "\r\n", "\\", "\\n", "\t", "\u2028", "\u0085", "\x00",
          "null", "NaN", "true", "1", "-0", "1e5", "2024-01-01", "2024-01-01T10:00:00+02:00", "😀👍🏽",
          "a,b\n\"c\"", "{\"text\": 1}", "\ufeff", "ß", "İ", "日本語"]
texts = st.one_of(st.text(max_size=120), st.sampled_from(TRICKY),
                  st.lists(st.sampled_from(TRICKY), max_size=6).map("".join))
ids = st.one_of(st.text(min_size=1, max_size=16), st.sampled_from([t for t in TRICKY if t]))
int64s = st.integers(-(2**63), 2**63 - 1)


@st.composite
def records(draw: st.DrawFn, nested: bool = True) -> list[dict[str, Any]]:
    record_ids = draw(st.lists(ids, unique=True, max_size=30))
    out = []
    for record_id in record_ids:
        record: dict[str, Any] = {"id": record_id, "text": draw(texts), "n": draw(st.none() | int64s),
                                  "word": "w:" + draw(texts)}
        if nested:
            record["meta"] = draw(st.none() | st.fixed_dictionaries(
                {"k": st.none() | int64s, "tags": st.lists(texts, max_size=3)}))
        out.append(record)
    return out


def _path(tmp_path: Path, suffix: str) -> Path:
    return tmp_path / f"input-{next(_files)}{suffix}"


def _check(version_rows: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert [row["id"] for row in version_rows] == [record["id"] for record in expected]
    assert [row["text"] for row in version_rows] == [record["text"] for record in expected]
    assert [row["content_hash"] for row in version_rows] == [md5(record["text"]) for record in expected]
    for name in expected[0] if expected else []:
        if name in ("id", "text"):
            continue
        assert [row[name] for row in version_rows] == [record[name] for record in expected], name


@SETTINGS
@given(data=records(), chunk_bytes=st.integers(1024, 4096), threads=st.integers(1, 3))
def test_jsonl_round_trip_any_chunking(sqlite_workspace: Workspace, tmp_path: Path, data: list[dict[str, Any]],
                                       chunk_bytes: int, threads: int) -> None:
    path = write_jsonl(_path(tmp_path, ".jsonl"), data)
    if not data:
        path.write_bytes(b"\n")  # blank lines only: no records
        try:
            sqlite_workspace.ingest(path, "p")
        except InputError as error:
            assert "no records to ingest" in str(error)
        assert tmp_entries(sqlite_workspace) == []
        return
    whole = sqlite_workspace.ingest(path, "p")
    _check(rows(whole), data)
    chunked = sqlite_workspace.ingest(path, "p", IngestOptions(chunk_bytes=chunk_bytes, part_bytes=1024,
                                                               threads=threads))
    assert chunked.to_table().equals(whole.to_table())


@SETTINGS
@given(data=records(nested=False).filter(bool), chunk_bytes=st.integers(1024, 4096))
def test_csv_round_trip_any_chunking(sqlite_workspace: Workspace, tmp_path: Path, data: list[dict[str, Any]],
                                     chunk_bytes: int) -> None:
    header = ["id", "text", "n", "word"]
    path = write_csv(_path(tmp_path, ".csv"), header,
                     [["" if record[c] is None else record[c] for c in header] for record in data])
    whole = sqlite_workspace.ingest(path, "p")
    _check(rows(whole), data)
    chunked = sqlite_workspace.ingest(path, "p", IngestOptions(chunk_bytes=chunk_bytes, part_bytes=1024))
    assert chunked.to_table().equals(whole.to_table())


@SETTINGS
@given(data=records().filter(bool), row_group=st.integers(1, 10))
def test_parquet_round_trip(sqlite_workspace: Workspace, tmp_path: Path, data: list[dict[str, Any]],
                            row_group: int) -> None:
    path = _path(tmp_path, ".parquet")
    table = pa.Table.from_pylist(data, schema=pa.schema([
        ("id", pa.string()), ("text", pa.string()), ("n", pa.int64()), ("word", pa.string()),
        ("meta", pa.struct([("k", pa.int64()), ("tags", pa.list_(pa.string()))]))]))
    pq.write_table(table, path, row_group_size=row_group)
    version = sqlite_workspace.ingest(path, "p", IngestOptions(part_bytes=1024))
    _check(rows(version), data)


@SETTINGS
@given(text_list=st.lists(texts, min_size=1, max_size=30), chunk_bytes=st.integers(1024, 2048))
def test_content_hash_ids_and_duplicates(sqlite_workspace: Workspace, tmp_path: Path, text_list: list[str],
                                         chunk_bytes: int) -> None:
    """Without ids, the id is md5 of the UTF-8 text; a repeated text is a duplicate id, skipped after the first."""
    path = write_jsonl(_path(tmp_path, ".jsonl"), [{"text": t} for t in text_list])
    version = sqlite_workspace.ingest(path, "p", IngestOptions(on_error="skip", chunk_bytes=chunk_bytes))
    unique = list(dict.fromkeys(text_list))
    got = rows(version)
    assert [row["text"] for row in got] == unique
    assert [row["id"] for row in got] == [md5(t) for t in unique]
    assert [row["content_hash"] for row in got] == [md5(t) for t in unique]
    assert version.info.stats["skipped"] == len(text_list) - len(unique)


CORRUPTIONS = {
    "truncated": lambda line: line[: max(1, len(line) // 2)] if len(line) > 2 else b"{",
    "not-an-object": lambda line: b"[" + line + b"]",
    "invalid-utf8": lambda line: line[:-1] + b"\xff}",
    "number-text": lambda line: b'{"text": 12345}',
}


@SETTINGS
@given(data=records().filter(lambda r: len(r) >= 2), where=st.integers(0, 10**6),
       corruption=st.sampled_from(sorted(CORRUPTIONS)), chunk_bytes=st.integers(1024, 3000))
def test_one_bad_line_is_named_and_skipped(sqlite_workspace: Workspace, tmp_path: Path,
                                           data: list[dict[str, Any]], where: int, corruption: str,
                                           chunk_bytes: int) -> None:
    bad = where % len(data)
    lines = [json.dumps(record, ensure_ascii=False).encode() for record in data]
    lines[bad] = CORRUPTIONS[corruption](lines[bad])
    path = _path(tmp_path, ".jsonl")
    path.write_bytes(b"\n".join(lines) + b"\n")
    names = sqlite_workspace.datasets.names()

    options = {"chunk_bytes": chunk_bytes, "part_bytes": 1024}
    try:
        sqlite_workspace.ingest(path, "bad-one", IngestOptions(**options))
    except InputError as error:
        assert error.location == f"{path}:{bad + 1}", str(error)
        assert "\n" not in str(error)
    else:
        raise AssertionError("a corrupted line was accepted")
    assert sqlite_workspace.datasets.names() == names
    assert tmp_entries(sqlite_workspace) == []

    kept = data[:bad] + data[bad + 1:]
    version = sqlite_workspace.ingest(path, "p", IngestOptions(on_error="skip", **options))
    _check(rows(version), kept)
    assert version.info.stats["skipped"] == 1
    assert version.info.stats["skipped_examples"][0].startswith(f"{path}:{bad + 1}: ")


# --- type conflicts: the first value in the file sets a field's type, whatever the chunking -------------

scalars = st.one_of(st.integers(-5, 5), st.sampled_from(["s", "2024-01-01", ""]))
shapes = st.one_of(st.none(), scalars, st.fixed_dictionaries({"k": st.none() | scalars}),
                   st.lists(scalars, max_size=3))


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", int: "number"}[type(value)]


def _paths(value: Any, path: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    found = [(path, _kind(value))]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            found += _paths(item, f"{path}[]")
    return found


def _first_value_wins(values: list[Any]) -> list[int]:
    """The indexes of the records a reader keeps: those agreeing with the first value seen at each path."""
    expected: dict[str, str] = {}
    kept = []
    for index, value in enumerate(values):
        own: dict[str, str] = {}
        if all(expected.get(path, own.setdefault(path, kind)) == kind for path, kind in _paths(value, "v")):
            kept.append(index)
            for path, kind in own.items():
                expected.setdefault(path, kind)
    return kept


@SETTINGS
@given(values=st.lists(shapes, min_size=1, max_size=40), chunk_bytes=st.integers(1024, 2048),
       threads=st.integers(1, 2))
def test_type_conflicts_keep_the_first_type(sqlite_workspace: Workspace, tmp_path: Path, values: list[Any],
                                            chunk_bytes: int, threads: int) -> None:
    records = [{"id": f"r{i}", "text": f"{i} " + "p" * 90, "v": value} for i, value in enumerate(values)]
    path = write_jsonl(_path(tmp_path, ".jsonl"), records)
    kept = _first_value_wins(values)
    options = {"chunk_bytes": chunk_bytes, "part_bytes": 1024, "threads": threads}

    if not kept:  # a record can disagree with itself: [1, "s"]
        try:
            sqlite_workspace.ingest(path, "p", IngestOptions(on_error="skip", **options))
        except InputError as error:
            assert f"no records to ingest ({len(values)} bad records skipped" in str(error)
        else:
            raise AssertionError("no record is good, yet a version was written")
        return
    version = sqlite_workspace.ingest(path, "p", IngestOptions(on_error="skip", **options))
    got = rows(version)
    assert [row["id"] for row in got] == [records[i]["id"] for i in kept]
    assert [row["v"] for row in got] == [values[i] for i in kept]
    assert version.info.stats["skipped"] == len(values) - len(kept)

    first_bad = next((i for i in range(len(values)) if i not in kept), None)
    if first_bad is None:
        assert sqlite_workspace.ingest(path, "p", IngestOptions(**options)).num_rows == len(values)
        return
    try:
        sqlite_workspace.ingest(path, "p", IngestOptions(**options))
    except InputError as error:
        assert error.location == f"{path}:{first_bad + 1}", str(error)
    else:
        raise AssertionError("a type conflict was accepted")
