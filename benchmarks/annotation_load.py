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

The peer: with `--label-studio PATH` (the `label-studio` command of a separate virtual environment; never
installed into this project's), the same run is repeated against Label Studio community edition as its users
start it (`label-studio start`: Django's threaded server on its default SQLite database), with the same tasks,
overlap and annotators (one user and legacy API token each), through its REST API: `GET
/api/projects/{id}/next` for the next task and `POST /api/tasks/{id}/annotations` to submit. The report gives
both p99s and the throughput ratio; `--result` writes them for the documentation.

Usage: python benchmarks/annotation_load.py [--annotators 50] [--seconds 20] [--think 0] [--overlap 3] [--tasks 20000]
       [--client-processes 1] [--threads N] [--workers N] [--json OUT] [--label-studio PATH] [--result OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
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
    """One keep-alive HTTP/1.1 connection: send a request with a JSON body, read the status and body of the answer.

    A server that closes the connection after an answer (Django's development server may) is reconnected to
    before the next request; the reconnection is part of that request's latency.
    """

    def __init__(self, host: str, port: int, authorization: str) -> None:
        self._host, self._port = host, port
        self._head = f"Host: {host}:{port}\r\nAuthorization: {authorization}\r\nContent-Type: application/json\r\n"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._body = bytearray()
        self._done = False
        self._parser = httptools.HttpResponseParser(self)

    # httptools callbacks
    def on_body(self, data: bytes) -> None:
        self._body += data

    def on_message_complete(self) -> None:
        self._done = True

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """The answer's status and body; a connection the server closed while idle is reopened once."""
        for attempt in range(2):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            self._parser = httptools.HttpResponseParser(self)
            assert self._reader is not None
            self._writer.write(f"{method} {path} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n\r\n"
                               .encode() + body)
            self._body.clear()
            self._done = False
            started = False
            while not self._done:
                data = await self._reader.read(65536)
                if not data:
                    break
                started = True
                self._parser.feed_data(data)
            if self._done or started:
                if not self._done or not self._parser.should_keep_alive():
                    self.close()  # an answer delimited by the connection's end, or one that asked to close
                return self._parser.get_status_code(), bytes(self._body)
            self.close()
            if attempt:
                raise ConnectionError("the server closed the connection")
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer = None


@dataclass(frozen=True)
class Target:
    """A server under test and how its annotators ask for work and submit (picklable: sent to the generators)."""

    tool: str  # "datatrainer" or "label-studio"
    port: int
    project: int
    tokens: tuple[str, ...]

    def authorization(self, token: str) -> str:
        return f"Bearer {token}" if self.tool == "datatrainer" else f"Token {token}"

    def next_request(self) -> tuple[str, str]:
        if self.tool == "datatrainer":
            return "POST", f"/api/v1/projects/{self.project}/tasks/next"
        return "GET", f"/api/projects/{self.project}/next"

    def no_task(self, status: int) -> bool:
        """Whether the answer says the queue has nothing left for this annotator."""
        return status == 204 if self.tool == "datatrainer" else status == 404

    def submit_request(self, task_id: int, label: str) -> tuple[str, str, bytes]:
        if self.tool == "datatrainer":
            return "POST", f"/api/v1/tasks/{task_id}/submit", json.dumps({"result": {"labels": [label]}}).encode()
        result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]
        return ("POST", f"/api/tasks/{task_id}/annotations?project={self.project}",
                json.dumps({"result": result, "lead_time": 1.0}).encode())


@dataclass
class Tally:
    """What one load-generator process saw: (kind, latency s, status) per recorded request, and counts."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {"next": [], "submit": []})
    requests: int = 0
    errors: int = 0
    submitted: int = 0
    queue_empty: int = 0


async def annotator(target: Target, token: str, record_from: float, stop: float, seed: int, think: float,
                    tally: Tally) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, think))
    connection = Connection("127.0.0.1", target.port, target.authorization(token))

    async def call(kind: str, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        t0 = time.monotonic()
        status, answer = await connection.request(method, path, body)
        if t0 >= record_from:
            tally.latencies[kind].append(time.monotonic() - t0)
            tally.requests += 1
            tally.errors += status >= 400 and not target.no_task(status)
        return status, answer

    try:
        while time.monotonic() < stop:
            status, answer = await call("next", *target.next_request())
            if target.no_task(status):
                tally.queue_empty += 1
                return
            if status != 200:
                continue
            status, _ = await call("submit", *target.submit_request(json.loads(answer)["id"], rng.choice(LABELS)))
            tally.submitted += status in (200, 201)
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
    finally:
        connection.close()


def load_process(target: Target, share: list[int], start: float, seconds: float, think: float) -> Tally:
    """One load generator: its share of the annotators on one event loop (run in a child process)."""
    tally = Tally()

    async def run() -> None:
        await asyncio.gather(*(annotator(target, target.tokens[i], start + WARM_UP_S, start + WARM_UP_S + seconds,
                                         i, think, tally) for i in share))

    asyncio.run(run())
    return tally


def load(target: Target, server_pid: int, seconds: float, think: float, processes: int
         ) -> tuple[Tally, dict[str, float]]:
    """Run the annotators split over `processes` load generators; the merged tally, and the cores that the
    server and the load generators used while latencies were recorded."""
    shares = [list(range(len(target.tokens)))[i::processes] for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        start = time.monotonic() + 3.0  # every generator has started (spawn imports this module) by then
        pending = [pool.apply_async(load_process, (target, share, start, seconds, think)) for share in shares]
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


def run_datatrainer(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    root = tmp / "ws"
    t0 = time.perf_counter()
    project, tokens = prepare(root, args.annotators, args.overlap, args.tasks)
    print(f"datatrainer setup: {len(tokens)} annotators, project 'load' ({args.tasks} tasks, {args.overlap} "
          f"annotators per task) in {time.perf_counter() - t0:.1f} s")
    port = free_port()
    server = start_server(root, port, args.threads, args.workers)
    try:
        tally, cpu = load(Target("datatrainer", port, project, tuple(tokens)), server.pid, args.seconds, args.think,
                          args.client_processes)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return summary("datatrainer", args, tally, cpu, stored_submissions(root))


# --- Label Studio, the peer: its own virtual environment, data folder and server process ---------------------

_LS_USERS = """
import os
from organizations.models import Organization, OrganizationMember
from rest_framework.authtoken.models import Token
from users.models import User
org = Organization.objects.first()
keys = []
for i in range(int(os.environ["BENCH_ANNOTATORS"])):
    user = User.objects.create_user(email=f"annotator{i:02d}@bench.local", password=os.environ["BENCH_PASSWORD"],
                                    username=f"annotator{i:02d}")
    user.active_organization = org
    user.save()
    OrganizationMember.objects.get_or_create(user=user, organization=org)
    keys.append(Token.objects.get_or_create(user=user)[0].key)
print("BENCH-KEYS", " ".join(keys))
"""
_LS_CONFIG = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
              + "".join(f'<Choice value="{label}"/>' for label in LABELS) + "</Choices></View>")


def _ls(command: Path, data: Path, *args: str, stdin: str | None = None, timeout: float = 900) -> str:
    done = subprocess.run([str(command), *args, "--data-dir", str(data)], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "BENCH_PASSWORD": secrets.token_hex(12)})
    if done.returncode != 0:
        raise RuntimeError(f"label-studio {args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


def _ls_api(port: int, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as answer:
        return json.loads(answer.read() or b"null")


def run_label_studio(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Label Studio under the same load: project, tasks, annotators and their tokens, then the same loop."""
    command, data = args.label_studio, tmp / "label-studio"
    admin_token = secrets.token_hex(20)
    t0 = time.perf_counter()
    _ls(command, data, "init", "bench", "--username", "admin@bench.local", "--password", secrets.token_hex(12),
        "--user-token", admin_token, "--enable-legacy-api-token")
    os.environ["BENCH_ANNOTATORS"] = str(args.annotators)
    shell = _ls(command, data, "shell", stdin=f"exec({_LS_USERS!r})\n")
    tokens = next(line for line in shell.splitlines() if "BENCH-KEYS" in line).split("BENCH-KEYS", 1)[1].split()
    port = free_port()
    server = subprocess.Popen([str(command), "start", "bench", "--data-dir", str(data), "--port", str(port),
                               "--no-browser", "--enable-legacy-api-token"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                project = _ls_api(port, admin_token, "GET", "/api/projects")["results"][0]["id"]
                break
            except (OSError, ValueError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Label Studio did not start") from None
                time.sleep(1)
        _ls_api(port, admin_token, "PATCH", f"/api/projects/{project}",
                {"label_config": _LS_CONFIG, "maximum_annotations": args.overlap, "sampling": "Sequential sampling"})
        records = sentences(args.tasks)
        for first in range(0, len(records), 2000):
            _ls_api(port, admin_token, "POST", f"/api/projects/{project}/import",
                    [{"text": r["text"], "record_id": r["id"]} for r in records[first:first + 2000]])
        print(f"Label Studio setup: {len(tokens)} annotators, {args.tasks} tasks in {time.perf_counter() - t0:.1f} s")
        tally, cpu = load(Target("label-studio", port, project, tuple(tokens)), server.pid, args.seconds, args.think,
                          args.client_processes)
        stored = int(_ls_api(port, admin_token, "GET", f"/api/projects/{project}")["total_annotations_number"])
    finally:
        server.terminate()
        server.wait(timeout=60)
    return summary("label-studio", args, tally, cpu, stored)


def label_studio_version(command: Path) -> str:
    python = command.parent / "python"
    done = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('label-studio'))"],
                          capture_output=True, text=True, timeout=120)
    return done.stdout.strip() or "unknown"


def summary(tool: str, args: argparse.Namespace, tally: Tally, cpu: dict[str, float], stored: int) -> dict[str, Any]:
    every, elapsed = tally.latencies["next"] + tally.latencies["submit"], args.seconds
    results: dict[str, Any] = {
        "tool": tool, "annotators": args.annotators, "think_s": args.think, "threads": args.threads,
        "client_processes": args.client_processes, "seconds": round(elapsed, 2), "requests": tally.requests,
        "requests_per_s": round(tally.requests / elapsed, 1),
        "submits_per_s": round(len(tally.latencies["submit"]) / elapsed, 1), "errors": tally.errors,
        "queue_empty": tally.queue_empty,
        "latency_ms": {kind: percentiles(values) for kind, values in (("all", every), *tally.latencies.items())},
        "stored_equals_submitted": stored == tally.submitted, "stored": stored, "submitted": tally.submitted,
        "server_cores": round(cpu["server_cores"], 2), "clients_cores": round(cpu["clients_cores"], 2),
        "load_average_after": os.getloadavg()[0],
    }
    print(f"{tool}: {args.annotators} annotators in {args.client_processes} load-generator process(es), think "
          f"{args.think} s: {results['requests']} requests in {elapsed:.1f} s: {results['requests_per_s']} "
          f"requests/s, {results['submits_per_s']} submits/s, {tally.errors} errors; CPU: server "
          f"{results['server_cores']} cores, clients {results['clients_cores']} cores; load average after "
          f"{results['load_average_after']:.2f}")
    print(f"{'latency (ms)':<14}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}")
    for kind, p in results["latency_ms"].items():
        print(f"{kind:<14}{p['p50']:>8.1f}{p['p95']:>8.1f}{p['p99']:>8.1f}{p['max']:>8.1f}")
    print(f"stored annotations = successful submits: {results['stored_equals_submitted']} ({stored} vs "
          f"{tally.submitted})")
    if tally.queue_empty:
        print(f"INVALID RUN: the queue ran dry ({tally.queue_empty} annotators found no task and stopped); "
              "raise --tasks")
    return results


COLUMNS = ["server", "requests/s", "submits/s", "p50", "p95", "p99", "max", "server cores", "CPU per request",
           "errors", "stored = submitted"]


def _row(result: dict[str, Any]) -> list[object]:
    """One server's line; CPU per request (server cores / requests per s) tells a slower server from a starved one."""
    p = result["latency_ms"]["all"]
    cpu_ms = 1000 * result["server_cores"] / max(result["requests_per_s"], 1e-9)
    return [result["tool"], f"{result['requests_per_s']:,.0f}", f"{result['submits_per_s']:,.0f}",
            f"{p['p50']:.1f} ms", f"{p['p95']:.1f} ms", f"{p['p99']:.1f} ms", f"{p['max']:.0f} ms",
            f"{result['server_cores']:.2f}", f"{cpu_ms:.1f} ms", result["errors"],
            "yes" if result["stored_equals_submitted"] else "NO"]


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
    parser.add_argument("--label-studio", type=Path, help="the `label-studio` command of a separate virtual "
                                                          "environment: run the same load against it too")
    parser.add_argument("--result", type=Path, help="write the table for the documentation here "
                                                    "(docs/benchmarks/annotation-load.json)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="dt-annotation-load-") as tmp:
        runs = [run_datatrainer(args, Path(tmp))]
        if args.label_studio is not None:
            runs.append(run_label_studio(args, Path(tmp)))
    ours = runs[0]
    p99 = ours["latency_ms"]["all"]["p99"]
    print(f"p99 {p99:.1f} ms vs target {P99_TARGET_MS:.0f} ms: ratio {P99_TARGET_MS / p99:.2f} "
          f"({'met' if p99 < P99_TARGET_MS else 'NOT met'})")
    results: dict[str, Any] = {**ours, "load_average_before": load_before, "runs": runs}
    peer_note = ""
    if len(runs) > 1:
        peer = runs[1]
        ratio = ours["requests_per_s"] / max(peer["requests_per_s"], 1e-9)
        results["label_studio"] = {"version": label_studio_version(args.label_studio),
                                   "throughput_ratio": round(ratio, 1),
                                   "p99_ms": peer["latency_ms"]["all"]["p99"]}
        print(f"throughput datatrainer / Label Studio: {ratio:.1f}x; p99 {p99:.1f} ms vs "
              f"{peer['latency_ms']['all']['p99']:.1f} ms")
        peer_note = (f" Throughput ratio datatrainer / Label Studio: {ratio:.1f}x (requests/s); p99 {p99:.1f} ms "
                     f"vs {peer['latency_ms']['all']['p99']:.1f} ms.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.result:
        from datatrainer.docs_gen import write_result

        command = "nice -n 10 .venv/bin/python benchmarks/annotation_load.py " + " ".join(sys.argv[1:])
        pause = f"{args.think} s pauses" if args.think else "no pause"
        write_result(args.result, title="Annotation server under load, beside Label Studio",
                     script="benchmarks/annotation_load.py", command=command,
                     peer="Label Studio community (label-studio start, SQLite)" if len(runs) > 1 else "",
                     peer_version=results.get("label_studio", {}).get("version", ""),
                     columns=COLUMNS,
                     rows=[_row(run) for run in runs],
                     notes=(f"{args.annotators} annotators with {pause} between tasks (next task, submit), each on "
                            f"its own keep-alive connection and token; "
                            f"{args.tasks:,} tasks, {args.overlap} annotators per task; both servers in their default "
                            f"setup on SQLite, one after the other on the same 2 cores, which other jobs shared "
                            f"(load average {load_before:.1f} before the run)." + peer_note))


if __name__ == "__main__":
    main()
