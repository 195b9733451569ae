"""Every input format round-trips into a version: values, types, nesting, order, ids and provenance.

Expected values come from independent readers (json, csv, pyarrow.parquet, hashlib), never from datatrainer.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datatrainer.io.ingest import IngestOptions
from datatrainer.store.schema import TIMESTAMP_TYPE
from datatrainer.workspace import Workspace
from tests.io.ingest_helpers import TINY, column, md5, rows, write_csv, write_jsonl

CORE = ["id", "text", "content_hash"]

RECORDS: list[dict[str, Any]] = [
    {"id": "doc-1", "text": "Hello, world.", "lang": "en", "score": 0.5, "tokens": 3, "ok": True,
     "meta": {"url": "https://example.org/1", "tags": ["a", "b"], "depth": {"level": 1}}, "spans": [[0, 5]]},
    {"id": "doc-2", "text": "Grüße 👋\nzweite Zeile \"zitiert\"", "lang": "de", "score": -1.25, "tokens": 40,
     "ok": False, "meta": {"url": None, "tags": [], "depth": {"level": 2}}, "spans": []},
    {"id": "doc-3", "text": "", "lang": None, "score": 3.0, "tokens": 0, "ok": None,
     "meta": {"url": "u", "tags": ["c"], "depth": {"level": None}}, "spans": [[1, 2], [3, 4]]},
]


def _extra(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in ("id", "text")}


def test_jsonl_round_trip(workspace: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", RECORDS)
    version = workspace.ingest(path, "docs")

    expected = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    got = rows(version)
    assert [row["id"] for row in got] == [record["id"] for record in expected]
    assert [row["text"] for row in got] == [record["text"] for record in expected]
    assert [row["content_hash"] for row in got] == [md5(record["text"]) for record in expected]
    assert [{k: v for k, v in row.items() if k not in CORE} for row in got] == [_extra(r) for r in expected]

    schema = version.schema
    assert schema.names[:3] == CORE
    assert schema.field("score").type == pa.float64()
    assert schema.field("tokens").type == pa.int64()
    assert schema.field("ok").type == pa.bool_()
    assert pa.types.is_struct(schema.field("meta").type)
    assert schema.field("meta").type.field("tags").type == pa.list_(pa.string())
    assert schema.field("spans").type == pa.list_(pa.list_(pa.int64()))
    assert version.num_rows == 3
    assert version.info.stats["records"] == 3
    assert version.info.stats["skipped"] == 0
    assert version.info.params["path"] == str(path.resolve())

    # The Parquet parts on disk hold the same records, readable without datatrainer.
    on_disk = pa.concat_tables(pq.read_table(part) for part in version.files)
    assert on_disk.column("text").to_pylist() == [record["text"] for record in expected]


def test_csv_round_trip(workspace: Workspace, tmp_path: Path) -> None:
    header = ["id", "text", "count", "ratio", "note"]
    data = [
        ["007", 'multi\nline, with "quotes"', "1", "0.5", "plain"],
        ["8", "Grüße 👋", "22", "2", ""],
        ["x9", "", "", "-1.5e3", "last, one"],
    ]
    path = write_csv(tmp_path / "docs.csv", header, data)
    version = workspace.ingest(path, "docs")

    with open(path, newline="", encoding="utf-8") as handle:
        expected = list(csv.DictReader(handle))
    got = rows(version)
    assert [row["id"] for row in got] == [r["id"] for r in expected] == ["007", "8", "x9"]  # ids stay strings
    assert [row["text"] for row in got] == [r["text"] for r in expected]
    assert [row["content_hash"] for row in got] == [md5(r["text"]) for r in expected]
    assert [row["count"] for row in got] == [int(r["count"]) if r["count"] else None for r in expected]
    assert [row["ratio"] for row in got] == [float(r["ratio"]) for r in expected]
    assert [row["note"] for row in got] == [r["note"] for r in expected]
    assert version.schema.field("count").type == pa.int64()
    assert version.schema.field("ratio").type == pa.float64()
    assert version.schema.field("note").type == pa.string()


def test_tsv_is_split_on_tabs(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "docs.tsv", ["id", "text"], [["1", "a, b, c"], ["2", "d"]], delimiter="\t")
    version = sqlite_workspace.ingest(path, "docs")
    assert column(version, "text") == ["a, b, c", "d"]
    assert column(version, "id") == ["1", "2"]


def test_parquet_round_trip(workspace: Workspace, tmp_path: Path) -> None:
    table = pa.table({
        "id": pa.array([10, 11, 12], pa.int64()),
        "text": ["first", "sécond 😀", "third\nline"],
        "meta": pa.array([{"a": 1, "b": ["x"]}, {"a": None, "b": []}, None],
                         pa.struct([("a", pa.int32()), ("b", pa.list_(pa.string()))])),
        "when": pa.array([datetime(2024, 1, 2, 3, 4, 5), None, datetime(1999, 12, 31)], pa.timestamp("ms")),
        "day": pa.array([date(2024, 1, 2), date(2000, 2, 29), None], pa.date32()),
        "flag": [True, False, None],
    })
    path = tmp_path / "docs.parquet"
    pq.write_table(table, path, row_group_size=1)
    version = workspace.ingest(path, "docs")

    source = pq.read_table(path)
    assert column(version, "id") == [str(v) for v in source["id"].to_pylist()]
    assert column(version, "text") == source["text"].to_pylist()
    assert column(version, "content_hash") == [md5(t) for t in source["text"].to_pylist()]
    for name in ("meta", "when", "day", "flag"):
        assert version.schema.field(name).type == source.schema.field(name).type
        assert column(version, name) == source[name].to_pylist()


def test_parquet_many_batches_keep_order(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    n = 70_000  # more than one read batch (65,536 rows)
    path = tmp_path / "many.parquet"
    pq.write_table(pa.table({"text": [f"t{i}" for i in range(n)], "n": list(range(n))}), path,
                   row_group_size=10_000)
    version = sqlite_workspace.ingest(path, "many", IngestOptions(part_bytes=256 << 10))
    assert len(version.files) > 1
    assert column(version, "n") == list(range(n))
    assert column(version, "id")[:2] == [md5("t0"), md5("t1")]


def test_id_sources(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    records = [{"id": "given-1", "key": "k1", "text": "one"}, {"id": "given-2", "key": "k2", "text": "two"}]
    path = write_jsonl(tmp_path / "ids.jsonl", records)
    given = sqlite_workspace.ingest(path, "given")
    assert column(given, "id") == ["given-1", "given-2"]

    no_ids = write_jsonl(tmp_path / "noids.jsonl", [{"key": r["key"], "text": r["text"]} for r in records])
    other = sqlite_workspace.ingest(no_ids, "other", IngestOptions(id_field="key"))
    assert column(other, "id") == ["k1", "k2"]
    assert "key" not in other.schema.names  # consumed as the id

    hashed = sqlite_workspace.ingest(no_ids, "hashed")
    assert column(hashed, "id") == [md5("one"), md5("two")]
    assert column(hashed, "key") == ["k1", "k2"]

    numeric = write_jsonl(tmp_path / "numeric.jsonl", [{"id": 1, "text": "a"}, {"id": 2.0, "text": "b"}])
    assert column(sqlite_workspace.ingest(numeric, "numeric"), "id") == ["1", "2"]


def test_source_and_license_constants(workspace: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", [{"text": "a"}, {"text": "b"}])
    version = workspace.ingest(path, "docs", IngestOptions(source="crawl-2024", license="CC-BY-4.0"))
    assert column(version, "source") == ["crawl-2024", "crawl-2024"]
    assert column(version, "license") == ["CC-BY-4.0", "CC-BY-4.0"]
    assert version.schema.field("source").type == pa.string()

    plain = workspace.ingest(path, "plain")
    assert "source" not in plain.schema.names
    assert "license" not in plain.schema.names


def test_collected_at_from_iso_strings_dates_and_epochs(workspace: Workspace, tmp_path: Path) -> None:
    values = ["2024-03-01T12:30:00+02:00", "2024-03-01T12:30:00Z", "2024-03-01 08:00:00",
              "2023-12-31", "2024-02-29T23:59:59.123456-05:30", None]
    path = write_jsonl(tmp_path / "dated.jsonl", [{"text": f"t{i}", "when": v} for i, v in enumerate(values)])
    version = workspace.ingest(path, "dated", IngestOptions(collected_at_field="when"))

    expected = [
        datetime.fromisoformat("2024-03-01T12:30:00+02:00").astimezone(UTC),
        datetime(2024, 3, 1, 12, 30, tzinfo=UTC),
        datetime(2024, 3, 1, 8, 0, tzinfo=UTC),  # no offset: UTC
        datetime(2023, 12, 31, tzinfo=UTC),
        datetime.fromisoformat("2024-02-29T23:59:59.123456-05:30").astimezone(UTC),
        None,
    ]
    assert column(version, "collected_at") == expected
    assert version.schema.field("collected_at").type == TIMESTAMP_TYPE
    assert column(version, "when") == values  # the raw field is kept as it was


def test_collected_at_epoch_ints_and_parquet_timestamps(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "epochs.jsonl", [{"text": "a", "t": 0}, {"text": "b", "t": 1_700_000_000}])
    version = sqlite_workspace.ingest(path, "epochs", IngestOptions(collected_at_field="t"))
    assert column(version, "collected_at") == [datetime(1970, 1, 1, tzinfo=UTC),
                                               datetime.fromtimestamp(1_700_000_000, UTC)]
    assert column(version, "t") == [0, 1_700_000_000]

    path = write_jsonl(tmp_path / "floats.jsonl", [{"text": "a", "t": 1_700_000_000.25}, {"text": "b", "t": 1}])
    version = sqlite_workspace.ingest(path, "float-epochs", IngestOptions(collected_at_field="t"))
    assert column(version, "collected_at") == [datetime.fromtimestamp(1_700_000_000.25, UTC),
                                               datetime.fromtimestamp(1, UTC)]

    table = pa.table({"text": ["a", "b"],
                      "naive": pa.array([datetime(2024, 5, 6, 7, 8, 9), None], pa.timestamp("s")),
                      "day": pa.array([date(2020, 1, 2), date(2021, 3, 4)], pa.date32())})
    pq.write_table(table, tmp_path / "ts.parquet")
    naive = sqlite_workspace.ingest(tmp_path / "ts.parquet", "naive", IngestOptions(collected_at_field="naive"))
    assert column(naive, "collected_at") == [datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), None]
    days = sqlite_workspace.ingest(tmp_path / "ts.parquet", "days", IngestOptions(collected_at_field="day"))
    assert column(days, "collected_at") == [datetime(2020, 1, 2, tzinfo=UTC), datetime(2021, 3, 4, tzinfo=UTC)]


def test_date_like_strings_stay_strings(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    """JSON has no date type: a text or field that looks like a date is still the string it was."""
    records = [{"text": "2024-01-01", "published": "2024-01-01T10:00:00+02:00", "meta": {"at": "2020-02-02"},
                "history": ["2021-01-01 00:00:00"]},
               {"text": "1999-12-31T23:59:59", "published": "2024-01-02", "meta": {"at": "2020-02-03"},
                "history": []}]
    path = write_jsonl(tmp_path / "dates.jsonl", records)
    version = sqlite_workspace.ingest(path, "dates")
    assert [{k: v for k, v in row.items() if k not in ("id", "content_hash")} for row in rows(version)] == records
    assert version.schema.field("published").type == pa.string()


def _evolving_records() -> list[dict[str, Any]]:
    """Fields change shape only after the first few chunks, the way real exports drift."""
    records: list[dict[str, Any]] = []
    for i in range(120):
        late = i >= 60
        record: dict[str, Any] = {
            "id": f"r{i:03d}",
            "text": f"record {i} " + "lorem ipsum " * (i % 7),
            "maybe": f"value {i}" if late else None,  # null early, string later
            "number": i + 0.5 if late else i,  # int early, float later
            "nested": {"a": i, "b": f"b{i}"} if late else {"a": i},  # struct gains a field
            "items": [f"x{i}"] if late else [],  # empty lists early
        }
        if i >= 100:
            record["appears_late"] = {"deep": [i, i + 1]}
        records.append(record)
    return records


def test_multi_chunk_schema_evolution_matches_single_chunk(workspace: Workspace, tmp_path: Path) -> None:
    records = _evolving_records()
    path = write_jsonl(tmp_path / "evolving.jsonl", records)
    single = workspace.ingest(path, "single")
    many = workspace.ingest(path, "many", IngestOptions(**TINY))

    assert len(single.files) == 1
    assert len(many.files) > 5
    assert many.to_table().equals(single.to_table())
    assert many.schema.equals(single.schema)

    schema = many.schema
    assert schema.field("maybe").type == pa.string()
    assert schema.field("number").type == pa.float64()
    assert schema.field("items").type == pa.list_(pa.string())
    assert schema.field("nested").type == pa.struct([("a", pa.int64()), ("b", pa.string())])
    assert schema.field("appears_late").type == pa.struct([("deep", pa.list_(pa.int64()))])

    got = rows(many)
    assert [row["id"] for row in got] == [r["id"] for r in records]
    for row, record in zip(got, records, strict=True):
        assert row["maybe"] == record["maybe"]
        assert row["number"] == record["number"]
        assert row["nested"] == {"a": record["nested"]["a"], "b": record["nested"].get("b")}
        assert row["items"] == record["items"]
        assert row["appears_late"] == record.get("appears_late")
        assert row["content_hash"] == md5(record["text"])


@pytest.mark.parametrize("threads", [1, 2])
def test_jsonl_chunk_sizes_do_not_change_the_result(sqlite_workspace: Workspace, tmp_path: Path,
                                                    threads: int) -> None:
    records = [{"text": f"line {i} " + "é" * (i % 50), "n": i, "tags": ["t"] * (i % 3)} for i in range(400)]
    path = write_jsonl(tmp_path / "sizes.jsonl", records)
    reference = sqlite_workspace.ingest(path, "reference").to_table()
    for chunk_bytes in (1024, 1500, 4099):
        options = IngestOptions(chunk_bytes=chunk_bytes, part_bytes=2048, threads=threads)
        version = sqlite_workspace.ingest(path, "chunked", options)
        assert version.to_table().equals(reference), chunk_bytes
        assert len(version.files) > 1


def test_csv_types_widen_across_blocks(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    """Arrow infers CSV types from the first block; later blocks must not fail or change the result."""
    data = []
    for i in range(300):
        late = i >= 250
        data.append([f"id{i}", f"text number {i}", f"{i}.5" if late else str(i), f"note {i}" if late else "",
                     str(i)])
    path = write_csv(tmp_path / "wide.csv", ["id", "text", "amount", "note", "count"], data)
    single = sqlite_workspace.ingest(path, "single")
    many = sqlite_workspace.ingest(path, "many", IngestOptions(**TINY))
    assert len(many.files) > 1
    assert many.to_table().equals(single.to_table())
    assert many.schema.field("amount").type == pa.float64()
    assert many.schema.field("note").type == pa.string()
    assert many.schema.field("count").type == pa.int64()
    assert column(many, "amount") == [float(row[2]) for row in data]
    assert column(many, "note") == [row[3] for row in data]
    assert column(many, "id") == [row[0] for row in data]


def test_csv_chunks_keep_order_and_values(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    data = [[str(i), f"row {i}\nwith a newline, and a comma", str(i * 2)] for i in range(500)]
    path = write_csv(tmp_path / "rows.csv", ["id", "text", "double"], data)
    version = sqlite_workspace.ingest(path, "rows", IngestOptions(**TINY))
    assert column(version, "id") == [row[0] for row in data]
    assert column(version, "text") == [row[1] for row in data]
    assert column(version, "double") == [int(row[2]) for row in data]


def test_jsonl_line_endings_blank_lines_and_bom(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "a\\r\\nb"}\r\n\r\n   \n{"text": "c"}\r\n{"text": "no newline"}')
    version = sqlite_workspace.ingest(path, "crlf")
    assert column(version, "text") == ["a\r\nb", "c", "no newline"]


def test_latin1_input_is_decoded(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    jsonl = tmp_path / "latin.jsonl"
    jsonl.write_bytes('{"text": "café crème", "who": "Zoë"}\n'.encode("latin-1"))
    version = sqlite_workspace.ingest(jsonl, "latin-jsonl", IngestOptions(encoding="latin-1"))
    assert rows(version) == [{"id": md5("café crème"), "text": "café crème", "content_hash": md5("café crème"),
                              "who": "Zoë"}]

    csv_path = tmp_path / "latin.csv"
    csv_path.write_bytes("id,text\n1,naïve façade\n".encode("latin-1"))
    version = sqlite_workspace.ingest(csv_path, "latin-csv", IngestOptions(encoding="latin-1"))
    assert column(version, "text") == ["naïve façade"]


def test_format_option_overrides_the_extension(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "records.log", [{"text": "a"}])
    version = sqlite_workspace.ingest(path, "forced", IngestOptions(format="jsonl"))
    assert column(version, "text") == ["a"]


def test_text_folder(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    files = {
        "b.txt": "second file\n",
        "a.md": "# Title\n\nBody with ümlauts 🙂",
        "sub/c.txt": "nested",
        "sub/deeper/d.md": "",
        "sub/deeper/e.markdown": "markdown too",
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "sub" / "image.png").write_bytes(b"\x89PNG not text")
    (folder / "notes.json").write_text('{"text": "not a text file"}')

    version = workspace.ingest(folder, "corpus")
    expected = sorted(files)
    assert column(version, "path") == expected
    assert column(version, "text") == [files[name] for name in expected]
    assert column(version, "id") == [md5(files[name]) for name in expected]
    assert column(version, "content_hash") == [md5(files[name]) for name in expected]


def test_text_folder_bom_and_encoding(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "bom.txt").write_bytes(b"\xef\xbb\xbfwith bom")
    utf8 = sqlite_workspace.ingest(folder, "bom")
    assert column(utf8, "text") == ["with bom"]

    (folder / "bom.txt").unlink()
    (folder / "latin.txt").write_bytes("déjà vu".encode("latin-1"))
    latin = sqlite_workspace.ingest(folder, "latin", IngestOptions(encoding="latin-1"))
    assert column(latin, "text") == ["déjà vu"]


def test_single_text_file(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "one.md"
    path.write_text("just one")
    version = sqlite_workspace.ingest(path, "one")
    assert rows(version) == [{"id": md5("just one"), "text": "just one", "content_hash": md5("just one"),
                              "path": "one.md"}]


def test_saved_hf_dataset(workspace: Workspace, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    data = {"id": ["a", "b", "c"], "text": ["first", "zweite 🙂", ""],
            "meta": [{"k": 1, "tags": ["x"]}, {"k": 2, "tags": []}, {"k": None, "tags": ["y", "z"]}],
            "score": [0.1, 0.2, 0.3]}
    datasets.Dataset.from_dict(data).save_to_disk(str(tmp_path / "saved"))

    version = workspace.ingest(tmp_path / "saved", "hf")
    assert column(version, "id") == data["id"]
    assert column(version, "text") == data["text"]
    assert column(version, "content_hash") == [md5(t) for t in data["text"]]
    assert column(version, "meta") == data["meta"]
    assert column(version, "score") == data["score"]


def test_saved_hf_dataset_dict_needs_a_split(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    train = datasets.Dataset.from_dict({"text": ["t1", "t2", "t3"], "label": [0, 1, 0]})
    test = datasets.Dataset.from_dict({"text": ["e1"], "label": [1]})
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(tmp_path / "dd"))

    version = sqlite_workspace.ingest(tmp_path / "dd", "train", IngestOptions(split="train"))
    assert column(version, "text") == ["t1", "t2", "t3"]
    assert column(version, "label") == [0, 1, 0]
    version = sqlite_workspace.ingest(tmp_path / "dd", "test", IngestOptions(split="test"))
    assert column(version, "text") == ["e1"]

    single = datasets.DatasetDict({"only": test})
    single.save_to_disk(str(tmp_path / "single"))
    assert column(sqlite_workspace.ingest(tmp_path / "single", "only"), "text") == ["e1"]


def test_each_ingest_adds_a_version(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", [{"text": "a"}])
    first = sqlite_workspace.ingest(path, "docs")
    write_jsonl(path, [{"text": "a"}, {"text": "b"}])
    second = sqlite_workspace.ingest(path, "docs")
    assert (first.ref, second.ref) == ("docs@1", "docs@2")
    assert column(sqlite_workspace.version("docs@1"), "text") == ["a"]
    assert column(sqlite_workspace.version("docs"), "text") == ["a", "b"]


def test_parquet_from_pandas_categoricals_and_large_strings(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"id": pd.Categorical(["a", "b", "a2"]), "text": pd.Categorical(["x", "y", "x"]),
                          "group": pd.Categorical(["g1", "g2", "g1"])})
    frame.to_parquet(tmp_path / "cats.parquet")
    version = sqlite_workspace.ingest(tmp_path / "cats.parquet", "cats")
    assert column(version, "id") == ["a", "b", "a2"]
    assert column(version, "text") == ["x", "y", "x"]
    assert column(version, "group") == ["g1", "g2", "g1"]

    large = pa.table({"id": pa.array(["i1", "i2"], pa.large_string()),
                      "text": pa.array(["big", "strings"], pa.large_string())})
    pq.write_table(large, tmp_path / "large.parquet")
    version = sqlite_workspace.ingest(tmp_path / "large.parquet", "large")
    assert column(version, "text") == ["big", "strings"]
    assert version.schema.field("text").type == pa.string()


def test_jsonl_line_longer_than_a_chunk(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    records = [{"text": "short"}, {"text": "long " * 2_000}, {"text": "after"}, {"text": "é" * 3_000}]
    path = write_jsonl(tmp_path / "long.jsonl", records)
    version = sqlite_workspace.ingest(path, "long", IngestOptions(**TINY))
    assert column(version, "text") == [r["text"] for r in records]


def test_csv_crlf_and_integer_column_that_turns_into_text(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    lines = ["id,text,code"] + [f"{i},row {i} {'y' * 40},{i}" for i in range(100)] + ["100,last,unknown"]
    path = tmp_path / "crlf.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    single = sqlite_workspace.ingest(path, "single")
    many = sqlite_workspace.ingest(path, "many", IngestOptions(**TINY))
    assert many.to_table().equals(single.to_table())
    assert many.schema.field("code").type == pa.string()
    assert column(many, "code") == [str(i) for i in range(100)] + ["unknown"]
    assert column(many, "text")[-1] == "last"
