"""Benchmark: CPU cost of the annotator's loop (next task, submit), in-process and through the real ASGI app.

What is measured, and why: the load benchmark (`annotation_load.py`) reports wall-clock latency, which on a
shared machine mostly measures the other jobs. What the server's code decides is the CPU it spends per
request, and that is measurable on a busy machine: this script counts the process's CPU seconds
(`time.process_time`, every thread) spent on `--pairs` next-task + submit pairs, after `--warm-up` pairs, and
repeats that `--repeat` times; the report gives the median and the spread of the repeats. With `--callgrind OUT`
(the script then runs itself under `valgrind --tool=callgrind --instr-atstart=no`, writing to OUT), each round
counts the instructions it executed instead: a number independent of the machine's load, with start-up and
warm-up left out (instrumentation starts after the warm-up; counters are dumped around each round).

Two paths:
- `service`: `ws.annotation.next_task` + `submit` called directly, as the CLI and the Python API do.
- `asgi`: the same two requests as the load benchmark sends (bearer token, JSON body) through `create_app`'s
  ASGI app on one event loop, one request at a time: routing, middleware, authentication, validation, the
  thread-pool hop and the response, everything but the socket and uvicorn's HTTP parsing.
- `asgi-inline`: the same without the thread-pool hop (the route's work runs on the event loop's thread), for
  `--profile`: cProfile sees only the thread it runs in.

Usage: python benchmarks/annotation_cpu.py prepare DIR [--annotators 50] [--tasks 6000]
       python benchmarks/annotation_cpu.py run DIR [--mode asgi|service] [--pairs 400] [--warm-up 100]
       [--repeat 5] [--profile OUT.prof] [--json OUT]
The script runs against whichever datatrainer is first on the path, so the same script measures older code
(`PYTHONPATH=/path/to/old/src`); `prepare` then makes a workspace of that code's schema.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datatrainer.annotation.types import local_admin
from datatrainer.corpora import news_articles, write_jsonl
from datatrainer.workspace import Workspace

LABELS = ["politics", "sport", "other"]
TOKENS_FILE = "bench-tokens.json"


def prepare(root: Path, annotators: int, tasks: int) -> None:
    """A workspace with one classification project (overlap 3) and `annotators` users with API tokens."""
    texts = [s.strip() for article in news_articles() for s in article["text"].split(". ") if len(s.strip()) > 30]
    source = root.parent / f"{root.name}-sentences.jsonl"
    write_jsonl(iter({"id": f"s{i}", "text": texts[i % len(texts)]} for i in range(tasks)), source)
    with Workspace.init(root) as ws:
        ws.ingest(source, "sentences")
        svc, admin = ws.annotation, local_admin()
        project = svc.create_project(admin, "load", "sentences", "classification", LABELS, overlap=3).id
        tokens = {}
        for i in range(annotators):
            name = f"annotator{i:02d}"
            svc.create_user(admin, name, "load-test-password")
            svc.add_member(admin, project, name, "annotator")
            tokens[name] = svc.create_api_token(admin, "load", username=name).token
    (root / TOKENS_FILE).write_text(json.dumps({"project": project, "tokens": tokens}))


class AsgiClient:
    """Requests into an ASGI app on the current event loop, with no socket: scope, body and the answer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(self, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, bytes]:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode()),
                             (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
        sent = False
        status, chunks = 0, []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)  # a disconnect never comes while the app answers
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


def _setup(root: Path, annotators: int | None) -> tuple[int, dict[str, str]]:
    """The project and the first `annotators` annotators' tokens (None: all of them) of a prepared workspace."""
    setup = json.loads((root / TOKENS_FILE).read_text())
    return setup["project"], dict(list(setup["tokens"].items())[:annotators])


def _loop_service(root: Path, annotators: int | None) -> tuple[Callable[[int], int], Callable[[], None]]:
    """`pairs(n)` runs n next+submit pairs round-robin over the annotators in-process; returns the submits."""
    ws = Workspace.open(root)
    project, tokens = _setup(root, annotators)
    svc = ws.annotation
    users = [svc.get_user(name) for name in tokens]
    gc.collect()
    gc.freeze()
    turn = [0]

    def pairs(n: int) -> int:
        done = 0
        for _ in range(n):
            user = users[turn[0] % len(users)]
            turn[0] += 1
            task = svc.next_task(user, project)
            if task is None:
                raise SystemExit("the queue ran dry: prepare more --tasks")
            svc.submit(user, task.id, {"labels": [LABELS[turn[0] % 3]]})
            done += 1
        return done

    return pairs, ws.close


def _loop_asgi(root: Path, annotators: int | None, inline: bool = False
               ) -> tuple[Callable[[int], int], Callable[[], None]]:
    """`pairs(n)` sends n POST tasks/next + POST submit pairs through the app; every answer must be 200.

    `inline` runs the routes' thread-pool work on the event loop's thread instead, so that a profiler of that
    thread sees all of a request's work (the hop itself is then left out)."""
    from datatrainer.server import deps
    from datatrainer.server.app import create_app
    from datatrainer.server.run import freeze_startup_objects

    if inline:
        async def direct(work: Callable[[], Any]) -> Any:
            return work()

        deps.run_in_threadpool = direct  # type: ignore[assignment]

    project, by_name = _setup(root, annotators)
    app = create_app(root)
    freeze_startup_objects()  # as `datatrainer serve` does: full collections then skip the start-up objects
    client, tokens = AsgiClient(app), list(by_name.values())
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    turn = [0]

    async def run(n: int) -> int:
        done = 0
        for _ in range(n):
            token = tokens[turn[0] % len(tokens)]
            turn[0] += 1
            status, answer = await client.request("POST", f"/api/v1/projects/{project}/tasks/next", token)
            if status != 200:
                raise SystemExit(f"tasks/next answered {status}: {answer[:200]!r}")
            task = json.loads(answer)["id"]
            body = json.dumps({"result": {"labels": [LABELS[turn[0] % 3]]}}).encode()
            status, answer = await client.request("POST", f"/api/v1/tasks/{task}/submit", token, body)
            if status != 200:
                raise SystemExit(f"submit answered {status}: {answer[:200]!r}")
            done += 1
        return done

    def close() -> None:
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()

    return (lambda n: loop.run_until_complete(run(n))), close


class Instructions:
    """Instruction counts of this process, read from callgrind (which this process runs under): `dump()` writes
    the counts since the last dump to a new numbered file beside OUT and returns them."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._vgdb("instrumentation", "on")
        self.dump()

    def _vgdb(self, *command: str) -> None:
        subprocess.run(["vgdb", f"--pid={os.getpid()}", *command], check=True, capture_output=True, timeout=600)

    def dump(self) -> int:
        self._vgdb("dump")
        dumps = [p for p in self.out.parent.glob(f"{self.out.name}.*") if p.suffix[1:].isdigit()]
        newest = max(dumps, key=lambda p: int(p.suffix[1:]))
        return next(int(line.split()[1]) for line in newest.read_text().splitlines() if line.startswith("totals:"))


def measure(root: Path, mode: str, pairs: int, warm_up: int, repeat: int, profile: Path | None,
            callgrind: Path | None = None, annotators: int | None = None) -> dict[str, Any]:
    run, close = (_loop_service(root, annotators) if mode == "service"
                  else _loop_asgi(root, annotators, inline=mode == "asgi-inline"))
    try:
        run(warm_up)
        per_pair = []
        if callgrind is not None:
            counter = Instructions(callgrind)
            overhead = counter.dump()  # a dump right after a dump: what dumping itself costs
            for _ in range(repeat):
                run(pairs)
                per_pair.append((counter.dump() - overhead) / pairs / 1e6)
            return {"mode": mode, "pairs": pairs, "repeat": repeat, "unit": "million instructions",
                    "per_pair": per_pair, "median_per_pair": statistics.median(per_pair),
                    "median_per_request": statistics.median(per_pair) / 2}
        for _ in range(repeat):
            cpu0 = time.process_time()
            run(pairs)
            per_pair.append((time.process_time() - cpu0) / pairs * 1000)
        if profile is not None:
            profiler = cProfile.Profile()
            profiler.runcall(run, pairs)
            profiler.dump_stats(profile)
    finally:
        close()
    return {"mode": mode, "pairs": pairs, "repeat": repeat, "unit": "CPU ms", "per_pair": per_pair,
            "median_per_pair": statistics.median(per_pair), "median_per_request": statistics.median(per_pair) / 2}


def main() -> int | None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("prepare", help="make the workspace")
    made.add_argument("root", type=Path)
    made.add_argument("--annotators", type=int, default=50)
    made.add_argument("--tasks", type=int, default=6000)
    ran = commands.add_parser("run", help="measure CPU per pair")
    ran.add_argument("root", type=Path)
    ran.add_argument("--mode", choices=("asgi", "asgi-inline", "service"), default="asgi")
    ran.add_argument("--pairs", type=int, default=400)
    ran.add_argument("--warm-up", type=int, default=100)
    ran.add_argument("--repeat", type=int, default=5)
    ran.add_argument("--profile", type=Path, help="also profile one more round into this cProfile file")
    ran.add_argument("--annotators", type=int, help="take turns among the first N annotators (default: all); "
                     "each token records its use once a minute, which under callgrind's slowdown is often")
    ran.add_argument("--callgrind", type=Path, help="count instructions under callgrind, its output file here")
    ran.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.root, args.annotators, args.tasks)
        return
    if args.callgrind is not None and not os.environ.get("BENCH_UNDER_CALLGRIND"):
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={args.callgrind}",
                   sys.executable, *sys.argv]
        return subprocess.run(command, env={**os.environ, "BENCH_UNDER_CALLGRIND": "1"}, check=False).returncode
    result = measure(args.root, args.mode, args.pairs, args.warm_up, args.repeat, args.profile, args.callgrind,
                     args.annotators)
    spread = ", ".join(f"{v:.3f}" for v in result["per_pair"])
    print(f"{args.mode}: {result['unit']} per next+submit pair {result['median_per_pair']:.3f} (median of "
          f"{args.repeat} rounds of {args.pairs}: {spread}); per request {result['median_per_request']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
