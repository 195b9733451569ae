"""Input files wherever they are: local paths, `s3://` URLs, folders, prefixes and globs of many shards.

`expand_inputs` turns what the user typed into a sorted list of `InputFile`s (picklable: a URL and a size,
so a Ray task can be handed one shard); `InputFile.open` gives the decompressed bytes, whatever the
compression (see `datatrainer.io.compressed`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, cast

from pyarrow import fs as pafs

from datatrainer.errors import InputError
from datatrainer.io.compressed import (
    MAGIC_BYTES,
    Compression,
    DecompressingReader,
    compression_of,
    strip_compression_suffix,
)
from datatrainer.store.location import filesystem_for, is_remote, storage_error

_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class InputFile:
    """One input file: a local path or an `s3://bucket/key` URL, with its size in (compressed) bytes."""

    url: str
    size: int

    @cached_property
    def _located(self) -> tuple[pafs.FileSystem, str]:
        return filesystem_for(self.url)

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def inner_name(self) -> str:
        """The name without a compression suffix: `a.jsonl.zst` -> `a.jsonl`."""
        return strip_compression_suffix(self.name)

    @property
    def is_remote(self) -> bool:
        return is_remote(self.url)

    def open_raw(self) -> BinaryIO:
        """The stored bytes, not decompressed."""
        if not self.is_remote:
            try:
                return open(self.url, "rb")
            except OSError as exc:
                raise InputError(self.url, exc.strerror or str(exc)) from None
        filesystem, path = self._located
        try:
            return cast(BinaryIO, filesystem.open_input_stream(path, compression=None))
        except OSError as exc:
            raise storage_error(self.url, exc) from None

    @cached_property
    def compression(self) -> Compression | None:
        """Decided by the magic bytes, so a mislabelled file is still read as what it is."""
        with self.open_raw() as handle:
            return compression_of(handle.read(MAGIC_BYTES))

    @property
    def seekable(self) -> bool:
        """Plain local files can be re-read at an offset (the JSONL reader counts lines only on errors)."""
        return not self.is_remote and self.compression is None

    def open(self) -> BinaryIO:
        """The decompressed bytes as a stream; `read` failures of a truncated shard are one-line errors."""
        compression = self.compression
        if compression is None and not self.is_remote:
            return self.open_raw()
        filesystem, path = self._located
        try:
            # A local file opens random-access, so progress can follow the compressed bytes consumed;
            # object storage streams sequentially (one GET, not one ranged GET per read).
            raw = (filesystem.open_input_stream(path, compression=None) if self.is_remote
                   else filesystem.open_input_file(path))
        except OSError as exc:
            raise storage_error(self.url, exc) from None
        return cast(BinaryIO, DecompressingReader(self.url, raw, compression))


def has_glob(spec: str) -> bool:
    return bool(_GLOB_CHARS.search(spec))


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Shell glob semantics on `/`-separated paths: `*` and `?` stay within a folder, `**` crosses them."""
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1:end].replace("\\", "\\\\")
                out.append("[^" + body[1:] + "]" if body.startswith("!") else f"[{body}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out) + r"\Z")


def expand_inputs(spec: str | Path, keep: Callable[[str], bool] | None = None) -> list[InputFile]:
    """The files `spec` names, sorted by path: one file, every file under a folder or prefix, or those
    matching a glob (`shards/*.jsonl.zst`, `s3://bucket/crawl/**/*.warc.gz`).

    `keep`, when given, is a predicate on a file's name choosing which files of a folder count (a glob
    already says which). Hidden files and Hadoop/Spark markers (`.part-0.crc`, `_SUCCESS`) never count.
    """
    text = str(spec)
    filesystem, path = filesystem_for(text)
    remote = is_remote(text)
    prefix = (lambda p: f"s3://{p}") if remote else (lambda p: p)
    if has_glob(text):
        parts = path.split("/")
        fixed = next(i for i, part in enumerate(parts) if _GLOB_CHARS.search(part))
        base = "/".join(parts[:fixed]) or "/"
        pattern = _glob_regex("/".join(parts[fixed:]))
        entries = _list(filesystem, base, text)
        cut = len(base.rstrip("/")) + 1
        found = [InputFile(prefix(e.path), e.size or 0) for e in entries
                 if e.is_file and pattern.match(e.path[cut:])]
        if not found:
            raise InputError(text, "no files match the pattern")
        return sorted(found, key=lambda f: f.url)
    try:
        info = filesystem.get_file_info(path)
    except OSError as exc:
        raise storage_error(text, exc) from None
    if info.type == pafs.FileType.File:
        return [InputFile(prefix(path) if remote else text, info.size or 0)]
    if info.type == pafs.FileType.NotFound and not remote:
        raise InputError(text, "no such file or folder")
    entries = _list(filesystem, path, text)  # a folder, or on object storage a prefix
    chosen = [InputFile(prefix(e.path), e.size or 0) for e in entries if e.is_file
              and not e.base_name.startswith((".", "_")) and (keep is None or keep(e.base_name))]
    if not chosen:
        raise InputError(text, "no such file or folder" if not entries else "no input files found in it")
    return sorted(chosen, key=lambda f: f.url)


def _list(filesystem: pafs.FileSystem, base: str, location: str) -> list[pafs.FileInfo]:
    try:
        entries: list[pafs.FileInfo] = filesystem.get_file_info(
            pafs.FileSelector(base, allow_not_found=True, recursive=True))
    except OSError as exc:
        raise storage_error(location, exc) from None
    return entries

