"""Benchmark: 50 annotators working at once against the real annotation server on SQLite.

What is measured, and why: annotation is interactive, so what matters is the latency each annotator feels
while many work at the same moment, not raw throughput. The issue's target: with 50 concurrent annotators
submitting continuously on the embedded SQLite catalog, p99 request latency under 100 ms on this machine.

The server runs as `datatrainer serve` in its own process (uvicorn, one worker), exactly as a user starts it.
The annotators are 50 asyncio tasks in this process, each with its own connection and API token, looping:
ask for the next task, submit a label, then pause `--think` seconds (uniformly 0.5x to 1.5x, starts spread
over one pause) before the next. With `--think 0` they hammer the server with no pause at all; then, by
Little's law, latency is simply 50 / throughput, so that run measures capacity, not what a person feels. A
one-second warm-up is not recorded. Afterwards the stored annotation count must equal the successful submits.

Usage: python benchmarks/annotation_load.py [--annotators 50] [--seconds 20] [--think 0] [--overlap 3]
       [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from datatrainer.annotation.types import local_admin
from datatrainer.corpora import news_articles, write_jsonl
from datatrainer.workspace import Workspace

P99_TARGET_MS = 100.0
LABELS = ["politics", "sport", "other"]


def sentences() -> list[dict[str, str]]:
    """About 3,000 real news sentences: enough tasks that the queue never runs dry during a run."""
    out = []
    for article in news_articles():
        for i, sentence in enumerate(s.strip() for s in article["text"].split(". ")):
            if len(sentence) > 30:
                out.append({"id": f"{article['id']}-{i}", "text": sentence})
    return out


def prepare(root: Path, annotators: int, overlap: int) -> tuple[int, list[str]]:
    """A workspace with one classification project and `annotators` users with API tokens."""
    write_jsonl(iter(sentences()), root.parent / "sentences.jsonl")
    with Workspace.init(root) as ws:
        ws.ingest(root.parent / "sentences.jsonl", "sentences")
        svc, admin = ws.annotation, local_admin()
        project = svc.create_project(admin, "load", "sentences", "classification", LABELS, overlap=overlap).id
        tokens = []
        for i in range(annotators):
            name = f"annotator{i:02d}"
            svc.create_user(admin, name, "load-test-password")
            svc.add_member(admin, project, name, "annotator")
            tokens.append(svc.create_api_token(admin, "load", username=name).token)
    return project, tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(root: Path, port: int, threads: int | None) -> subprocess.Popen[bytes]:
    extra = ["--threads", str(threads)] if threads else []
    server = subprocess.Popen([sys.executable, "-m", "datatrainer", "--workspace", str(root), "serve",
                               "--port", str(port), *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"the server did not start: {server.stderr.read().decode() if server.stderr else ''}")


async def annotator(url: str, token: str, project: int, start: float, warm_up: float, stop: float, seed: int,
                    think: float, latencies: dict[str, list[float]], counts: dict[str, int]) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    await asyncio.sleep(rng.uniform(0, think))
    async with httpx.AsyncClient(base_url=url + "/api/v1", headers=headers, timeout=30) as client:

        async def call(kind: str, path: str, body: Any = None) -> httpx.Response:
            t0 = time.perf_counter()
            response = await client.post(path, json=body)
            if t0 >= start + warm_up:
                latencies[kind].append(time.perf_counter() - t0)
                counts["requests"] += 1
                if response.status_code >= 400:
                    counts["errors"] += 1
            return response

        while time.perf_counter() < stop:
            task = await call("next", f"/projects/{project}/tasks/next")
            if task.status_code == 204:
                counts["queue_empty"] += 1
                return
            if task.status_code != 200:
                continue
            result = {"labels": [rng.choice(LABELS)]}
            submitted = await call("submit", f"/tasks/{task.json()['id']}/submit", {"result": result})
            if submitted.status_code == 200:
                counts["submitted"] += 1
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))


async def load(url: str, tokens: list[str], project: int, seconds: float, think: float, warm_up: float = 1.0
               ) -> tuple[dict[str, list[float]], dict[str, int], float]:
    latencies: dict[str, list[float]] = {"next": [], "submit": []}
    counts = {"requests": 0, "errors": 0, "submitted": 0, "queue_empty": 0}
    start = time.perf_counter()
    stop = start + warm_up + seconds
    await asyncio.gather(*(annotator(url, token, project, start, warm_up, stop, i, think, latencies, counts)
                           for i, token in enumerate(tokens)))
    return latencies, counts, time.perf_counter() - start - warm_up


def percentiles(values: list[float]) -> dict[str, float]:
    ms = np.asarray(values) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "p99": float(np.percentile(ms, 99)), "max": float(ms.max()), "mean": float(statistics.fmean(ms))}


def stored_submissions(root: Path) -> int:
    """Annotations the server counted (submitted assignments), read back from the database."""
    with Workspace.open(root) as ws:
        progress = ws.annotation.progress(local_admin(), "load")
    return sum(a.submitted for a in progress.per_annotator.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, default=0.0, help="mean pause after each submit, in seconds")
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--threads", type=int, help="the server's --threads (default: its own)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dt-annotation-load-") as tmp:
        root = Path(tmp) / "ws"
        t0 = time.perf_counter()
        project, tokens = prepare(root, args.annotators, args.overlap)
        print(f"setup: {len(tokens)} annotators, project 'load' ({args.overlap} annotators per task) "
              f"in {time.perf_counter() - t0:.1f} s; load average {os.getloadavg()[0]:.2f}")
        port = free_port()
        server = start_server(root, port, args.threads)
        try:
            latencies, counts, elapsed = asyncio.run(load(f"http://127.0.0.1:{port}", tokens, project, args.seconds,
                                                       args.think))
        finally:
            server.terminate()
            server.wait(timeout=30)
        stored = stored_submissions(root)
    every = latencies["next"] + latencies["submit"]
    results = {
        "annotators": args.annotators, "think_s": args.think, "threads": args.threads, "seconds": round(elapsed, 2),
        "requests": counts["requests"],
        "requests_per_s": round(counts["requests"] / elapsed, 1),
        "submits_per_s": round(len(latencies["submit"]) / elapsed, 1), "errors": counts["errors"],
        "latency_ms": {kind: percentiles(values) for kind, values in (("all", every), *latencies.items())},
        "stored_equals_submitted": stored == counts["submitted"], "load_average": os.getloadavg()[0],
    }
    print(f"{args.annotators} annotators, think {args.think} s: {results['requests']} requests in {elapsed:.1f} s: "
          f"{results['requests_per_s']} requests/s, "
          f"{results['submits_per_s']} submits/s, {counts['errors']} errors")
    print(f"{'latency (ms)':<14}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}")
    for kind, p in results["latency_ms"].items():  # type: ignore[union-attr]
        print(f"{kind:<14}{p['p50']:>8.1f}{p['p95']:>8.1f}{p['p99']:>8.1f}{p['max']:>8.1f}")
    p99 = results["latency_ms"]["all"]["p99"]  # type: ignore[index]
    print(f"p99 {p99:.1f} ms vs target {P99_TARGET_MS:.0f} ms: ratio {P99_TARGET_MS / p99:.2f} "
          f"({'met' if p99 < P99_TARGET_MS else 'NOT met'}); stored annotations = successful submits: "
          f"{results['stored_equals_submitted']} ({stored} vs {counts['submitted']})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
