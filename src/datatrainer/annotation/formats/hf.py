"""Hugging Face ``datasets`` on disk (``save_to_disk``; load with ``datasets.load_from_disk``).

Columns: ``id`` and ``text`` strings; ``spans`` a list of ``{start, end, label}`` with ``label`` a ClassLabel
over the span labels in the export; ``labels`` a list of ClassLabel over the document labels; ``meta`` a JSON
string (Arrow needs one type per column, meta differs per record). Lossless. Reading also takes the older
``Sequence`` layout (a dict of lists) and plain string labels, for datasets made elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from datatrainer.annotation.formats.base import WriteReport, staged
from datatrainer.annotation.spans import AnnotatedDoc, Span, check_doc
from datatrainer.errors import DatatrainerError, InputError


def write_hf(docs: list[AnnotatedDoc], path: Path, overwrite: bool = False) -> WriteReport:
    if not docs:  # `save_to_disk` writes no shard for zero rows, and `load_from_disk` then fails
        raise DatatrainerError(f"{path}: no documents to write; an empty saved dataset cannot be loaded back")
    datasets = _datasets()
    span_labels = sorted({span.label for doc in docs for span in doc.spans})
    doc_labels = sorted({label for doc in docs for label in doc.labels})
    features = datasets.Features({
        "id": datasets.Value("string"),
        "text": datasets.Value("string"),
        "spans": datasets.List({"start": datasets.Value("int32"), "end": datasets.Value("int32"),
                                "label": datasets.ClassLabel(names=span_labels)}),
        "labels": datasets.List(datasets.ClassLabel(names=doc_labels)),
        "meta": datasets.Value("string"),
    })
    for doc in docs:
        check_doc(doc, str(path))
    columns = {
        "id": [doc.id for doc in docs],
        "text": [doc.text for doc in docs],
        "spans": [[{"start": s.start, "end": s.end, "label": s.label} for s in doc.spans] for doc in docs],
        "labels": [list(doc.labels) for doc in docs],
        "meta": [_meta_json(doc, path) for doc in docs],
    }
    with _quiet(datasets), staged(path, overwrite) as temporary:
        datasets.Dataset.from_dict(columns, features=features).save_to_disk(str(temporary))
    return WriteReport(path, len(docs), sum(len(doc.spans) for doc in docs))


def read_hf(path: Path) -> list[AnnotatedDoc]:
    datasets = _datasets()
    try:
        with _quiet(datasets):
            dataset = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(path), f"not a dataset saved with save_to_disk ({exc})") from None
    if not isinstance(dataset, datasets.Dataset):
        raise InputError(str(path), f"holds several splits ({', '.join(dataset)}); give the folder of one split")
    missing = {"id", "text"} - set(dataset.column_names)
    if missing:
        raise InputError(str(path), f"has no {' or '.join(sorted(missing))} column")
    span_names = _names(dataset.features.get("spans"), "label")
    label_names = _names(dataset.features.get("labels"), None)
    docs = []
    for index, row in enumerate(dataset):
        location = f"{path}: row {index}"
        doc = AnnotatedDoc(str(row["id"]), row["text"],
                           tuple(Span(start, end, _name(label, span_names))
                                 for start, end, label in _span_rows(row.get("spans"))),
                           tuple(_name(label, label_names) for label in row.get("labels") or ()),
                           _meta(row.get("meta"), location))
        check_doc(doc, location)
        docs.append(doc)
    return docs


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise DatatrainerError("the HF format needs the 'hf' extra: pip install 'datatrainer[hf]'") from None
    return datasets


@contextmanager
def _quiet(datasets: Any) -> Iterator[None]:
    """No `datasets` progress bars: a small annotation export finishes before they are worth drawing."""
    were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if were_on:
            datasets.enable_progress_bars()


def _meta_json(doc: AnnotatedDoc, path: Path) -> str:
    try:
        return orjson.dumps(doc.meta).decode()
    except TypeError as exc:
        raise DatatrainerError(f"{path}: doc {doc.id!r}: meta cannot be written as JSON ({exc})") from None


def _meta(value: Any, location: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    try:
        parsed = orjson.loads(value) if isinstance(value, str) else value
    except orjson.JSONDecodeError:
        raise InputError(location, "column 'meta' is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise InputError(location, "column 'meta' must hold a JSON object")
    return parsed


def _names(feature: Any, key: str | None) -> list[str] | None:
    """ClassLabel names of a list column's items (or of their ``key`` field); None for plain strings."""
    inner = getattr(feature, "feature", None)
    if isinstance(inner, dict) and key is not None:
        inner = inner.get(key)
    elif isinstance(feature, dict) and key is not None:  # the older Sequence layout: a dict of lists
        inner = getattr(feature.get(key), "feature", None)
    names = getattr(inner, "names", None)
    return list(names) if names is not None else None


def _name(value: Any, names: list[str] | None) -> str:
    return names[value] if names is not None else str(value)


def _span_rows(value: Any) -> Iterator[tuple[int, int, Any]]:
    if isinstance(value, dict):  # the older Sequence layout: {"start": [...], "end": [...], "label": [...]}
        yield from zip(value["start"], value["end"], value["label"], strict=True)
    else:
        for span in value or ():
            yield span["start"], span["end"], span["label"]
