"""Run files and run locks: what lets an interrupted experiment, or several processes, share the work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from datatrainer.experiments.runs import RunKey, RunResult, RunStore

KEY = RunKey(sampler="random", budget=20, seed=1)


def test_result_round_trips(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    assert store.get(KEY) is None
    result = RunResult(key=KEY, sample="p-random-20@1", records=3, composition={"clean": 3}, model="m",
                       eval_steps=[10], eval_losses=[4.5], train_steps=[1], train_losses=[8.0], seconds=1.5)
    store.put(result)
    assert store.get(KEY) == result
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["random-20-s1.json"]  # no temp file left


def test_a_live_holder_keeps_the_run_and_a_dead_ones_lock_is_taken_over(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    lock = tmp_path / "runs" / "random-20-s1.lock"
    store.folder.mkdir(parents=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(str(other.pid))
        assert not store.claim(KEY)
    finally:
        other.kill()
        other.wait()
    assert store.claim(KEY)  # its holder is gone
    assert lock.read_text() == str(os.getpid())
    assert store.claim(KEY)  # this process holds it already
    store.release(KEY)
    assert not lock.exists()
