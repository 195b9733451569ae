"""Annotation files in and out: one `write`/`read` pair for every format, for the CLI and the server.

| format         | path          | holds                                                                     |
|----------------|---------------|---------------------------------------------------------------------------|
| `jsonl`        | a file        | everything (lossless)                                                     |
| `hf`           | a folder      | everything; spans and labels as ClassLabel features (`load_from_disk`)    |
| `conll`        | a file        | spans on token boundaries, no overlaps; no document labels or meta        |
| `spacy`        | a `.spacy` file | spans on token boundaries (ents, overlaps in spans["sc"]), labels as cats |
| `label-studio` | a `.json` file  | everything; several annotators and predictions per task                  |
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from datatrainer.annotation.formats.base import WriteReport
from datatrainer.annotation.formats.conll import read_conll, write_conll
from datatrainer.annotation.formats.hf import read_hf, write_hf
from datatrainer.annotation.formats.jsonl import read_jsonl, write_jsonl
from datatrainer.annotation.formats.label_studio import read_label_studio, write_label_studio
from datatrainer.annotation.formats.spacy_docbin import read_docbin, write_docbin
from datatrainer.annotation.formats.tokens import TokenizerName
from datatrainer.annotation.spans import AnnotatedDoc
from datatrainer.errors import DatatrainerError

__all__ = ["FORMATS", "WriteReport", "read", "write"]

FORMATS: tuple[str, ...] = ("jsonl", "hf", "conll", "spacy", "label-studio")
_READERS: dict[str, Callable[[Path], list[AnnotatedDoc]]] = {
    "jsonl": read_jsonl, "hf": read_hf, "conll": read_conll, "spacy": read_docbin, "label-studio": read_label_studio,
}


def write(docs: Iterable[AnnotatedDoc], fmt: str, path: Path, overwrite: bool = False,
          tokenizer: TokenizerName = "simple") -> WriteReport:
    """Write ``docs`` to ``path`` in ``fmt``, all or nothing; the report counts every span the format changed.

    ``tokenizer`` is used by `conll` only (spaCy files always use spaCy's own tokenizer).
    """
    listed = list(docs)
    _check(fmt)
    if fmt == "conll":
        return write_conll(listed, path, overwrite, tokenizer)
    writers = {"jsonl": write_jsonl, "hf": write_hf, "spacy": write_docbin, "label-studio": write_label_studio}
    return writers[fmt](listed, path, overwrite)


def read(path: Path, fmt: str) -> list[AnnotatedDoc]:
    """The documents in ``path``; bad input raises a one-line `InputError` naming the file and record."""
    _check(fmt)
    return _READERS[fmt](path)


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise DatatrainerError(f"unknown annotation format {fmt!r}; choose one of {', '.join(FORMATS)}")
