"""Pick the reader for an input: a file, a folder, a glob of shards or an `s3://` URL, by `--format`, else
by extension (compression suffixes looked through) and, where the name does not tell, by content."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from datatrainer.errors import InputError
from datatrainer.io.chunks import Reader
from datatrainer.io.compressed import MAGIC_BYTES, strip_compression_suffix
from datatrainer.io.csv import CsvReader
from datatrainer.io.encoding import check_encoding
from datatrainer.io.fs import InputFile, expand_inputs, has_glob
from datatrainer.io.hf import HFDatasetReader, is_saved_hf_dataset
from datatrainer.io.jsonl import JsonlReader
from datatrainer.io.parquet import ParquetReader
from datatrainer.io.shards import ShardedReader
from datatrainer.io.textdir import TextFolderReader, text_files
from datatrainer.io.warc import WARC_MAGIC, WarcReader
from datatrainer.store.location import is_remote

InputFormat = Literal["auto", "jsonl", "csv", "parquet", "text", "hf", "warc"]
_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "csv",
              ".parquet": "parquet", ".pq": "parquet", ".txt": "text", ".md": "text", ".warc": "warc",
              ".wet": "warc"}
SHARD_FORMATS = ("jsonl", "csv", "parquet", "warc")  # formats one file of which is one shard


def _suffix(name: str) -> str:
    inner = strip_compression_suffix(name)
    dot = inner.rfind(".")
    return inner[dot:].lower() if dot > 0 else ""


def format_of(file: InputFile) -> str:
    """A file's format from its name (`a.jsonl.zst` is JSONL); a WARC file is also known by its content."""
    fmt = _BY_SUFFIX.get(_suffix(file.name))
    if fmt is not None:
        return fmt
    with file.open() as handle:
        head = handle.read(max(len(WARC_MAGIC), MAGIC_BYTES))
    if head.startswith(WARC_MAGIC):
        return "warc"
    suffix = _suffix(file.name)
    raise InputError(file.url, f"cannot tell the format from {suffix or 'no extension'!r}; "
                               "pass --format jsonl|csv|parquet|text|hf|warc")


def open_file_reader(file: InputFile, fmt: str, *, text_field: str, id_field: str | None, encoding: str,
                     chunk_bytes: int) -> Reader:
    """The reader of one file (one shard) in a known format."""
    if fmt in ("jsonl", "csv"):
        check_encoding(file.url, encoding, line_based=True)
    if file.size == 0:
        raise InputError(file.url, "file is empty")
    if fmt == "jsonl":
        return JsonlReader(file, encoding, chunk_bytes, text_field)
    if fmt == "csv":
        delimiter = "\t" if _suffix(file.name) == ".tsv" else ","
        return CsvReader(file, encoding, chunk_bytes, [c for c in (text_field, id_field or "id") if c], delimiter)
    if fmt == "parquet":
        return ParquetReader(file)
    if fmt == "warc":
        return WarcReader(file, chunk_bytes)
    if fmt == "text" and not file.is_remote:
        path = Path(file.url)
        return TextFolderReader(path.parent, [path], text_field, encoding)
    raise InputError(file.url, f"--format {fmt} cannot read a single {'remote ' if file.is_remote else ''}file")


def _is_shard(name: str) -> bool:
    return _BY_SUFFIX.get(_suffix(name)) in SHARD_FORMATS


def _may_be(fmt: str) -> Callable[[str], bool]:
    """With --format given, a folder's files in that format: named so, or named nothing known (Spark's
    `part-00000`); a README.txt beside the shards is left out."""
    return lambda name: _BY_SUFFIX.get(_suffix(name), fmt) == fmt


def open_reader(path: str | Path, fmt: InputFormat, *, text_field: str, id_field: str | None, encoding: str,
                chunk_bytes: int, split: str | None, threads: int = 2) -> Reader:
    """Open an input for streaming; missing and empty inputs are reported here, before any work starts.

    `path` may be a file, a folder (a saved HF dataset, text files, or shards), a glob such as
    `shards/*.jsonl.zst`, or any of these on object storage (`s3://bucket/crawl/*.warc.gz`). Several shards
    are read `threads` at a time, in path order.
    """
    spec = str(path)
    local = Path(spec)
    if not is_remote(spec) and not has_glob(spec):
        if not local.exists():
            raise InputError(spec, "no such file or folder")
        if local.is_dir():
            if fmt == "hf" or (fmt == "auto" and is_saved_hf_dataset(local)):
                return HFDatasetReader(local, split)
            if fmt == "text" or (fmt == "auto" and text_files(local)):
                check_encoding(spec, encoding, line_based=False)
                texts = text_files(local)
                if not texts:
                    raise InputError(spec, "no .txt or .md files found")
                return TextFolderReader(local, texts, text_field, encoding)
        elif fmt == "hf":
            raise InputError(spec, "--format hf needs a folder saved with datasets' save_to_disk")
        elif fmt == "text" or (fmt == "auto" and _BY_SUFFIX.get(_suffix(local.name)) == "text"):
            check_encoding(spec, encoding, line_based=False)
            return TextFolderReader(local.parent, [local], text_field, encoding)
    if fmt in ("hf", "text"):
        raise InputError(spec, f"--format {fmt} reads local files only")
    if fmt == "auto" and local.is_dir() and not any(_is_shard(p.name) for p in local.rglob("*") if p.is_file()):
        raise InputError(spec, "folder holds neither a saved Hugging Face dataset nor .txt/.md files nor shards "
                               "(.jsonl, .csv, .parquet, .warc, compressed or not)")
    files = expand_inputs(spec, _is_shard if fmt == "auto" else _may_be(fmt))

    def open_one(file: InputFile) -> Reader:
        return open_file_reader(file, format_of(file) if fmt == "auto" else fmt, text_field=text_field,
                                id_field=id_field, encoding=encoding, chunk_bytes=chunk_bytes)

    if len(files) == 1 and not (has_glob(spec) or local.is_dir() or spec.endswith("/")):
        return open_one(files[0])
    return ShardedReader(spec, files, open_one, ahead=threads)
