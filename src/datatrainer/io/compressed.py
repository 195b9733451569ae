"""Compressed inputs: gzip, bzip2 and zstd, recognised by their magic bytes (the extension only names them).

Crawl dumps come as `.jsonl.gz`, `.jsonl.zst`, `.json.bz2` shards; a file is decompressed as a stream by
Arrow's codecs (multi-member gzip and multi-frame zstd included), so memory stays bounded whatever its size.
The magic bytes decide, so `--format jsonl` on a gzip file works and a mislabelled file is read as what it
is. A truncated or corrupt shard fails with one line naming the file and how far it got.
"""

from __future__ import annotations

import io
from typing import Any, Literal, cast

import pyarrow as pa

from datatrainer.errors import InputError

Compression = Literal["gzip", "bz2", "zstd"]
_MAGIC: list[tuple[bytes, Compression]] = [(b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd")]
_SUFFIXES: dict[str, Compression] = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd",
                                     ".zstd": "zstd"}
MAGIC_BYTES = 4


def compression_of(head: bytes) -> Compression | None:
    """The compression whose magic number starts `head`, or None for plain data."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def strip_compression_suffix(name: str) -> str:
    """`shard.jsonl.gz` -> `shard.jsonl`: the suffix left names the format inside."""
    lower = name.lower()
    for suffix in _SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


class DecompressingReader(io.RawIOBase):
    """A file-like view of decompressed bytes (or stored bytes, with `compression` None) that turns read
    failures into one-line input errors and knows its position.

    `raw_position` is how many compressed bytes were consumed so far (for progress in input bytes).
    """

    def __init__(self, location: str, raw: pa.NativeFile, compression: Compression | None) -> None:
        super().__init__()
        self._location = location
        self._raw = raw
        # Without compression this only adds `tell` (parsers such as FastWARC's need it; Arrow's
        # object-storage streams do not have it).
        self._stream = raw if compression is None else pa.CompressedInputStream(raw, compression)
        self._compression = compression or "stored"
        self._offset = 0

    @property
    def raw_position(self) -> int | None:
        """Compressed bytes consumed so far, where the underlying file can tell (local files can)."""
        try:
            return int(self._raw.tell())
        except OSError:
            return None

    def read(self, size: int = -1) -> bytes:
        try:
            data = cast(bytes, self._stream.read(None if size < 0 else size))
        except OSError as exc:
            if self._compression == "stored":
                raise InputError(self._location, f"read failed after {self._offset:,} bytes ({exc})") from None
            raise InputError(self._location, f"truncated or corrupt {self._compression} data after "
                                             f"{self._offset:,} decompressed bytes ({exc})") from None
        self._offset += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        """Position in the decompressed bytes (WARC parsers report record offsets with it)."""
        return self._offset

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
            self._raw.close()
        super().close()

