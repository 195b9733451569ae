"""Crawl-scale inputs: compressed shards, globs and folders of shards, WARC/WET files.

Inputs are written with independent libraries (gzip, bz2, zstandard, warcio) and the results checked
against the records those files hold, read back with the same independent libraries.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from datatrainer.errors import InputError
from datatrainer.io.errors import ErrorSink
from datatrainer.io.fs import InputFile, expand_inputs
from datatrainer.io.ingest import IngestOptions
from datatrainer.io.shards import Shard, read_shard
from datatrainer.io.warc import WarcReader
from datatrainer.workspace import Workspace
from tests.io.ingest_helpers import TINY, column, rows

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
}


def _records(start: int, count: int) -> list[dict[str, Any]]:
    return [{"id": f"doc-{i}", "text": f"record number {i} " + "word " * (i % 7), "n": i}
            for i in range(start, start + count)]


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_compressed_jsonl_reads_like_the_plain_file(sqlite_workspace: Workspace, tmp_path: Path,
                                                    suffix: str) -> None:
    records = _records(0, 300)
    path = tmp_path / f"shard.jsonl{suffix}"
    path.write_bytes(COMPRESSORS[suffix](_jsonl(records)))
    version = sqlite_workspace.ingest(path, "c", IngestOptions(**TINY))
    got = version.to_table(["id", "text", "n"]).to_pylist()
    assert got == records  # many 1 KiB chunks cut across the decompressed stream, nothing lost or doubled
    assert version.info.params["path"] == str(path)


def test_magic_bytes_decide_not_the_name(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    records = _records(0, 20)
    gz_named_jsonl = tmp_path / "export.jsonl"  # gzip data behind a plain name, with --format jsonl too
    gz_named_jsonl.write_bytes(gzip.compress(_jsonl(records)))
    for options in (IngestOptions(), IngestOptions(format="jsonl")):
        assert column(sqlite_workspace.ingest(gz_named_jsonl, "m", options), "id") == [r["id"] for r in records]
    csv_gz = tmp_path / "table.csv.gz"
    csv_gz.write_bytes(gzip.compress(b"id,text\n" + b"".join(f"r{i},row {i}\n".encode() for i in range(50))))
    assert column(sqlite_workspace.ingest(csv_gz, "csv"), "text") == [f"row {i}" for i in range(50)]
    json_zst = tmp_path / "data.json.zst"
    json_zst.write_bytes(COMPRESSORS[".zst"](_jsonl(records)))
    assert column(sqlite_workspace.ingest(json_zst, "j"), "id") == [r["id"] for r in records]


def test_truncated_and_corrupt_shards_fail_in_one_line_naming_the_file(sqlite_workspace: Workspace,
                                                                       tmp_path: Path) -> None:
    data = _jsonl(_records(0, 2000))
    for suffix, compress in COMPRESSORS.items():
        blob = compress(data)
        truncated = tmp_path / f"cut.jsonl{suffix}"
        truncated.write_bytes(blob[: len(blob) // 2])
        with pytest.raises(InputError, match=r"truncated or corrupt \w+ data after [\d,]+ decompressed bytes"
                           ) as caught:
            sqlite_workspace.ingest(truncated, "t", IngestOptions(on_error="skip"))
        assert str(caught.value).startswith(str(truncated)) and "\n" not in str(caught.value)
    lines = data.split(b"\n")
    lines[1234] = b'{"id": "broken", "text": '  # a bad record deep inside a compressed shard
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(b"\n".join(lines)))
    with pytest.raises(InputError, match="invalid JSON") as caught:
        sqlite_workspace.ingest(bad, "b", IngestOptions(**TINY))
    assert str(caught.value).startswith(f"{bad}:1235:")  # the exact line, counted in decompressed bytes
    assert sqlite_workspace.datasets.names() == []


def _write_shards(folder: Path) -> list[dict[str, Any]]:
    """Seven shards, mixed compressions, one duplicate id across shards; returns the records in path order."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: list[dict[str, Any]] = []
    suffixes = [".gz", ".zst", ".bz2", ".gz", ".zst", ".gz", ".bz2"]
    for number, suffix in enumerate(suffixes):
        records = _records(number * 40, 40)
        (folder / f"part-{number:02d}.jsonl{suffix}").write_bytes(COMPRESSORS[suffix](_jsonl(records)))
        expected.extend(records)
    (folder / "README.txt").write_text("not a shard")  # ignored: a glob or the shard suffixes choose
    return expected


def test_globs_and_folders_of_shards_read_in_path_order(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    expected = _write_shards(tmp_path / "crawl" / "2024")
    by_glob = sqlite_workspace.ingest(str(tmp_path / "crawl" / "*" / "part-*.jsonl.*"), "g", IngestOptions(**TINY))
    assert by_glob.to_table(["id", "text", "n"]).to_pylist() == expected
    by_folder = sqlite_workspace.ingest(tmp_path / "crawl", "f", IngestOptions(format="jsonl", threads=3))
    assert column(by_folder, "id") == [r["id"] for r in expected]
    only_gz = sqlite_workspace.ingest(str(tmp_path / "crawl/**/*.gz"), "z")
    gz_files = sorted(glob.glob(str(tmp_path / "crawl/**/*.gz"), recursive=True))
    lines = [line for f in gz_files for line in gzip.decompress(Path(f).read_bytes()).splitlines()]
    reference = [json.loads(line)["id"] for line in lines]
    assert column(only_gz, "id") == reference
    with pytest.raises(InputError, match="no files match"):
        sqlite_workspace.ingest(str(tmp_path / "crawl/*.parquet"), "none")


def test_a_duplicate_across_shards_keeps_the_first_shard_s_record(sqlite_workspace: Workspace,
                                                                   tmp_path: Path) -> None:
    first, second = _records(0, 30), _records(20, 30)  # ids doc-20..doc-29 in both
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(_jsonl(first)))
    (tmp_path / "b.jsonl.zst").write_bytes(COMPRESSORS[".zst"](_jsonl(second)))
    version = sqlite_workspace.ingest(str(tmp_path / "*.jsonl.*"), "d", IngestOptions(on_error="skip"))
    assert column(version, "id") == [f"doc-{i}" for i in range(50)]
    assert version.info.stats["skipped"] == 10
    assert version.info.stats["skipped_examples"][0].startswith(f"{tmp_path / 'b.jsonl.zst'}:1")


def test_read_shard_is_a_picklable_unit_of_work(tmp_path: Path) -> None:
    records = _records(0, 100)
    path = tmp_path / "s.jsonl.zst"
    path.write_bytes(COMPRESSORS[".zst"](_jsonl(records)))
    [file] = expand_inputs(path)
    shard = pickle.loads(pickle.dumps(Shard(file, "jsonl", chunk_bytes=1024)))
    function = pickle.loads(pickle.dumps(read_shard))
    table = pa.Table.from_batches(list(function(shard)))
    assert table.select(["id", "text", "n"]).to_pylist() == records


# --- WARC / WET ---------------------------------------------------------------------------------------------

def _html_pages() -> list[Path]:
    """Real web pages shipped with statsmodels (a dev dependency): the Scottish Office dataset viewer."""
    import statsmodels

    pages = sorted(Path(statsmodels.__file__).parent.glob("datasets/*/src/*.html"))
    assert len(pages) >= 4
    return pages


def _longest_passage(html: bytes) -> str:
    """The page's longest run of text, found with the standard library's HTML parser (an independent
    reference): main-text extraction must keep it."""
    from html.parser import HTMLParser

    class Texts(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.texts: list[str] = []
            self.skipping = False

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            self.skipping = tag in ("script", "style")

        def handle_data(self, data: str) -> None:
            if not self.skipping:
                self.texts.append(_squash(data))

    parser = Texts()
    parser.feed(html.decode("latin-1"))
    return max(parser.texts, key=len)


def _squash(text: str) -> str:
    """Whitespace collapsed and only ASCII kept: the pages' charsets are a mixed bag (one holds a UTF-8
    replacement character in a Latin-1 page), and which decoding is right is not what is tested here."""
    return " ".join(text.encode("ascii", errors="ignore").decode().split())


def _write_warc(path: Path, pages: list[Path]) -> list[dict[str, str]]:
    """A Common Crawl-like WARC: warcinfo, request+response per page, an image, a WET conversion record."""
    expected = []
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=path.suffix == ".gz")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "datatrainer tests"}))
        for number, page in enumerate(pages):
            url = f"http://example.org/scotland/{number}"
            request = io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")
            writer.write_record(writer.create_warc_record(url, "request", payload=request))
            html = page.read_bytes()
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=iso-8859-1")],
                                       protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=headers)
            writer.write_record(record)
            expected.append({"url": url, "warc_record_id": record.rec_headers.get_header("WARC-Record-ID"),
                             "date": record.rec_headers.get_header("WARC-Date"), "passage": _longest_passage(html)})
        image = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record("http://example.org/logo.png", "response",
                                                      payload=io.BytesIO(b"\x89PNG...."), http_headers=image))
        wet = writer.create_warc_record("http://example.org/plain", "conversion", warc_content_type="text/plain",
                                        payload=io.BytesIO(b"A page already reduced to its text."))
        writer.write_record(wet)
        expected.append({"url": "http://example.org/plain", "warc_record_id": wet.rec_headers.get_header(
            "WARC-Record-ID"), "date": wet.rec_headers.get_header("WARC-Date"),
            "passage": "A page already reduced to its text."})
    return expected


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc"])
def test_warc_pages_become_records_with_url_date_and_record_id(sqlite_workspace: Workspace, tmp_path: Path,
                                                                 name: str) -> None:
    pages = _html_pages()
    expected = _write_warc(tmp_path / name, pages)
    version = sqlite_workspace.ingest(tmp_path / name, "web", IngestOptions(id_field="warc_record_id",
                                                                             collected_at_field="date"))
    got = rows(version)
    assert [r["url"] for r in got] == [e["url"] for e in expected]  # the image, request, warcinfo: skipped
    assert [r["id"] for r in got] == [e["warc_record_id"] for e in expected]
    assert all(e["passage"] in _squash(r["text"]) for r, e in zip(got, expected, strict=True))
    sizes = [page.stat().st_size for page in pages]
    assert all("<td" not in r["text"].lower() and len(r["text"]) < size for r, size in zip(got, sizes, strict=False))
    assert got[0]["collected_at"] is not None


def test_fastwarc_and_warcio_read_the_same_records(tmp_path: Path) -> None:
    _write_warc(tmp_path / "a.warc.gz", _html_pages())
    source = expand_inputs(tmp_path / "a.warc.gz")[0]
    tables = []
    for parser in ("fastwarc", "warcio"):
        chunks = WarcReader(source, 1 << 20, parser).chunks()
        tables.append(pa.concat_tables([chunk.load(ErrorSink("fail")).table for chunk in chunks]))
    assert tables[0].equals(tables[1])


def test_truncated_warc_fails_naming_the_file_and_record(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    _write_warc(tmp_path / "full.warc.gz", _html_pages())
    data = (tmp_path / "full.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(InputError, match=r"cut.warc.gz: after record \d+: truncated or corrupt gzip") as caught:
        sqlite_workspace.ingest(cut, "cut")
    assert "\n" not in str(caught.value)


def test_input_file_pickles_without_opening_anything(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl.bz2"
    path.write_bytes(bz2.compress(b'{"text": "a"}\n'))
    file = pickle.loads(pickle.dumps(InputFile(str(path), path.stat().st_size)))
    assert file.compression == "bz2" and file.open().read() == b'{"text": "a"}\n'


def test_warc_and_compressed_shards_on_object_storage(sqlite_workspace: Workspace, tmp_path: Path,
                                                      s3_bucket: str) -> None:
    from datatrainer.store.location import filesystem_for

    filesystem, _ = filesystem_for(f"s3://{s3_bucket}")
    expected = _write_warc(tmp_path / "plain.warc", _html_pages()[:3])
    _write_warc(tmp_path / "packed.warc.gz", _html_pages()[:3])
    for name in ("plain.warc", "packed.warc.gz"):
        with filesystem.open_output_stream(f"{s3_bucket}/cc/{name}", compression=None) as out:
            out.write((tmp_path / name).read_bytes())
    # A prefix: every shard under it. The same pages twice: their record ids differ, so both are kept.
    version = sqlite_workspace.ingest(f"s3://{s3_bucket}/cc/", "cc", IngestOptions(id_field="warc_record_id"))
    urls = [e["url"] for e in expected]
    assert column(version, "url") == urls + urls  # packed.warc.gz sorts before plain.warc
    assert version.info.params["path"] == f"s3://{s3_bucket}/cc/"
