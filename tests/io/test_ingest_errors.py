"""Bad input: a one-line InputError naming the exact file and line (or record), and nothing published.

With on_error="skip" the bad records, and only those, are left out and counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datatrainer.errors import DatatrainerError, InputError
from datatrainer.io.ingest import IngestOptions
from datatrainer.workspace import Workspace
from tests.conftest import write_lines
from tests.io.ingest_helpers import TINY, column, ingest_fails, md5, tmp_entries, write_jsonl


@pytest.fixture
def ws(sqlite_workspace: Workspace, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace that already holds a dataset, so "nothing published" is checked against something."""
    sqlite_workspace.ingest(write_jsonl(tmp_path / "existing.jsonl", [{"text": "kept"}]), "existing")
    yield sqlite_workspace


def _pad(i: int) -> str:
    return f"record {i} " + "x" * 180  # about 200 bytes a line: five lines per 1 KiB chunk


@dataclass
class Case:
    """One kind of bad record: where the error must point, and what skipping keeps."""

    id: str
    filename: str
    lines: list[str | bytes]
    location: str  # appended to the file path: ":3" for a line, ": record 2" for a CSV record
    fragment: str  # part of the message
    kept: list[str]  # texts that survive with on_error="skip"
    skipped: list[str] = field(default_factory=list)  # locations of the skipped records, in report order
    options: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("malformed-json", "a.jsonl", ['{"text": "a"}', '{"text": "b"', '{"text": "c"}'],
         ":2", "invalid JSON", ["a", "c"], [":2"]),
    Case("not-an-object", "a.jsonl", ['{"text": "a"}', "[1, 2]", '"just a string"', "42", '{"text": "e"}'],
         ":2", "expected a JSON object, found list", ["a", "e"], [":2", ":3", ":4"]),
    Case("invalid-utf8", "a.jsonl", ['{"text": "a"}', b'{"text": "b\xff\xfe"}', '{"text": "c"}'],
         ":2", "not valid UTF-8 (byte 0xff", ["a", "c"], [":2"]),
    Case("latin1-without-encoding", "a.jsonl", ['{"text": "ok"}', '{"text": "café"}'.encode("latin-1")],
         ":2", "--encoding latin-1", ["ok"], [":2"]),
    Case("missing-text", "a.jsonl", ['{"text": "a"}', '{"body": "b"}', '{"text": "c"}'],
         ":2", "missing text field 'text'", ["a", "c"], [":2"]),
    Case("null-text", "a.jsonl", ['{"text": "a"}', '{"text": "b"}', '{"text": null}'],
         ":3", "missing text field 'text'", ["a", "b"], [":3"]),
    Case("number-text", "a.jsonl", ['{"text": "a"}', '{"text": 5}', '{"text": "c"}'],
         ":2", "text field 'text' is not a string", ["a", "c"], [":2"]),
    Case("non-string-text-first", "a.jsonl", ['{"text": ["x"]}', '{"text": "b"}', '{"text": {"o": 1}}'],
         ":1", "text field 'text' is not a string (found an array)", ["b"], [":1", ":3"]),
    Case("all-texts-numbers-in-chunk", "a.jsonl", ['{"text": 1}', '{"text": 2}'] + [
        json.dumps({"text": _pad(i)}) for i in range(3, 13)],
         ":1", "text field 'text' is not a string", [_pad(i) for i in range(3, 13)], [":1", ":2"], TINY),
    Case("duplicate-id", "a.jsonl",
         ['{"id": "x", "text": "a"}', '{"id": "y", "text": "b"}', '{"id": "x", "text": "c"}'],
         ":3", "duplicate id 'x'", ["a", "b"], [":3"]),
    Case("duplicate-id-across-chunks", "a.jsonl",
         [json.dumps({"id": f"id{i}" if i != 27 else "id2", "text": _pad(i)}) for i in range(1, 31)],
         ":27", "duplicate id 'id2'", [_pad(i) for i in range(1, 31) if i != 27], [":27"], TINY),
    Case("duplicate-text-without-ids", "a.jsonl", ['{"text": "same"}', '{"text": "other"}', '{"text": "same"}'],
         ":3", f"duplicate id '{md5('same')}'", ["same", "other"], [":3"]),
    Case("empty-id", "a.jsonl", ['{"id": "1", "text": "a"}', '{"id": "", "text": "b"}', '{"id": null, "text": "c"}'],
         ":2", "missing or empty id field 'id'", ["a"], [":2", ":3"]),
    Case("fractional-id", "a.jsonl", ['{"id": 1, "text": "a"}', '{"id": 2.5, "text": "b"}'],
         ":2", "id 2.5 in field 'id' is not a whole number", ["a"], [":2"]),
    Case("type-change", "a.jsonl",
         ['{"text": "a", "v": 1}', '{"text": "b", "v": {"k": 1}}', '{"text": "c", "v": 2}'],
         ":2", "field 'v' is an object here but a number in earlier records", ["a", "c"], [":2"]),
    Case("type-change-across-chunks", "a.jsonl",
         [json.dumps({"text": _pad(i), "v": i if i < 20 else {"k": i}}) for i in range(1, 23)],
         ":20", "field 'v' is an object", [_pad(i) for i in range(1, 20)], [":20", ":21", ":22"], TINY),
    Case("type-change-nested-across-chunks", "a.jsonl",
         [json.dumps({"text": _pad(i), "m": {"k": i if i != 17 else [i]}}) for i in range(1, 21)],
         ":17", "field 'm.k' is an array here but a number", [_pad(i) for i in range(1, 21) if i != 17], [":17"], TINY),
    Case("unparseable-date", "a.jsonl",
         ['{"text": "a", "t": "2024-01-01"}', '{"text": "b", "t": "yesterday"}', '{"text": "c"}'],
         ":2", "unparseable date 'yesterday' in field 't'", ["a", "c"], [":2"], {"collected_at_field": "t"}),
    Case("epoch-out-of-range", "a.jsonl", ['{"text": "a", "t": 0}', '{"text": "b", "t": 1e20}'],
         ":2", "unparseable date 1e+20", ["a"], [":2"], {"collected_at_field": "t"}),
    Case("id-field-missing", "a.jsonl", ['{"key": "k", "text": "a"}', '{"text": "b"}'],
         ":2", "missing or empty id field 'key'", ["a"], [":2"], {"id_field": "key"}),
    Case("csv-column-count", "a.csv", ["id,text,n", "1,a,1", "2,b,2,extra", "3,c,3", "4,d"],
         ": record 2", "expected 3 columns, found 4", ["a", "c"], [": record 2", ": record 4"]),
    Case("csv-column-count-after-multiline-value", "a.csv", ["id,text", '1,"two\nlines"', "2,b,oops", "3,c"],
         ": record 2", "expected 2 columns, found 3", ["two\nlines", "c"], [": record 2"]),
    Case("csv-invalid-utf8", "a.csv", ["id,text,note", "1,a,x", b"2,b\xff,y", b"3,c,z\xc3"],
         ": record 2", "field 'text': not valid UTF-8", ["a"], [": record 2", ": record 3"]),
    Case("csv-bad-row-in-a-later-block", "a.csv",
         ["id,text", *[f"{i},{_pad(i)}" for i in range(1, 30)], "30,x,y", *[f"{i},{_pad(i)}" for i in range(31, 40)]],
         ": record 30", "expected 2 columns", [_pad(i) for i in range(1, 40) if i != 30], [": record 30"], TINY),
]


def _write(tmp_path: Path, case: Case) -> Path:
    return write_lines(tmp_path / case.filename, *case.lines)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_record_fails_naming_file_and_line(ws: Workspace, tmp_path: Path, case: Case) -> None:
    path = _write(tmp_path, case)
    error = ingest_fails(ws, path, **case.options)
    assert error.location == f"{path}{case.location}"
    assert str(error).startswith(f"{path}{case.location}: ")
    assert case.fragment in str(error)
    assert "--on-error skip" in str(error)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_record_is_skipped_and_counted(ws: Workspace, tmp_path: Path, case: Case) -> None:
    path = _write(tmp_path, case)
    version = ws.ingest(path, "skipping", IngestOptions(on_error="skip", **case.options))
    assert column(version, "text") == case.kept
    stats = version.info.stats
    assert stats["skipped"] == len(case.skipped)
    assert stats["records"] == len(case.kept) == version.num_rows
    examples = stats["skipped_examples"]
    assert len(examples) == len(case.skipped)
    for location in case.skipped:
        assert sum(example.startswith(f"{path}{location}: ") for example in examples) == 1, (location, examples)
    assert tmp_entries(ws) == []


# --- whole-input problems: the same in both modes -----------------------------------------------------


@dataclass
class FileCase:
    id: str
    make: Any  # (tmp_path) -> Path
    fragment: str
    options: dict[str, Any] = field(default_factory=dict)


def _bytes(name: str, data: bytes) -> Any:
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path
    return make


def _folder_without_texts(tmp_path: Path) -> Path:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "data.bin").write_bytes(b"\x00")
    return folder


def _corrupt_parquet(tmp_path: Path) -> Path:
    path = tmp_path / "broken.parquet"
    pq.write_table(pa.table({"text": ["a"] * 100}), path)
    path.write_bytes(path.read_bytes()[:-20])
    return path


FILE_CASES = [
    FileCase("utf16-jsonl", _bytes("u.jsonl", '{"text": "a"}\n'.encode("utf-16")), "the file is UTF-16-encoded"),
    FileCase("utf16-csv", _bytes("u.csv", "id,text\n1,a\n".encode("utf-16")), "the file is UTF-16-encoded"),
    FileCase("utf16-le-bom-jsonl", _bytes("u.jsonl", b"\xff\xfe" + '{"text": "a"}\n'.encode("utf-16-le")),
             "UTF-16"),
    FileCase("empty-jsonl", _bytes("e.jsonl", b""), "file is empty"),
    FileCase("empty-csv", _bytes("e.csv", b""), "file is empty"),
    FileCase("blank-lines-only", _bytes("b.jsonl", b"\n\n  \n"), "no records to ingest"),
    FileCase("header-only-csv", _bytes("h.csv", b"id,text\n"), "no records to ingest"),
    FileCase("nonexistent", lambda tmp_path: tmp_path / "missing.jsonl", "no such file or folder"),
    FileCase("unknown-extension", _bytes("data.xml", b"<a/>"), "cannot tell the format from '.xml'"),
    FileCase("no-extension", _bytes("data", b"{}"), "cannot tell the format from 'no extension'"),
    FileCase("unknown-encoding", _bytes("a.jsonl", b'{"text": "a"}\n'), "unknown encoding 'klingon'",
             {"encoding": "klingon"}),
    FileCase("utf16-encoding-option", _bytes("a.jsonl", '{"text": "a"}\n'.encode("utf-16-le")),
             "encoding 'utf-16-le' is not supported", {"encoding": "utf-16-le"}),
    FileCase("folder-without-texts", _folder_without_texts, "neither a saved Hugging Face dataset nor .txt/.md"),
    FileCase("corrupt-parquet", _corrupt_parquet, "not a readable Parquet file"),
    FileCase("text-and-text-field", _bytes("c.jsonl", b'{"text": "t", "body": "b"}\n'),
             "input field 'text' would be overwritten", {"text_field": "body"}),
    FileCase("input-content-hash", _bytes("c.jsonl", b'{"text": "t", "content_hash": "x"}\n'),
             "input field 'content_hash' would be overwritten"),
    FileCase("input-source-and-source-option", _bytes("c.jsonl", b'{"text": "t", "source": "web"}\n'),
             "input field 'source' would be overwritten", {"source": "crawl"}),
    FileCase("id-and-other-id-field", _bytes("c.jsonl", b'{"id": "1", "key": "k", "text": "t"}\n'),
             "input field 'id' would be overwritten", {"id_field": "key"}),
    FileCase("csv-repeated-column", _bytes("r.csv", b"id,text,text\n1,a,b\n"),
             "header: column 'text' appears more than once"),
    FileCase("id-is-an-object", _bytes("o.jsonl", b'{"id": {"x": 1}, "text": "a"}\n'),
             "id field 'id' is not a string or whole number (struct<x: int64>)"),
    FileCase("collected-at-field-in-no-record", _bytes("t.jsonl", b'{"text": "a", "date": "2024-01-01"}\n'),
             "no record has the field 'when' given as --collected-at-field (fields: date, text)",
             {"collected_at_field": "when"}),
    FileCase("csv-text-column-missing", _bytes("m.csv", b"id,body\n1,a\n2,b\n"), "text field 'text' is missing"),
    FileCase("parquet-text-not-string", lambda tmp_path: _parquet(tmp_path, {"text": [1, 2]}),
             "text field 'text' is not a string (int64)"),
]


def _parquet(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table(data), path)
    return path


@pytest.mark.parametrize("on_error", ["fail", "skip"])
@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.id)
def test_bad_input_fails_in_both_modes(ws: Workspace, tmp_path: Path, case: FileCase, on_error: str) -> None:
    path = case.make(tmp_path)
    error = ingest_fails(ws, path, on_error=on_error, **case.options)
    assert str(error).startswith(str(path)), str(error)
    assert case.fragment in str(error)


def test_field_conflict_in_a_later_chunk_names_its_line(ws: Workspace, tmp_path: Path) -> None:
    records = [{"body": _pad(i)} for i in range(1, 30)]
    records[24]["text"] = "a second text field"
    path = write_jsonl(tmp_path / "late.jsonl", records)
    error = ingest_fails(ws, path, text_field="body", **TINY)
    assert error.location == f"{path}:25"
    assert "input field 'text' would be overwritten" in str(error)


def test_skip_mode_with_every_record_bad_publishes_nothing(ws: Workspace, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "bad.jsonl", "{", '{"text": null}', "[]")
    error = ingest_fails(ws, path, on_error="skip")
    assert str(error) == (f"{path}: no records to ingest (3 bad records skipped; the first: "
                          f"{path}:1: invalid JSON: unexpected end of data: line 1 column 2 (char 1))")


def test_latin1_file_decodes_with_the_encoding_option(ws: Workspace, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "latin.jsonl", '{"text": "ok"}', '{"text": "café"}'.encode("latin-1"))
    assert column(ws.ingest(path, "latin", IngestOptions(encoding="latin-1")), "text") == ["ok", "café"]


def test_text_folder_bad_file_is_named(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "texts"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("fine")
    (folder / "sub" / "bad.txt").write_bytes(b"caf\xe9")
    (folder / "sub" / "c.md").write_text("also fine")
    error = ingest_fails(ws, folder)
    assert error.location == str(folder / "sub" / "bad.txt")
    assert "not valid UTF-8" in str(error)

    version = ws.ingest(folder, "texts", IngestOptions(on_error="skip"))
    assert column(version, "path") == ["a.txt", "sub/c.md"]
    assert version.info.stats["skipped"] == 1


def test_hf_unknown_split_is_named(ws: Workspace, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    part = datasets.Dataset.from_dict({"text": ["a"]})
    datasets.DatasetDict({"train": part, "test": part}).save_to_disk(str(tmp_path / "dd"))
    error = ingest_fails(ws, tmp_path / "dd")
    assert "pick a split with --split (available: train, test)" in str(error)
    error = ingest_fails(ws, tmp_path / "dd", split="validation")
    assert "no split 'validation'" in str(error)

    part.save_to_disk(str(tmp_path / "plain"))
    error = ingest_fails(ws, tmp_path / "plain", split="train")
    assert "has no splits" in str(error)


def test_invalid_dataset_name(ws: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "a"}])
    with pytest.raises(DatatrainerError, match="invalid dataset name"):
        ws.ingest(path, "no spaces/allowed")
    assert ws.datasets.names() == ["existing"]
    assert tmp_entries(ws) == []


def test_error_is_input_error_subclass_of_datatrainer_error(ws: Workspace, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", "{")
    with pytest.raises(DatatrainerError) as caught:
        ws.ingest(path, "x")
    assert isinstance(caught.value, InputError)
