"""Export a version to the formats training code reads: HF `datasets` on disk, Parquet, JSON Lines.

Every export writes into a temporary sibling folder and renames it into place, so an interrupted export
never leaves a half-written output; each carries a dataset card (README.md) with lineage and row counts.
An export is plaintext, so from an encrypted workspace it needs `decrypt=True` (`--decrypt`), and is audited.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import duckdb
import pyarrow.parquet as pq

from datatrainer.engine.base import Engine
from datatrainer.errors import DatatrainerError
from datatrainer.io.card import dataset_card
from datatrainer.io.overwrite import check_replaceable, mark
from datatrainer.progress import progress_bar
from datatrainer.security.keys_cleartext import allow_clear_export
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

ExportFormat = Literal["hf", "parquet", "jsonl"]
EXPORT_FORMATS: tuple[str, ...] = ("hf", "parquet", "jsonl")


def export_version(workspace: Workspace, version: DatasetVersion, out: Path, fmt: str,
                   engine: Engine | None = None, overwrite: bool = False, decrypt: bool = False,
                   actor: str | None = None) -> Path:
    writers: dict[str, Callable[[DatasetVersion, Path, bool], None]] = {
        "hf": _write_hf, "parquet": _write_parquet, "jsonl": _write_jsonl,
    }
    if fmt not in writers:
        raise DatatrainerError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise DatatrainerError(f"{out} already exists and is not empty (pass --overwrite to replace it)")
    check_replaceable(out)
    allow_clear_export(workspace, version.ref, out, decrypt, actor)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    show = engine.progress if engine is not None else False
    try:
        writers[fmt](version, staging, show)
        (staging / "README.md").write_text(dataset_card(workspace, version, fmt))
        mark(staging)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except OSError as exc:
        raise DatatrainerError(f"cannot write export to {out}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _write_parquet(version: DatasetVersion, folder: Path, show: bool) -> None:
    """`data/part-*.parquet` beside the card (the Hub's layout), so `read_parquet(out / "data")` just works."""
    _write_parquet_parts(version, folder / "data", show)


def _write_parquet_parts(version: DatasetVersion, folder: Path, show: bool) -> None:
    """One output file per stored part, each conformed to the version schema."""
    folder.mkdir(exist_ok=True)
    with progress_bar(f"export {version.ref}", version.num_rows, show) as advance:
        for index, _part in enumerate(version.files):
            path = folder / f"part-{index:05d}.parquet"
            with pq.ParquetWriter(path, version.schema, compression="zstd") as writer:
                for batch in version.read_part_batches(index):
                    writer.write_batch(batch)
                    advance(batch.num_rows)


def _write_jsonl(version: DatasetVersion, folder: Path, show: bool) -> None:
    with progress_bar(f"export {version.ref}", None, show, unit="steps"):
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            target = str(folder / "data.jsonl").replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {version.parquet_scan_sql(con)}) TO '{target}' (FORMAT json)")  # nosec B608  # a path escaped as a literal and our own scan of the version's files
        finally:
            con.close()


def _write_hf(version: DatasetVersion, folder: Path, show: bool) -> None:
    try:
        import datasets
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise DatatrainerError("HF export needs the 'hf' extra: pip install 'datatrainer[hf]'") from None
    with tempfile.TemporaryDirectory(prefix="datatrainer-hf-") as scratch:
        parquet_dir = Path(scratch) / "parquet"
        _write_parquet_parts(version, parquet_dir, show)
        files = sorted(str(path) for path in parquet_dir.glob("*.parquet"))
        bars_were_on = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()  # our own bar already covers the work
        try:
            dataset = datasets.Dataset.from_parquet(files, cache_dir=str(Path(scratch) / "cache"),
                                                    features=datasets.Features.from_arrow_schema(version.schema))
            dataset.save_to_disk(str(folder))
        finally:
            if bars_were_on:
                datasets.enable_progress_bars()
