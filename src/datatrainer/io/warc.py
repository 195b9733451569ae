"""WARC and WET files (Common Crawl): one record per web page, its main text extracted from the HTML.

As DataTrove and NeMo Curator do: `response` records carrying HTML are reduced to their main content (with
Resiliparse when installed, else trafilatura), WET `conversion` records are already text; request, metadata
and warcinfo records are skipped. Each record keeps where it came from: `url` (WARC-Target-URI), `date`
(WARC-Date) and `warc_record_id` (WARC-Record-ID). FastWARC parses the archive when installed, warcio
otherwise. Records are gathered into chunks of about `chunk_bytes` of payload on the reading thread; text
extraction, the costly part, runs in `load` on the pipeline's worker threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import pyarrow as pa

from datatrainer.errors import DatatrainerError, InputError
from datatrainer.io.chunks import LoadedChunk
from datatrainer.io.errors import ErrorSink
from datatrainer.io.fs import InputFile

URL, DATE, RECORD_ID = "url", "date", "warc_record_id"
FIELDS = ["text", URL, DATE, RECORD_ID]
_HTML_TYPES = ("text/html", "application/xhtml")
WARC_MAGIC = b"WARC/"
_NEEDS_INGEST_EXTRA = "reading WARC files needs the 'ingest' extra: pip install 'datatrainer[ingest]'"


@dataclass
class _Record:
    kind: str  # "html" or "text"
    payload: bytes
    url: str | None
    date: str | None
    record_id: str | None
    number: int  # 1-based position among the archive's records
    offset: int | None  # byte offset in the (decompressed) archive, where the parser tells it


def html_to_text() -> Callable[[bytes], str]:
    """The main-text extractor: Resiliparse (fast, C++), else trafilatura."""
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        def resiliparse_text(html: bytes) -> str:
            return str(extract_plain_text(HTMLTree.parse_from_bytes(html), main_content=True))

        return resiliparse_text
    except ImportError:
        pass
    try:
        import trafilatura  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise DatatrainerError(_NEEDS_INGEST_EXTRA) from None

    def trafilatura_text(html: bytes) -> str:
        return str(trafilatura.extract(html.decode("utf-8", errors="replace")) or "")

    return trafilatura_text


def _iter_fastwarc(stream: BinaryIO) -> Iterator[tuple[str, dict[str, str], str | None, bytes, int | None]]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    types = WarcRecordType.response | WarcRecordType.conversion | WarcRecordType.resource
    for record in ArchiveIterator(stream, record_types=types, parse_http=True, stream_detect=False):
        kind = str(record.record_type).rsplit(".", 1)[-1]
        headers = {key: value for key, value in record.headers.items()}
        content_type = record.http_content_type if record.is_http else headers.get("Content-Type")
        yield str(kind), headers, content_type, record.reader.read(), int(record.stream_pos)


def _iter_warcio(stream: BinaryIO) -> Iterator[tuple[str, dict[str, str], str | None, bytes, int | None]]:
    from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]

    iterator = ArchiveIterator(stream)
    for record in iterator:
        if record.rec_type not in ("response", "conversion", "resource"):
            continue
        headers = dict(record.rec_headers.headers)
        content_type = (record.http_headers.get_header("Content-Type") if record.http_headers is not None
                        else headers.get("Content-Type"))
        yield record.rec_type, headers, content_type, record.content_stream().read(), iterator.offset


def _parser(prefer: str | None) -> Callable[[BinaryIO], Iterator[tuple[str, dict[str, str], str | None, bytes,
                                                                        int | None]]]:
    if prefer != "warcio":
        try:
            import fastwarc.warc  # noqa: F401

            return _iter_fastwarc
        except ImportError:
            pass
    try:
        import warcio  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        raise DatatrainerError(_NEEDS_INGEST_EXTRA) from None
    return _iter_warcio


@dataclass
class WarcChunk:
    path: str
    records: list[_Record]
    size: int

    def load(self, sink: ErrorSink, earlier: pa.Schema | None = None) -> LoadedChunk:
        extract = html_to_text()
        rows: dict[str, list[Any]] = {name: [] for name in FIELDS}
        kept: list[_Record] = []
        for record in self.records:
            if record.kind == "html":
                try:
                    text = extract(record.payload)
                except Exception as exc:  # a page the extractor chokes on is one bad record
                    sink(_locate(self.path, record), f"cannot extract text from the HTML: {exc}")
                    continue
            else:
                text = record.payload.decode("utf-8", errors="replace")
            if not text.strip():
                continue  # a page with no main text (a redirect, a script shell) is not a document
            for name, value in zip(FIELDS, (text, record.url, record.date, record.record_id), strict=True):
                rows[name].append(value)
            kept.append(record)
        table = pa.table({name: pa.array(values, pa.string()) for name, values in rows.items()})
        return LoadedChunk(table, lambda row: _locate(self.path, kept[row]))


def _locate(path: str, record: _Record) -> str:
    where = f" at offset {record.offset}" if record.offset is not None else ""
    return f"{path}: record {record.number}{where}"


class WarcReader:
    """Streams a WARC/WET file (plain or compressed) as chunks of page records."""

    unit = "bytes"

    def __init__(self, source: InputFile, chunk_bytes: int, parser: str | None = None) -> None:
        self.path = source.url
        self._source = source
        self._chunk_bytes = chunk_bytes
        self._iterate = _parser(parser)
        self.total = source.size

    def field_names(self) -> list[str]:
        return list(FIELDS)

    def chunks(self) -> Iterator[WarcChunk]:
        held: list[_Record] = []
        held_bytes = 0
        number = 0
        consumed = 0  # stored bytes already counted as progress

        def emit(stream: BinaryIO) -> WarcChunk:
            nonlocal consumed, held, held_bytes
            position = getattr(stream, "raw_position", None)
            done = int(position) if position is not None else consumed + held_bytes
            chunk = WarcChunk(self.path, held, max(0, done - consumed))
            consumed, held, held_bytes = done, [], 0
            return chunk

        with self._source.open() as stream:
            try:
                for kind, headers, content_type, payload, offset in self._iterate(stream):
                    number += 1
                    is_html = any(t in (content_type or "").lower() for t in _HTML_TYPES)
                    if kind == "response" and not is_html:
                        continue  # images, PDFs, robots.txt: not text this reader can clean
                    if kind == "resource" and not (is_html or (content_type or "").startswith("text/")):
                        continue
                    held.append(_Record("html" if is_html else "text", payload, headers.get("WARC-Target-URI"),
                                        headers.get("WARC-Date"), headers.get("WARC-Record-ID"), number, offset))
                    held_bytes += len(payload)
                    if held_bytes >= self._chunk_bytes:
                        yield emit(stream)
            except InputError as exc:  # a truncated or corrupt compressed archive
                raise InputError(f"{self.path}: after record {number}", exc.detail) from None
            except (OSError, ValueError) as exc:
                raise InputError(f"{self.path}: after record {number}", f"not a readable WARC file: {exc}"
                                 ) from None
            if held:
                yield emit(stream)
        if number == 0:
            raise InputError(self.path, "no WARC records found (is it a WARC/WET file?)")
