"""Bad annotation files: one-line errors naming the file, the record and the field; failed writes change nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import datasets
import pytest

from datatrainer.annotation import formats
from datatrainer.annotation.spans import AnnotatedDoc, Span
from datatrainer.errors import DatatrainerError, InputError


def fails(path: Path, fmt: str, *fragments: str) -> str:
    with pytest.raises(DatatrainerError) as caught:
        formats.read(path, fmt)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize(("line", "fragments"), [
    ('{"id": "a", "text": "hi"}\n{"id": "b", "text": "hi"', (":2", "invalid JSON")),
    ('["not", "an", "object"]', (":1", "expected a JSON object")),
    ('{"id": "a"}', (":1", "'text'")),
    ('{"id": "a", "text": "hi", "spans": [{"start": 0, "end": 9, "label": "X"}]}', (":1", "doc 'a'", "[0, 9)")),
    ('{"id": "a", "text": "hi", "spans": [{"start": "0", "end": 1, "label": "X"}]}', ("spans[0]", "integers")),
    ('{"id": "a", "text": "hi", "labels": [1]}', ("labels[0]",)),
    ('{"id": "a", "text": "hi", "meta": []}', ("'meta'",)),
])
def test_jsonl_errors_name_line_and_field(tmp_path: Path, line: str, fragments: tuple[str, ...]) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    fails(path, "jsonl", *fragments)


def label_studio(tmp_path: Path, tasks: object) -> Path:
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks))
    return path


def span(start: object, end: object, text: str | None = None, labels: tuple[str, ...] = ("PER",)) -> dict[str, object]:
    value: dict[str, object] = {"start": start, "end": end, "labels": list(labels)}
    if text is not None:
        value["text"] = text
    return {"type": "labels", "from_name": "label", "to_name": "text", "value": value}


@pytest.mark.parametrize(("tasks", "fragments"), [
    ({"not": "a list"}, ("task 0", "data: must be a JSON object")),
    ([1], ("task 0", "must be a JSON object")),
    ([{"id": 1, "data": {"a": "x", "b": "y"}}], ("task 0", "data.text")),
    ([{"data": {"text": "x"}}], ("task 0", "record id")),
    ([{"id": 1, "data": {"text": "Ann"}}, {"id": 2, "data": {"text": "Bob"}, "annotations": [
        {"result": [span(0, 3), span(0, 9)]}]}], ("task 1", "annotations[0].result[1].value", "[0, 9)")),
    ([{"id": 1, "data": {"text": "Ann"}, "annotations": [{"result": [span(0.0, 3)]}]}],
     ("annotations[0].result[0].value.start/end", "integers")),
    ([{"id": 1, "data": {"text": "Ann"}, "predictions": [{"result": [span(0, 3, "Bob")]}]}],
     ("predictions[0].result[0].value.text", "'Bob'", "'Ann'")),
    ([{"id": 1, "data": {"text": "Ann"}, "annotations": [{"result": [span(0, 3, labels=())]}]}],
     ("value.labels", "non-empty list")),
    ([{"id": 1, "data": {"text": "Ann"}, "annotations": [{"result": "none"}]}], ("annotations[0].result",)),
    ([{"id": 1, "data": {"text": "Ann"}, "annotations": {}}], ("annotations: must be a list",)),
])
def test_label_studio_errors_name_task_and_field(tmp_path: Path, tasks: object, fragments: tuple[str, ...]) -> None:
    fails(label_studio(tmp_path, tasks), "label-studio", *fragments)


def test_label_studio_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "ls.json"
    path.write_text("[{")
    fails(path, "label-studio", "invalid JSON")


def test_conll_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.conll"
    path.write_text("John\tB-PER\nSmith\tX-PER\n")
    fails(path, "conll", ":2", "'X-PER'")
    path.write_text("John\tB-PER\nSmith\n")
    fails(path, "conll", ":2", "a token and a tag")
    path.write_text("# text = John Smith\nJohn\tB-PER\nSmyth\tI-PER\n")
    fails(path, "conll", ":3", "'Smyth'", "# text")
    path.write_bytes(b"J\xffohn\tO\n")
    fails(path, "conll", "not UTF-8")


def test_conll_refuses_labels_with_whitespace(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape("label 'NEW YORK' cannot be a BIO tag type")):
        formats.write([AnnotatedDoc("d", "New York", (Span(0, 8, "NEW YORK"),))], "conll", tmp_path / "x.conll")
    assert not list(tmp_path.iterdir())


def test_binary_formats_name_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.spacy"
    garbage.write_bytes(b"\x00\x01 not a docbin")
    fails(garbage, "spacy", "not a spaCy DocBin")
    (tmp_path / "empty").mkdir()
    fails(tmp_path / "empty", "hf", "not a dataset")
    split = datasets.Dataset.from_dict({"id": ["a"], "text": ["x"]})
    datasets.DatasetDict({"train": split, "test": split}).save_to_disk(str(tmp_path / "splits"))
    fails(tmp_path / "splits", "hf", "several splits (train, test)")
    datasets.Dataset.from_dict({"text": ["x"]}).save_to_disk(str(tmp_path / "no-id"))
    fails(tmp_path / "no-id", "hf", "no id column")
    fails(tmp_path / "missing.jsonl", "jsonl", "cannot read")


def test_unknown_format_is_named() -> None:
    with pytest.raises(DatatrainerError, match="unknown annotation format 'xml'; choose one of jsonl, hf"):
        formats.read(Path("x"), "xml")


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_invalid_docs_are_refused_before_anything_is_written(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "out"
    formats.write([AnnotatedDoc("old", "kept")], fmt, path)
    bad = [AnnotatedDoc("a", "fine"), AnnotatedDoc("b", "short", (Span(2, 40, "X"),))]
    with pytest.raises(InputError, match=r"doc 'b'.*\[2, 40\)"):
        formats.write(bad, fmt, path, overwrite=True)
    assert [doc.id for doc in formats.read(path, fmt)] == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_unserialisable_meta_fails_without_touching_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    formats.write([AnnotatedDoc("old", "kept")], "jsonl", path)
    before = path.read_bytes()
    with pytest.raises(DatatrainerError, match="doc 'b': meta cannot be written as JSON"):
        formats.write([AnnotatedDoc("a", "x"), AnnotatedDoc("b", "y", meta={"when": object()})], "jsonl", path,
                      overwrite=True)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
