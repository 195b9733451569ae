"""Benchmark: the same pipeline on `LocalEngine` and on `RayEngine` (a local Ray instance), one run.

Pipeline, per engine, on one ingested version: quality-filter (the default Gopher/C4 rules, English) ->
MinHash dedup (threshold 0.8) -> RACE density of every surviving record's vector. Records are generated from
real English text (the gensim test corpora: the Lee news corpus and the para2para texts, ~400 kB of
prose, ~2,900 sentences) as 2-25 sentences drawn at random, with 10% near copies (up to 10% of words
replaced), 2% exact copies and 5% junk (too short, or symbol soup) that the quality rules drop. Density
runs on 384-d vectors made from the text by feature hashing + a fixed random projection, standing in for
MiniLM embeddings: embedding 1M records with MiniLM on 2 cores would take ~100 minutes and is the same
actor-pool path on both engines; what differs between engines is the hashing
(~95% of a density run).

Reported: seconds per stage per engine, the Ray/local ratio, the time to start Ray and to warm its workers
up on 2,000 records (once per cluster and job; not counted in the ratio), whether both engines kept the
same ids and gave the same density scores, and the peak RSS of every process (the driver, and each Ray
worker, sampled with psutil every 0.2 s). Then, on Ray only and outside the timed pipeline, the steps of
distributed MinHash dedup one by one (band-key shuffle, verification shuffle, components, ids) with the
band-key shuffle's size, and density's two passes: the per-step costs the cluster estimate in
docs/scale-out.md is built from.

Usage: nice -n 10 python benchmarks/engine.py [--records N] [--json OUT] [--result docs/benchmarks/engine.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from sklearn.feature_extraction.text import HashingVectorizer

from datatrainer.docs_gen import write_result
from datatrainer.engine.base import Engine
from datatrainer.engine.local import LocalEngine
from datatrainer.engine.ray_engine import RayEngine
from datatrainer.operations.dedup import DedupParams
from datatrainer.quality.dedup import clusters_from_candidates
from datatrainer.quality.dedup_distributed import BAND_KEY_BYTES, candidate_keys, ids_of_rows, jaccard, partitions_for
from datatrainer.scoring.density import TASK_ROWS, density_on, sketch_of
from datatrainer.scoring.race import RaceParams, RaceSketch
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

CORPORA = ("lee_background.cor", "lee.cor", "para2para_text1.txt", "para2para_text2.txt")
DIM = 384


def sentences() -> list[str]:
    import gensim

    folder = Path(gensim.__file__).parent / "test" / "test_data"
    text = " ".join((folder / name).read_text(encoding="utf-8", errors="replace") for name in CORPORA)
    return [sentence for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if len(sentence) > 20]


def generate(records: int, seed: int = 0) -> list[dict[str, str]]:
    """Documents of 2-25 random real sentences, with planted near copies, exact copies and junk."""
    rng = np.random.default_rng(seed)
    pool = np.array(sentences(), dtype=object)
    counts = rng.integers(2, 26, records)
    kinds = rng.random(records)
    texts: list[str] = []
    for i in range(records):
        if kinds[i] < 0.10 and i > 0:  # near copy of an earlier record: up to 10% of its words replaced
            words = np.array(texts[int(rng.integers(0, i))].split(), dtype=object)
            edits = rng.random(len(words)) < rng.uniform(0, 0.10)
            words[edits] = [str(rng.choice(pool)).split()[0] for _ in range(int(edits.sum()))]
            texts.append(" ".join(words))
        elif kinds[i] < 0.12 and i > 0:
            texts.append(texts[int(rng.integers(0, i))])
        elif kinds[i] < 0.17:  # junk: too short, or symbols
            texts.append("#### $$$ " * int(counts[i] * 3) if i % 2 else str(pool[int(rng.integers(0, len(pool)))]))
        else:
            texts.append(" ".join(pool[rng.integers(0, len(pool), counts[i])]))
    return [{"id": f"doc{i:08d}", "text": text} for i, text in enumerate(texts)]


def vectors_of(version: DatasetVersion) -> np.ndarray[Any, np.dtype[np.float16]]:
    """Unit 384-d vectors from hashed word counts and a fixed projection (a stand-in for embeddings)."""
    hasher = HashingVectorizer(n_features=4096, alternate_sign=False, norm=None)
    projection = np.random.default_rng(1).standard_normal((4096, DIM)).astype(np.float32)
    chunks = []
    for batch in version.read_batches(["text"], batch_size=65_536):
        dense = hasher.transform(batch.column("text").to_pylist()) @ projection
        dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-6)
        chunks.append(dense.astype(np.float16))
    return np.concatenate(chunks) if chunks else np.zeros((0, DIM), np.float16)


class PeakRss:
    """Peak resident memory of this process and of every Ray worker process, sampled in a thread."""

    def __init__(self) -> None:
        self.peaks: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        """This process and its Ray workers: descendants of this process (the local Ray instance started here),
        not Ray processes that other jobs on the machine run."""
        me = psutil.Process()
        while not self._stop.is_set():
            for process in [me, *me.children(recursive=True)]:
                try:
                    cmdline = process.cmdline()
                    rss = process.memory_info().rss
                except psutil.Error:
                    continue
                name = "driver" if process.pid == me.pid else (cmdline[0] if cmdline else "")
                if name != "driver" and not (name.startswith("ray::") or "default_worker.py" in " ".join(cmdline)):
                    continue
                label = "driver" if name == "driver" else name.split("(")[0].split(" ")[0]
                if rss > self.peaks.get(process.pid, ("", 0))[1]:
                    self.peaks[process.pid] = (label, rss)
            self._stop.wait(0.2)

    def summary(self) -> dict[str, Any]:
        driver = max((rss for label, rss in self.peaks.values() if label == "driver"), default=0)
        workers = sorted((rss for label, rss in self.peaks.values() if label != "driver"), reverse=True)
        return {"driver_mb": round(driver / 2**20), "workers": len(workers),
                "largest_worker_mb": round(workers[0] / 2**20) if workers else 0,
                "workers_mb": [round(rss / 2**20) for rss in workers[:8]]}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def pipeline(ws: Workspace, source: DatasetVersion, engine: Engine, label: str) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    with PeakRss() as memory:
        seconds["quality-filter"], filtered = timed(lambda: ws.apply(
            "quality-filter", [source], {"lang": "en"}, name=f"{label}-filtered", engine=engine))
        seconds["dedup"], deduped = timed(lambda: ws.apply(
            "dedup", [filtered], {"method": "minhash", "threshold": 0.8}, name=f"{label}-deduped", engine=engine))
        vectors = vectors_of(deduped)  # not timed: the stand-in for stored embeddings
        seconds["density"], scores = timed(lambda: density_on(engine, vectors, RaceParams()))
    seconds["total"] = sum(seconds.values())
    return {"seconds": {k: round(v, 2) for k, v in seconds.items()}, "memory": memory.summary(),
            "rows": {"source": source.num_rows, "filtered": filtered.num_rows, "deduped": deduped.num_rows},
            "ids": deduped.to_table(["id"])["id"], "scores": scores}


def dedup_steps(version: DatasetVersion, engine: Engine) -> dict[str, Any]:
    """Distributed MinHash dedup step by step (what `distributed_near_duplicates` and the operation run)."""
    settings = DedupParams(method="minhash", threshold=0.8)
    bands = settings.lsh_shape()[0]
    partitions = partitions_for(version, bands, engine)
    seconds: dict[str, float] = {}
    seconds["band keys (shuffle 1)"], keys = timed(lambda: candidate_keys(engine, version, settings, partitions))
    verified: list[float] = []

    def verify(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        took, similarity = timed(lambda: jaccard(engine, version, settings, partitions, left, right))
        verified.append(took)
        return similarity

    took, clusters = timed(lambda: clusters_from_candidates(version.num_rows, keys, verify, settings.threshold))
    seconds["verification (shuffle 2, twice)"] = sum(verified)
    seconds["components (driver)"] = took - sum(verified)
    members = np.flatnonzero(clusters.sizes > 1)
    seconds["ids of clustered records"], _ = timed(lambda: ids_of_rows(engine, version, members))
    return {"seconds": {k: round(v, 2) for k, v in seconds.items()}, "partitions": partitions, "bands": bands,
            "band_key_mb": round(version.num_rows * bands * BAND_KEY_BYTES / 2**20), "candidate_pairs": len(keys),
            "clustered": len(members)}


def density_steps(vectors: np.ndarray, engine: Engine) -> dict[str, float]:
    """Density's two passes on the engine, and the merge's share: hashing a range into a sketch, scoring."""
    params = RaceParams()
    whole, _ = timed(lambda: density_on(engine, vectors, params))
    tasks = max(engine.threads, -(-len(vectors) // TASK_ROWS))
    one_pass, _ = timed(lambda: engine.reduce(partial(sketch_of, params, vectors.shape[1]), RaceSketch.merge,
                                              np.array_split(vectors, tasks)))
    return {"total": round(whole, 2), "sketch pass": round(one_pass, 2), "score pass": round(whole - one_pass, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="the full report (every number measured)")
    parser.add_argument("--result", type=Path, help="the documentation's result file (docs/benchmarks/engine.json)")
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as folder:
        root = Path(folder)
        seconds, rows = timed(lambda: generate(args.records))
        print(f"generated {len(rows):,} records in {seconds:.1f} s; CPU: {cpu}, {os.cpu_count()} cores")
        source_file = root / "records.jsonl"
        with source_file.open("w") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")
        del rows
        ws = Workspace.init(root / "ws")
        seconds, source = timed(lambda: ws.ingest(source_file, "bench", engine=LocalEngine()))
        print(f"ingested in {seconds:.1f} s: {source.num_rows:,} records, {len(source.files)} parts")
        # Both engines first run the pipeline on 2,000 records, untimed: imports, and on Ray the worker
        # processes (a long-lived cluster keeps them; each new driver job starts its own).
        warm = ws.apply("filter", [source], {"where": "id < 'doc00002000'"}, name="warm")
        pipeline(ws, warm, LocalEngine(), "warm-local")
        loads = [os.getloadavg()[0]]
        local = pipeline(ws, source, LocalEngine(), "local")
        loads.append(os.getloadavg()[0])
        startup, ray_engine = timed(lambda: RayEngine())
        warmup, _ = timed(lambda: pipeline(ws, warm, ray_engine, "warm-ray"))
        ray = pipeline(ws, source, ray_engine, "ray")
        loads.append(os.getloadavg()[0])
        filtered = ws.version("ray-filtered@1")
        steps = {"dedup": dedup_steps(filtered, ray_engine),
                 "density": density_steps(vectors_of(ws.version("ray-deduped@1")), ray_engine)}
        print(f"Ray steps: {steps}")
        ray_engine.close()
        ws.close()
    load = "-".join(f"{value:.0f}" for value in sorted(set(loads)))
    same_ids = ray["ids"].equals(local["ids"])
    same_scores = bool(np.array_equal(ray["scores"], local["scores"]))
    if not same_scores and len(ray["scores"]) == len(local["scores"]):
        differ = ray["scores"] != local["scores"]
        print(f"density differs for {int(differ.sum()):,} records, by at most "
              f"{float(np.max(np.abs(ray['scores'] - local['scores']))):.4g}")
    report = {"records": args.records, "cpu": cpu, "cores": os.cpu_count(), "load": load,
              "ray_startup_s": round(startup, 1), "ray_warmup_s": round(warmup, 1),
              "same_ids": same_ids, "same_density": same_scores, "ray_steps": steps,
              **{name: {k: v for k, v in run.items() if k not in ("ids", "scores")}
                 for name, run in (("local", local), ("ray", ray))}}
    report["ratio"] = {stage: round(ray["seconds"][stage] / max(local["seconds"][stage], 1e-9), 2)
                       for stage in local["seconds"]}
    print(f"{'stage':<16}{'local s':>10}{'ray s':>10}{'ray/local':>11}")
    for stage in local["seconds"]:
        print(f"{stage:<16}{local['seconds'][stage]:>10.2f}{ray['seconds'][stage]:>10.2f}"
              f"{report['ratio'][stage]:>11.2f}")
    print(f"rows: {local['rows']}; Ray start {startup:.1f} s, warm-up on 2,000 records {warmup:.1f} s (neither "
          f"counted); same ids kept: {same_ids}; "
          f"same density: {same_scores}")
    print(f"peak RSS local: {local['memory']}; ray: {ray['memory']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if args.result:
        write_docs_result(args.result, report)


def write_docs_result(path: Path, report: dict[str, Any]) -> None:
    """The per-stage table and the essentials (same result, start-up, memory, Ray's steps) for the docs."""
    local, ray, rows = report["local"], report["ray"], report["local"]["rows"]
    inputs = {"quality-filter": f"quality-filter ({rows['source']:,} in)",
              "dedup": f"MinHash dedup ({rows['filtered']:,} in)", "density": f"density ({rows['deduped']:,} vectors)"}
    table = [[inputs.get(stage, stage), local["seconds"][stage], ray["seconds"][stage], f"{report['ratio'][stage]:.2f}"]
             for stage in local["seconds"]]
    memory = ray["memory"]
    dedup, density = report["ray_steps"]["dedup"], report["ray_steps"]["density"]
    notes = (f"Same ids kept: {report['same_ids']}; same density scores: {report['same_density']}. Ray start "
             f"({report['ray_startup_s']} s) and worker warm-up ({report['ray_warmup_s']} s) are not counted. "
             "Peak RSS: "
             f"local driver {local['memory']['driver_mb']:,} MB; Ray driver {memory['driver_mb']:,} MB, largest "
             f"worker {memory['largest_worker_mb']:,} MB (workers: {', '.join(map(str, memory['workers_mb']))} MB). "
             f"Ray dedup step by step (s): {', '.join(f'{k} {v}' for k, v in dedup['seconds'].items())}; band-key "
             f"shuffle {dedup['band_key_mb']:,} MB in {dedup['partitions']} partitions, {dedup['candidate_pairs']:,} "
             f"candidate pairs. Ray density: sketch pass {density['sketch pass']} s, score pass "
             f"{density['score pass']} s.")
    write_result(path, title=f"Local vs Ray engine: quality filter + MinHash dedup + density, {report['records']:,} "
                 "records", script="benchmarks/engine.py",
                 command=f"nice -n 10 .venv/bin/python benchmarks/engine.py --records {report['records']} "
                 f"--result {path}", peer="LocalEngine (same pipeline, same process)",
                 peer_version=f"datatrainer {version('datatrainer')}",
                 columns=["stage", "local s", "Ray s", "Ray / local"],
                 rows=table, notes=notes,
                 machine=f"{report['cpu']}, {report['cores']} cores shared with other jobs (load average "
                 f"{report['load']})")


if __name__ == "__main__":
    main()
