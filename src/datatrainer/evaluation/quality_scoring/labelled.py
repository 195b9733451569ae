"""Labelled examples as JSONL: the benchmark's own file, or a user's labelled data in the same form.

One object per line: `text` (string), `label` (1 or true = good, 0 or false = low quality), and optionally
`family` (the kind of text: held out together in evaluation; default: "good" or "junk" by label) and `source`
(the document the text came from: confidence intervals resample sources; default: the line itself).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from datatrainer.errors import InputError


@dataclass(frozen=True)
class Example:
    text: str
    label: int
    family: str
    source: str


def write_examples(examples: Sequence[Example], path: Path, header: dict[str, object] | None = None) -> None:
    """Atomic write; a `header` (settings, provenance) goes on the first line as `{"_header": ...}`."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        if header is not None:
            handle.write(orjson.dumps({"_header": header}) + b"\n")
        for example in examples:
            handle.write(orjson.dumps(asdict(example)) + b"\n")
    os.replace(tmp, path)


def read_header(path: Path) -> dict[str, object]:
    with open(path, "rb") as handle:
        first = orjson.loads(handle.readline() or b"{}")
    return dict(first.get("_header", {})) if isinstance(first, dict) else {}


def read_examples(path: Path) -> list[Example]:
    """The examples of a labelled JSONL file; a bad line, a missing label or a single class is a one-line
    `InputError` naming the file and line."""
    examples = []
    try:
        lines = path.read_bytes().splitlines()
    except OSError as error:
        raise InputError(str(path), f"cannot read the labelled file ({error.strerror})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise InputError(f"{path}:{number}", "not a JSON object") from None
        if not isinstance(record, dict):
            raise InputError(f"{path}:{number}", "not a JSON object")
        if "_header" in record:
            continue
        examples.append(_example(record, path, number))
    labels = {example.label for example in examples}
    if len(labels) < 2:
        only = "no examples" if not labels else f"only label {labels.pop()} ({len(examples)} examples)"
        raise InputError(str(path), f"a labelled file needs both good (1) and low-quality (0) examples; it has "
                                    f"{only}")
    return examples


def _example(record: dict[str, object], path: Path, number: int) -> Example:
    text, label = record.get("text"), record.get("label")
    if not isinstance(text, str):
        raise InputError(f"{path}:{number}", "field 'text' is missing or not a string")
    if label is None:
        raise InputError(f"{path}:{number}", "field 'label' is missing (1 = good, 0 = low quality)")
    if label not in (0, 1):  # 0, 1, true, false (and 0.0, 1.0)
        raise InputError(f"{path}:{number}", f"field 'label' is {label!r}; use 1 (good) or 0 (low quality)")
    value = int(bool(label))
    family = record.get("family") or ("good" if value else "junk")
    source = record.get("source") or f"line-{number}"
    return Example(text, value, str(family), str(source))
