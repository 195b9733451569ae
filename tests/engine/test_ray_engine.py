"""`RayEngine` against `LocalEngine` on the same inputs: same results in the same order, errors as one line."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from datatrainer.cli.app import app
from datatrainer.engine.local import LocalEngine
from datatrainer.engine.select import engine_from_options
from datatrainer.errors import DatatrainerError
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

RayFactory = Callable[[int], object]


def _ids(batch: pa.RecordBatch) -> list[str]:
    return batch.column("id").to_pylist()


def test_parts_are_many(parted: DatasetVersion) -> None:
    assert len(parted.files) == 5


def test_map_batches_gives_the_local_results_in_order(parted: DatasetVersion, ray_engine: RayFactory) -> None:
    for size in (7, 64):
        local = list(LocalEngine(batch_size=size).map_batches(_ids, parted, ["id"]))
        ray = list(ray_engine(size).map_batches(_ids, parted, ["id"]))  # type: ignore[attr-defined]
        assert ray == local
        assert [i for batch in ray for i in batch] == parted.to_table(["id"])["id"].to_pylist()


def test_items_actors_and_reduce_match_local(ray_engine: RayFactory) -> None:
    engine = ray_engine(1024)
    items = list(range(23))
    assert list(engine.map_items(lambda x: x * x, items)) == [x * x for x in items]  # type: ignore[attr-defined]
    assert engine.reduce(lambda x: {x % 3: x}, _merge, items) == LocalEngine().reduce(  # type: ignore[attr-defined]
        lambda x: {x % 3: x}, _merge, items)

    def factory() -> Callable[[int], tuple[int, int]]:
        pid = os.getpid()  # what the worker built once: every item it runs sees the same
        return lambda x: (x + 1, pid)

    results = list(engine.map_actors(factory, items, concurrency=2))  # type: ignore[attr-defined]
    assert [value for value, _ in results] == [x + 1 for x in items]
    workers = {pid for _, pid in results}
    assert len(workers) == 2 and os.getpid() not in workers


def _merge(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    return {key: a.get(key, 0) + b.get(key, 0) for key in a.keys() | b.keys()}


def test_a_worker_error_is_the_users_one_line(parted: DatasetVersion, ray_engine: RayFactory) -> None:
    def fail(batch: pa.RecordBatch) -> int:
        if "r120" in batch.column("id").to_pylist():
            raise DatatrainerError("record r120: cannot be processed")
        return batch.num_rows

    with pytest.raises(DatatrainerError) as error:
        list(ray_engine(16).map_batches(fail, parted, ["id"]))  # type: ignore[attr-defined]
    assert str(error.value) == "record r120: cannot be processed"


def test_an_unreachable_address_is_one_line_within_seconds() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        start = time.monotonic()
        with pytest.raises(DatatrainerError) as error:
            engine_from_options("ray", address)
        assert time.monotonic() - start < 10
        assert address in str(error.value) and "\n" not in str(error.value)


def test_a_ray_version_mismatch_is_one_line(ray_engine: RayFactory) -> None:
    """A real driver joining the test's cluster, whose reported Ray version is not this one: Ray's own check
    raises, and the engine turns it into one line naming both versions."""
    import ray

    address = ray.get_runtime_context().gcs_address
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("mismatch_job.py")), address],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])
    lines = [line for line in done.stdout.splitlines() if line.startswith("error:")]
    assert lines == [f"error: Ray version mismatch with the cluster at {address!r}: it runs Ray 2.9.3 on Python "
                     f"{platform.python_version()}, this process Ray {ray.__version__} on Python "
                     f"{platform.python_version()}; install the cluster's versions here "
                     "(pip install 'ray[data]==2.9.3')"], done.stdout + done.stderr[-2000:]


def _out_of_memory(batch: pa.RecordBatch) -> int:
    import ray.exceptions

    raise ray.exceptions.OutOfMemoryError("Task was killed due to the node running low on memory.")


def test_out_of_memory_names_the_step_and_suggests_a_smaller_batch(parted: DatasetVersion,
                                                                   ray_engine: RayFactory) -> None:
    """Ray's out-of-memory error, raised in a worker of a batch step and of an item step, as it reaches the
    driver through Ray Data and through a plain task."""
    engine = ray_engine(16)
    runs = {"quality-filter": lambda: list(engine.map_batches(  # type: ignore[attr-defined]
                _out_of_memory, parted, ["id"], description="quality-filter")),
            "density: sketching": lambda: list(engine.map_items(  # type: ignore[attr-defined]
                _out_of_memory, [parted.to_table(["id"]).to_batches()[0]], "density: sketching"))}
    for step, run in runs.items():
        with pytest.raises(DatatrainerError) as error:
            run()
        assert str(error.value) == (f"{step}: a Ray worker ran out of memory; use smaller batches "
                                    "(--batch-rows, default 65536) or give the workers more memory")


def test_the_cli_runs_on_ray_with_the_same_result(parted: DatasetVersion, sqlite_workspace: Workspace,
                                                  ray_engine: RayFactory) -> None:
    runner = CliRunner()
    base = ["--workspace", str(sqlite_workspace.root), "--no-progress"]
    where = "length(text) > 40"
    local = runner.invoke(app, [*base, "filter", parted.ref, "--where", where, "--name", "local"])
    on_ray = runner.invoke(app, [*base, "filter", parted.ref, "--where", where, "--name", "ray"],
                           env={"DATATRAINER_ENGINE": "ray"})
    assert local.exit_code == 0 and on_ray.exit_code == 0, on_ray.output
    kept = sqlite_workspace.version("ray@1").to_table()
    assert kept.equals(sqlite_workspace.version("local@1").to_table())
    expected = parted.to_table().filter(pc.greater(pc.utf8_length(parted.to_table()["text"]), 40))
    assert kept["id"].to_pylist() == expected["id"].to_pylist()


def test_quality_metrics_on_ray_equal_local(parted: DatasetVersion, ray_engine: RayFactory) -> None:
    from datatrainer.quality.metrics.measure import measure

    untimed = {"measured_at", "reference_date", "timings"}
    local = measure(parted, engine=LocalEngine(batch_size=40)).summary.model_dump(mode="json")
    on_ray = measure(parted, engine=ray_engine(40)).summary.model_dump(mode="json")  # type: ignore[arg-type]
    local["freshness"].pop("reference_date", None)
    on_ray["freshness"].pop("reference_date", None)
    assert {k: v for k, v in on_ray.items() if k not in untimed} == {k: v for k, v in local.items() if k not in untimed}
