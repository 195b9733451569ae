"""Crash safety of ingest: a killed process, a full disk or a failed write never leaves a visible half version.

The killed and disk-full runs are real subprocesses (SIGKILL, RLIMIT_FSIZE), so nothing in-process can
clean up after them: what the next process sees is what a user would see.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import datatrainer.io.normalize as normalize_module
import datatrainer.store.writer as writer_module
from datatrainer.errors import DatatrainerError
from datatrainer.io.ingest import IngestOptions
from datatrainer.workspace import Workspace
from tests.conftest import write_lines
from tests.io.ingest_helpers import column, md5, tmp_entries, write_jsonl

CLI = Path(sys.executable).parent / "datatrainer"

_INGEST_SCRIPT = """
import sys
from datatrainer.io.ingest import IngestOptions
from datatrainer.workspace import Workspace

with Workspace.open(sys.argv[1]) as ws:
    ws.ingest(sys.argv[2], "big", IngestOptions(chunk_bytes=1 << 20, part_bytes=1 << 20, threads=1))
print("finished")
"""


def _workspace_with_existing(root: Path, tmp_path: Path) -> list[str]:
    """A workspace on disk holding one dataset; returns that dataset's texts."""
    texts = [f"existing record {i}" for i in range(1_000)]
    with Workspace.init(root) as ws:
        ws.ingest(write_jsonl(tmp_path / "existing.jsonl", [{"text": t} for t in texts]), "existing")
    return texts


def _big_jsonl(path: Path, lines: int) -> Path:
    """Records whose text compresses poorly, so Parquet parts are about as large as the input."""
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(lines):
            handle.write(f'{{"id": "r{i}", "text": "{md5(str(i))} {md5(str(-i))} {i}"}}\n')
    return path


def _assert_only_existing(root: Path, texts: list[str]) -> None:
    with Workspace.open(root) as ws:
        assert ws.datasets.names() == ["existing"]
        version = ws.version("existing")
        assert version.ref == "existing@1"
        assert column(version, "text") == texts
        assert column(version, "content_hash") == [md5(t) for t in texts]
        on_disk = {folder.name for folder in (root / "versions").iterdir()}
        assert on_disk == ws.catalog.storage_keys()


@pytest.mark.slow
def test_sigkill_mid_write_leaves_nothing_visible(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    texts = _workspace_with_existing(root, tmp_path)
    source = _big_jsonl(tmp_path / "big.jsonl", 200_000)

    process = subprocess.Popen([sys.executable, "-c", _INGEST_SCRIPT, str(root), str(source)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list((root / "tmp").glob("*/part-*.parquet")):
            if process.poll() is not None:
                out, err = process.communicate()
                pytest.fail(f"ingest ended before writing a part: rc={process.returncode} {out!r} {err!r}")
            assert time.monotonic() < deadline, "no part file appeared"
            time.sleep(0.002)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    leftovers = sorted((root / "tmp").iterdir())
    assert len(leftovers) == 1, leftovers  # the killed write's temp folder, never published

    _assert_only_existing(root, texts)
    with Workspace.open(root) as ws:
        removed = ws.collect_garbage(min_age=0)
        assert removed == leftovers
        assert tmp_entries(ws) == []
        assert column(ws.version("existing"), "text") == texts  # garbage collection kept the live version

        # The name was never taken: the next ingest of it is version 1.
        small = write_jsonl(tmp_path / "small.jsonl", [{"text": "after the crash"}])
        assert ws.ingest(small, "big").ref == "big@1"


@pytest.mark.skipif(not CLI.exists(), reason="the datatrainer console script is not installed")
def test_disk_full_fails_with_one_line_and_publishes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    texts = _workspace_with_existing(root, tmp_path)
    source = _big_jsonl(tmp_path / "big.jsonl", 50_000)
    limit = 256 << 10  # files may not grow past 256 KiB: the first Parquet part will not fit

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run([str(CLI), "--no-progress", "-w", str(root), "ingest", str(source), "-n", "big"],
                            preexec_fn=limit_file_size, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot write "), lines[0]
    assert "File too large" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert list((root / "tmp").iterdir()) == []
    _assert_only_existing(root, texts)


@pytest.mark.skipif(not CLI.exists(), reason="the datatrainer console script is not installed")
def test_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    texts = _workspace_with_existing(root, tmp_path)
    source = write_lines(tmp_path / "bad.jsonl", '{"text": "a"}', '{"text": "b"', '{"text": "c"}')
    result = subprocess.run([str(CLI), "--no-progress", "-w", str(root), "ingest", str(source), "-n", "bad"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {source}:2: invalid JSON: unexpected end of data: line 1 column 13 (char 12) "
        "(use --on-error skip to skip bad records)"]
    _assert_only_existing(root, texts)

    result = subprocess.run([str(CLI), "--no-progress", "-w", str(root), "ingest", str(source), "-n", "bad",
                             "--on-error", "skip"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "skipped 1 bad records" in result.stdout
    assert f"{source}:2" in result.stdout
    with Workspace.open(root) as ws:
        assert column(ws.version("bad"), "text") == ["a", "c"]


def test_write_error_mid_ingest_cleans_up(sqlite_workspace: Workspace, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    existing = sqlite_workspace.ingest(write_jsonl(tmp_path / "e.jsonl", [{"text": "kept"}]), "existing")
    source = _big_jsonl(tmp_path / "big.jsonl", 2_000)
    real_write = pq.write_table
    calls = 0

    def failing_write(table: Any, where: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(table, where, **kwargs)

    monkeypatch.setattr(writer_module.pq, "write_table", failing_write)
    with pytest.raises(DatatrainerError) as caught:
        sqlite_workspace.ingest(source, "big", IngestOptions(chunk_bytes=4096, part_bytes=4096))
    assert calls >= 3
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("cannot write ")
    assert str(caught.value).endswith(": No space left on device")
    assert sqlite_workspace.datasets.names() == ["existing"]
    assert tmp_entries(sqlite_workspace) == []
    assert {p.name for p in (sqlite_workspace.root / "versions").iterdir()} == {existing.info.storage_key}


def test_interrupt_mid_ingest_cleans_up(sqlite_workspace: Workspace, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    source = _big_jsonl(tmp_path / "big.jsonl", 2_000)
    real_normalize = normalize_module.normalize
    calls = 0

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise KeyboardInterrupt
        return real_normalize(*args, **kwargs)

    import datatrainer.io.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "normalize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sqlite_workspace.ingest(source, "big", IngestOptions(chunk_bytes=4096, part_bytes=4096))
    assert sqlite_workspace.datasets.names() == []
    assert tmp_entries(sqlite_workspace) == []
    assert list((sqlite_workspace.root / "versions").iterdir()) == []
