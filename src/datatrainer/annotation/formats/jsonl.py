"""JSON Lines: one annotated document per line, the lossless format.

``{"id": str, "text": str, "spans": [{"start": int, "end": int, "label": str}], "labels": [str], "meta": {}}``.
Reading checks every field and names the file, line and field of the first problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from datatrainer.annotation.formats.base import WriteReport, read_bytes, staged
from datatrainer.annotation.spans import AnnotatedDoc, Span, check_doc
from datatrainer.errors import DatatrainerError, InputError


def doc_to_json(doc: AnnotatedDoc) -> dict[str, Any]:
    return {"id": doc.id, "text": doc.text,
            "spans": [{"start": s.start, "end": s.end, "label": s.label} for s in doc.spans],
            "labels": list(doc.labels), "meta": doc.meta}


def doc_from_json(record: Any, location: str) -> AnnotatedDoc:
    """The document in a parsed JSON object, or an `InputError` naming ``location`` and the bad field."""
    if not isinstance(record, dict):
        raise InputError(location, f"expected a JSON object, got {type(record).__name__}")
    doc_id, text = record.get("id"), record.get("text")
    if not isinstance(doc_id, str | int) or isinstance(doc_id, bool):
        raise InputError(location, "field 'id': must be a string or an integer")
    if not isinstance(text, str):
        raise InputError(location, "field 'text': must be a string")
    spans = _list(record, "spans", location)
    labels = _list(record, "labels", location)
    meta = record.get("meta", {})
    if not isinstance(meta, dict):
        raise InputError(location, "field 'meta': must be an object")
    parsed: list[Span] = []
    for index, span in enumerate(spans):
        where = f"field 'spans[{index}]'"
        if not isinstance(span, dict):
            raise InputError(location, f"{where}: must be an object with start, end and label")
        start, end, label = span.get("start"), span.get("end"), span.get("label")
        if type(start) is not int or type(end) is not int:
            raise InputError(location, f"{where}: start and end must be integers")
        if not isinstance(label, str):
            raise InputError(location, f"{where}: label must be a string")
        parsed.append(Span(start, end, label))
    for index, label in enumerate(labels):
        if not isinstance(label, str):
            raise InputError(location, f"field 'labels[{index}]': must be a string")
    doc = AnnotatedDoc(str(doc_id), text, tuple(parsed), tuple(labels), meta)
    check_doc(doc, location)
    return doc


def write_jsonl(docs: list[AnnotatedDoc], path: Path, overwrite: bool = False) -> WriteReport:
    for doc in docs:
        check_doc(doc, str(path))
    with staged(path, overwrite) as temporary, temporary.open("wb") as out:
        for doc in docs:
            try:
                out.write(orjson.dumps(doc_to_json(doc)) + b"\n")
            except TypeError as exc:
                raise DatatrainerError(f"{path}: doc {doc.id!r}: meta cannot be written as JSON ({exc})") from None
    return WriteReport(path, len(docs), sum(len(doc.spans) for doc in docs))


def read_jsonl(path: Path) -> list[AnnotatedDoc]:
    docs: list[AnnotatedDoc] = []
    for number, line in enumerate(read_bytes(path).split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}", f"invalid JSON ({exc})") from None
        docs.append(doc_from_json(record, f"{path}:{number}"))
    return docs


def _list(record: dict[str, Any], key: str, location: str) -> list[Any]:
    value = record.get(key, [])
    if not isinstance(value, list):
        raise InputError(location, f"field {key!r}: must be a list")
    return value

