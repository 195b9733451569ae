"""Benchmark: 50 annotators working at once against the real annotation server on SQLite.

What is measured, and why: annotation is interactive, so what matters is the latency each annotator feels
while many work at the same moment, not raw throughput. The issue's target: with 50 concurrent annotators
submitting continuously on the embedded SQLite catalog, p99 request latency under 100 ms on this machine.

The server runs as `datatrainer serve` in its own processes (its default: one worker process per core, at most
4; `--workers` sets it), exactly as a user starts it.
The annotators run in separate load-generator processes on the same machine (`--client-processes`, default 1),
so they never compete with the server for its interpreter lock; they do compete for the machine's CPU cores.
Each annotator has its own keep-alive connection and API token and loops: ask for the next task, submit a
label, then pause a random `--think` seconds (uniform between 0.5x and 1.5x; starts spread over one pause).
With `--think 0` they hammer the server with no pause at all; then, by Little's law, latency is simply
annotators / throughput, so that run measures capacity, not what a person feels. The client speaks HTTP/1.1
over asyncio streams and parses responses with httptools (the parser uvicorn uses): a general-purpose client
such as httpx spent ~3 ms of CPU per request, which on two cores was taken from the server. A two-second
warm-up is not recorded. Afterwards the stored annotation count must equal the successful submits.

Usage: python benchmarks/annotation_load.py [--annotators 50] [--seconds 20] [--think 0] [--overlap 3] [--tasks 20000]
       [--client-processes 1] [--threads N] [--workers N] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
import numpy as np
import psutil

from datatrainer.annotation.types import local_admin
from datatrainer.corpora import news_articles, write_jsonl
from datatrainer.workspace import Workspace

P99_TARGET_MS = 100.0
LABELS = ["politics", "sport", "other"]
WARM_UP_S = 2.0


def sentences(count: int) -> list[dict[str, str]]:
    """`count` records cycling over the ~2,600 real news sentences (each round with new ids): enough tasks that
    the queue never runs dry during a run (a dry queue sends annotators home and flatters the latency)."""
    unique = [(f"{article['id']}-{i}", sentence) for article in news_articles()
              for i, sentence in enumerate(s.strip() for s in article["text"].split(". ")) if len(sentence) > 30]
    return [{"id": f"{unique[i % len(unique)][0]}-r{i // len(unique)}", "text": unique[i % len(unique)][1]}
            for i in range(count)]


def prepare(root: Path, annotators: int, overlap: int, tasks: int) -> tuple[int, list[str]]:
    """A workspace with one classification project of `tasks` tasks and `annotators` users with API tokens."""
    write_jsonl(iter(sentences(tasks)), root.parent / "sentences.jsonl")
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


def start_server(root: Path, port: int, threads: int | None, workers: int | None) -> subprocess.Popen[bytes]:
    extra = (["--threads", str(threads)] if threads else []) + (["--workers", str(workers)] if workers else [])
    server = subprocess.Popen([sys.executable, "-m", "datatrainer", "--workspace", str(root), "serve",
                               "--port", str(port), *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"the server did not start: {server.stderr.read().decode() if server.stderr else ''}")


class Connection:
    """One keep-alive HTTP/1.1 connection: POST a JSON body, read the status and body of the answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, token: str) -> None:
        self._reader, self._writer = reader, writer
        self._head = f"Host: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        self._body = bytearray()
        self._done = False
        self._parser = httptools.HttpResponseParser(self)

    @classmethod
    async def open(cls, host: str, port: int, token: str) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}", token)

    # httptools callbacks
    def on_body(self, data: bytes) -> None:
        self._body += data

    def on_message_complete(self) -> None:
        self._done = True

    async def post(self, path: str, body: bytes = b"") -> tuple[int, bytes]:
        self._writer.write(f"POST {path} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n\r\n".encode()
                           + body)
        self._body.clear()
        self._done = False
        while not self._done:
            data = await self._reader.read(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            self._parser.feed_data(data)
        return self._parser.get_status_code(), bytes(self._body)

    def close(self) -> None:
        self._writer.close()


@dataclass
class Tally:
    """What one load-generator process saw: (kind, latency s, status) per recorded request, and counts."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {"next": [], "submit": []})
    requests: int = 0
    errors: int = 0
    submitted: int = 0
    queue_empty: int = 0


async def annotator(host: str, port: int, token: str, project: int, record_from: float, stop: float, seed: int,
                    think: float, tally: Tally) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, think))
    connection = await Connection.open(host, port, token)

    async def call(kind: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        t0 = time.monotonic()
        status, answer = await connection.post(path, body)
        if t0 >= record_from:
            tally.latencies[kind].append(time.monotonic() - t0)
            tally.requests += 1
            tally.errors += status >= 400
        return status, answer

    try:
        while time.monotonic() < stop:
            status, answer = await call("next", f"/api/v1/projects/{project}/tasks/next")
            if status == 204:
                tally.queue_empty += 1
                return
            if status != 200:
                continue
            task_id = json.loads(answer)["id"]
            result = json.dumps({"result": {"labels": [rng.choice(LABELS)]}}).encode()
            status, _ = await call("submit", f"/api/v1/tasks/{task_id}/submit", result)
            tally.submitted += status == 200
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
    finally:
        connection.close()


def load_process(port: int, tokens: list[str], first_seed: int, project: int, start: float, seconds: float,
                 think: float) -> Tally:
    """One load generator: its share of the annotators on one event loop (run in a child process)."""
    tally = Tally()

    async def run() -> None:
        await asyncio.gather(*(annotator("127.0.0.1", port, token, project, start + WARM_UP_S,
                                         start + WARM_UP_S + seconds, first_seed + i, think, tally)
                               for i, token in enumerate(tokens)))

    asyncio.run(run())
    return tally


def load(port: int, server_pid: int, tokens: list[str], project: int, seconds: float, think: float, processes: int
         ) -> tuple[Tally, dict[str, float]]:
    """Run the annotators split over `processes` load generators; the merged tally, and the cores that the
    server and the load generators used while latencies were recorded."""
    shares = [list(range(len(tokens)))[i::processes] for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        start = time.monotonic() + 3.0  # every generator has started (spawn imports this module) by then
        pending = [pool.apply_async(load_process, (port, [tokens[i] for i in share], share[0] if share else 0,
                                                   project, start, seconds, think)) for share in shares]
        time.sleep(max(0.0, start + WARM_UP_S - time.monotonic()))
        before = _cpu_seconds(server_pid), _cpu_seconds(os.getpid(), server_pid), time.monotonic()
        time.sleep(seconds)
        after = _cpu_seconds(server_pid), _cpu_seconds(os.getpid(), server_pid), time.monotonic()
        parts = [p.get() for p in pending]
    merged = Tally()
    for part in parts:
        for kind, values in part.latencies.items():
            merged.latencies[kind] += values
        merged.requests += part.requests
        merged.errors += part.errors
        merged.submitted += part.submitted
        merged.queue_empty += part.queue_empty
    wall = after[2] - before[2]
    return merged, {"server_cores": (after[0] - before[0]) / wall, "clients_cores": (after[1] - before[1]) / wall}


def _cpu_seconds(pid: int, skip: int | None = None) -> float:
    """CPU seconds of a process and its children, leaving out the subtree of `skip` (the server is this
    process's child too; the load generators are its pool's children)."""
    total = 0.0
    stack = [psutil.Process(pid)]
    while stack:
        process = stack.pop()
        if process.pid == skip:
            continue
        try:
            times = process.cpu_times()
            total += times.user + times.system
            stack += process.children()
        except psutil.NoSuchProcess:
            continue
    return total


def percentiles(values: list[float]) -> dict[str, float]:
    ms = np.asarray(values) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "p99": float(np.percentile(ms, 99)), "max": float(ms.max()), "mean": float(ms.mean())}


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
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks in the project (the queue must not run dry)")
    parser.add_argument("--client-processes", type=int, default=1, help="load-generator processes")
    parser.add_argument("--threads", type=int, help="the server's --threads (default: its own)")
    parser.add_argument("--workers", type=int, help="the server's --workers (default: its own)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dt-annotation-load-") as tmp:
        root = Path(tmp) / "ws"
        t0 = time.perf_counter()
        project, tokens = prepare(root, args.annotators, args.overlap, args.tasks)
        load_before = os.getloadavg()[0]
        print(f"setup: {len(tokens)} annotators, project 'load' ({args.tasks} tasks, {args.overlap} annotators per "
              f"task) in {time.perf_counter() - t0:.1f} s; load average {load_before:.2f}")
        port = free_port()
        server = start_server(root, port, args.threads, args.workers)
        try:
            tally, cpu = load(port, server.pid, tokens, project, args.seconds, args.think, args.client_processes)
        finally:
            server.terminate()
            server.wait(timeout=30)
        stored = stored_submissions(root)
    every, elapsed = tally.latencies["next"] + tally.latencies["submit"], args.seconds
    results: dict[str, Any] = {
        "annotators": args.annotators, "think_s": args.think, "threads": args.threads,
        "client_processes": args.client_processes, "seconds": round(elapsed, 2), "requests": tally.requests,
        "requests_per_s": round(tally.requests / elapsed, 1),
        "submits_per_s": round(len(tally.latencies["submit"]) / elapsed, 1), "errors": tally.errors,
        "queue_empty": tally.queue_empty,
        "latency_ms": {kind: percentiles(values) for kind, values in (("all", every), *tally.latencies.items())},
        "stored_equals_submitted": stored == tally.submitted, "server_cores": round(cpu["server_cores"], 2),
        "clients_cores": round(cpu["clients_cores"], 2), "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
    }
    print(f"{args.annotators} annotators in {args.client_processes} load-generator process(es), think "
          f"{args.think} s: {results['requests']} requests in {elapsed:.1f} s: {results['requests_per_s']} "
          f"requests/s, {results['submits_per_s']} submits/s, {tally.errors} errors; CPU: server "
          f"{results['server_cores']} cores, clients {results['clients_cores']} cores; load average after "
          f"{results['load_average_after']:.2f}")
    print(f"{'latency (ms)':<14}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}")
    for kind, p in results["latency_ms"].items():
        print(f"{kind:<14}{p['p50']:>8.1f}{p['p95']:>8.1f}{p['p99']:>8.1f}{p['max']:>8.1f}")
    p99 = results["latency_ms"]["all"]["p99"]
    print(f"p99 {p99:.1f} ms vs target {P99_TARGET_MS:.0f} ms: ratio {P99_TARGET_MS / p99:.2f} "
          f"({'met' if p99 < P99_TARGET_MS else 'NOT met'}); stored annotations = successful submits: "
          f"{results['stored_equals_submitted']} ({stored} vs {tally.submitted})")
    if tally.queue_empty:
        print(f"INVALID RUN: the queue ran dry ({tally.queue_empty} annotators found no task and stopped); "
              "raise --tasks")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
