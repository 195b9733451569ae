"""Run by test_faults.py in its own process: an operation on a 2-node Ray cluster on this machine
(`ray.cluster_utils.Cluster`) while Ray workers die. Prints one JSON line with what happened.

Modes: `kill-once` kills one worker process mid-operation from outside (SIGKILL, as the OOM killer or a lost
node would); `kill-always` makes every attempt at one batch die; `driver-dies` ends the driver itself after
the workers wrote some parts, leaving the new version's staging folder behind.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import psutil
import pyarrow as pa
from pydantic import BaseModel
from ray.cluster_utils import Cluster

from datatrainer.engine.ray_engine import RayEngine
from datatrainer.errors import DatatrainerError
from datatrainer.operations import register
from datatrainer.operations.base import BatchOperation
from datatrainer.workspace import Workspace

DOOMED_ID = "r120"


class SlowParams(BaseModel):
    mode: str = "kill-once"
    marker: str = ""


class SlowKeepLong(BatchOperation[SlowParams]):
    """Keeps records with more than 30 characters of text, slowly (so a kill lands mid-operation)."""

    name: ClassVar[str] = "slow-keep-long"
    params_model: ClassVar[type[BaseModel]] = SlowParams

    def transform(self, batch: pa.RecordBatch, params: SlowParams) -> pa.Table:
        time.sleep(0.4)
        ids = batch.column("id").to_pylist()
        if params.mode == "kill-always" and DOOMED_ID in ids:
            os.kill(os.getpid(), signal.SIGKILL)
        if params.mode == "driver-dies":
            Path(params.marker).touch()  # the driver waits for this, then dies
        texts = batch.column("text").to_pylist()
        return pa.Table.from_batches([batch]).filter(pa.array([len(text) > 30 for text in texts]))


def _kill_one_worker(done: threading.Event) -> None:
    """SIGKILL the first Ray worker seen running a map task of the operation."""
    while not done.is_set():
        for process in psutil.process_iter(["cmdline"]):
            cmdline = process.info["cmdline"] or []
            if cmdline and cmdline[0].startswith("ray::MapBatches"):
                process.kill()
                done.set()
                return
        time.sleep(0.05)


def _driver_dies(marker: Path) -> None:
    while not marker.exists():
        time.sleep(0.05)
    time.sleep(1.0)  # let a few parts land in the staging folder
    os._exit(3)


def run(ws: Workspace, engine: RayEngine, mode: str, marker: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"mode": mode}
    killed = threading.Event()
    if mode == "kill-once":
        threading.Thread(target=_kill_one_worker, args=(killed,), daemon=True).start()
    if mode == "driver-dies":
        threading.Thread(target=_driver_dies, args=(marker,), daemon=True).start()
    try:
        out = ws.apply("slow-keep-long", ["parted@1"], {"mode": mode, "marker": str(marker)}, name=mode,
                       engine=engine)
        result["ids"] = out.to_table(["id"])["id"].to_pylist()
    except DatatrainerError as error:
        result["error"] = str(error)
    result["killed"] = killed.is_set()
    return result


def main(root: str) -> None:
    """Every mode in turn on one cluster (starting one takes most of the time), `driver-dies` last."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 80 << 20})
    cluster.add_node(num_cpus=1, object_store_memory=80 << 20)
    register(SlowKeepLong)
    engine = RayEngine(address=cluster.address, batch_size=20)
    with Workspace.open(Path(root)) as ws:
        for mode in ("kill-once", "kill-always", "driver-dies"):
            print(json.dumps(run(ws, engine, mode, Path(root) / "marker")), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
