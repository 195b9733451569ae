"""Pick the reader for a path: by `--format`, else by extension or folder contents."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from datatrainer.errors import InputError
from datatrainer.io.chunks import Reader
from datatrainer.io.csv import CsvReader
from datatrainer.io.encoding import check_encoding
from datatrainer.io.hf import HFDatasetReader, is_saved_hf_dataset
from datatrainer.io.jsonl import JsonlReader
from datatrainer.io.parquet import ParquetReader
from datatrainer.io.textdir import TextFolderReader, text_files

InputFormat = Literal["auto", "jsonl", "csv", "parquet", "text", "hf"]
_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "csv",
              ".parquet": "parquet", ".pq": "parquet", ".txt": "text", ".md": "text"}


def detect_format(path: Path) -> str:
    if path.is_dir():
        if is_saved_hf_dataset(path):
            return "hf"
        if text_files(path):
            return "text"
        raise InputError(str(path), "folder holds neither a saved Hugging Face dataset nor .txt/.md files")
    fmt = _BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise InputError(str(path), f"cannot tell the format from {path.suffix or 'no extension'!r}; "
                                    "pass --format jsonl|csv|parquet|text|hf")
    return fmt


def open_reader(path: Path, fmt: InputFormat, *, text_field: str, id_field: str | None, encoding: str,
                chunk_bytes: int, split: str | None) -> Reader:
    """Open `path` for streaming; missing and empty inputs are reported here, before any work starts."""
    if not path.exists():
        raise InputError(str(path), "no such file or folder")
    chosen = detect_format(path) if fmt == "auto" else fmt
    if chosen in ("jsonl", "csv", "text"):
        check_encoding(str(path), encoding, line_based=chosen != "text")
    if chosen == "hf":
        return HFDatasetReader(path, split)
    if chosen == "text":
        files = text_files(path) if path.is_dir() else [path]
        if not files:
            raise InputError(str(path), "no .txt or .md files found")
        folder = path if path.is_dir() else path.parent
        return TextFolderReader(folder, files, text_field, encoding)
    if path.is_dir():
        raise InputError(str(path), f"is a folder; --format {chosen} needs a file")
    if path.stat().st_size == 0:
        raise InputError(str(path), "file is empty")
    if chosen == "jsonl":
        return JsonlReader(path, encoding, chunk_bytes, text_field)
    if chosen == "csv":
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        return CsvReader(path, encoding, chunk_bytes, [c for c in (text_field, id_field or "id") if c], delimiter)
    return ParquetReader(path)
