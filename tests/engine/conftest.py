"""One Ray instance for all engine tests (starting Ray takes seconds): 2 CPUs and a small object store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest

ray = pytest.importorskip("ray")

from datatrainer.engine.local import LocalEngine  # noqa: E402
from datatrainer.engine.ray_engine import RayEngine  # noqa: E402
from datatrainer.store.versions import DatasetVersion  # noqa: E402
from datatrainer.workspace import Workspace  # noqa: E402

RayFactory = Callable[[int], RayEngine]


@pytest.fixture(scope="session")
def ray_engine() -> Iterator[RayFactory]:
    """A factory of Ray engines reading batches of the given size, all on one local Ray instance."""
    first = RayEngine(num_cpus=2, object_store_bytes=256 << 20)
    yield lambda batch_size: first.with_batch_size(batch_size)
    first.close()


@pytest.fixture
def parted(sqlite_workspace: Workspace, tmp_path: Path) -> DatasetVersion:
    """A version of 200 records stored as 5 parts, so that work spreads over several Ray tasks."""
    rows = pa.table({"id": [f"r{i:03d}" for i in range(200)],
                     "text": [f"record {i} " + "word " * (i % 17) for i in range(200)]})
    path = tmp_path / "records.jsonl"
    path.write_text("".join(f'{{"id": "{r["id"]}", "text": "{r["text"]}"}}\n' for r in rows.to_pylist()))
    source = sqlite_workspace.ingest(path, "records")
    return sqlite_workspace.apply("filter", [source], {"where": "true"}, name="parted",
                                  engine=LocalEngine(batch_size=40))
