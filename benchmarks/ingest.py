"""Benchmark: `Workspace.ingest` of a JSONL file vs Hugging Face `datasets` on the same file.

What is measured, and why: ingest is the first thing every user runs, on files far larger than memory, so
we want it at least as fast as the obvious alternative (`datasets.load_dataset("json", ...)` followed by
`save_to_disk`, which also leaves a reusable on-disk copy) while keeping peak memory bounded (< 600 MB).

Each run is a fresh child process working in a fresh temp folder, so nothing is cached between runs and
the peak RSS (`ru_maxrss` from `os.wait4`) belongs to that run alone; it includes the interpreter and the
tool's imports. Seconds are timed inside the child around the work only (imports are reported apart). The
file is read once before every run so both tools read it from the page cache. MB means 10^6 bytes.

Usage: python benchmarks/ingest.py [--records N] [--data PATH] [--repeat K] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

LINE_BYTES = 1060  # target average JSONL line size
GENERATOR = 1  # bump when the generated data changes, so cached files are rebuilt
RSS_TARGET_MB = 600
TOOLS = ("datasets", "datatrainer")


def vocabulary() -> list[str]:
    """A few thousand real English words from the Python docs shipped with the stdlib, most frequent first."""
    import pydoc_data.topics

    text = " ".join(pydoc_data.topics.topics.values())
    counts = Counter(w.lower() for w in re.findall(r"(?<![\w.'])[A-Za-z][a-z]+(?![\w(])", text))
    return [w for w, _ in counts.most_common()] + ["a", "I"]


def generate(path: Path, records: int, seed: int = 0) -> None:
    """Write `records` lines of ~150 Zipf-sampled words in sentences, vectorised in blocks of records.

    Each token is one "word + separator" piece; Arrow's `take` concatenates the chosen pieces in C++.
    """
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    words = vocabulary()
    v, digits = len(words), max(8, len(str(records - 1)))
    seps = [" ", ", ", ". ", "? ", "; ", "."]  # the last one ends a record
    sep_p = np.array([0.87, 0.06, 0.06, 0.005, 0.005])
    prefix, suffix = f'{{"id": "doc-{"0" * digits}", "text": "', '"}\n'
    forms = words + [w[0].upper() + w[1:] for w in words]
    pieces = pa.array([w + s for w in forms for s in seps] + [prefix, suffix], type=pa.binary())
    pre, suf = len(pieces) - 2, len(pieces) - 1
    zipf = 1.0 / np.arange(1, v + 1) ** 1.05
    zipf /= zipf.sum()
    word_table = np.searchsorted(np.cumsum(zipf), (np.arange(1 << 20) + 0.5) / (1 << 20)).astype(np.int32)
    sep_table = np.searchsorted(np.cumsum(sep_p), (np.arange(1000) + 0.5) / 1000).astype(np.int32)
    token_bytes = zipf @ np.array([len(w) for w in words]) + sep_p @ np.array([len(s) for s in seps[:5]])
    mean_words = (LINE_BYTES - len(prefix) - len(suffix)) / float(token_bytes)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out:
        for first in range(0, records, 20_000):
            n = min(20_000, records - first)
            counts = np.clip(rng.normal(mean_words, 0.2 * mean_words, n), 20, 4 * mean_words).astype(np.int64)
            total = int(counts.sum())
            ends = np.cumsum(counts)
            begins = ends - counts
            word = word_table[rng.integers(0, 1 << 20, total)]
            sep = sep_table[rng.integers(0, 1000, total)]
            sep[ends - 1] = 5
            capital = np.zeros(total, dtype=np.int32)
            capital[1:] = (sep[:-1] == 2) | (sep[:-1] == 3)
            capital[begins] = 1
            ids = np.empty(total + 2 * n, dtype=np.int32)
            slot = np.arange(total) + 2 * np.repeat(np.arange(n), counts) + 1
            ids[slot] = (word + v * capital) * len(seps) + sep
            ids[begins + 2 * np.arange(n)] = pre
            ids[ends + 2 * np.arange(n) + 1] = suf
            taken = pieces.take(pa.array(ids))
            offsets = np.frombuffer(taken.buffers()[1], dtype=np.int32)[: len(ids) + 1]
            data = np.frombuffer(taken.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]].copy()
            number = np.arange(first, first + n)[:, None] // 10 ** np.arange(digits - 1, -1, -1) % 10
            where = offsets[:-1][ids == pre][:, None] - offsets[0] + len('{"id": "doc-') + np.arange(digits)
            data[where] = (number + ord("0")).astype(np.uint8)
            data.tofile(out)
    meta = {"records": records, "bytes": tmp.stat().st_size, "generator": GENERATOR, "seed": seed}
    path.with_name(path.name + ".meta.json").write_text(json.dumps(meta))
    tmp.replace(path)


def prepare(path: Path, records: int) -> int:
    """Reuse `path` if this script made it with the same size, else (re)generate; return its record count."""
    meta_path = path.with_name(path.name + ".meta.json")
    if path.exists() and not meta_path.exists():
        with path.open("rb") as f:
            lines = sum(block.count(b"\n") for block in iter(lambda: f.read(64 << 20), b""))
        print(f"using existing {path} as is ({lines:,} lines, not generated by this script)")
        return lines
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if path.exists() and meta.get("generator") == GENERATOR and meta.get("records") == records \
            and meta.get("bytes") == path.stat().st_size:
        print(f"reusing {path}")
        return records
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generate(path, records)
    size = path.stat().st_size
    print(f"generated {path}: {records:,} records, {size / 1e6:,.0f} MB ({size / records:.0f} B/line) "
          f"in {time.perf_counter() - started:.1f} s")
    return records


def child(tool: str, data: Path, work: Path) -> dict[str, Any]:
    """The measured work, run inside the child process."""
    started = time.perf_counter()
    if tool == "datasets":
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
        version = datasets.__version__
        imported = time.perf_counter()
        ds = datasets.load_dataset("json", data_files=str(data), split="train", cache_dir=str(work / "cache"))
        ds.save_to_disk(str(work / "saved"))
        rows = ds.num_rows
    else:
        import datatrainer as dt

        version = dt.__version__
        imported = time.perf_counter()
        with dt.Workspace.init(work / "ws") as ws:
            rows = ws.ingest(data, "bench").num_rows
    done = time.perf_counter()
    return {"version": version, "rows": rows, "import_s": imported - started, "seconds": done - imported}


def run_once(tool: str, data: Path) -> dict[str, Any] | None:
    """Warm the page cache, run one child in a fresh temp folder, return its result with its peak RSS."""
    with data.open("rb") as f:
        while f.read(64 << 20):
            pass
    work = Path(tempfile.mkdtemp(prefix=f"run-{tool}-", dir=data.parent))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATATRAINER_")}
    env.update(HF_HOME=str(work / "hf-home"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               HF_DATASETS_DISABLE_PROGRESS_BARS="1")
    cmd = [sys.executable, __file__, "--child", tool, "--data", str(data), "--workdir", str(work)]
    try:
        with tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env)
            assert proc.stdout is not None
            out = proc.stdout.read()
            proc.stdout.close()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - started
            if proc.returncode != 0:
                err.seek(0)
                print(f"{tool} failed (exit {proc.returncode}):\n{err.read().decode(errors='replace')[-3000:]}")
                return None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    result.update(tool=tool, process_s=wall, peak_rss_mb=usage.ru_maxrss * 1024 / 1e6,
                  process_cpu_s=usage.ru_utime + usage.ru_stime)
    print(f"  {tool:<12} {result['seconds']:7.2f} s  peak RSS {result['peak_rss_mb']:6.0f} MB  "
          f"(imports {result['import_s']:.2f} s, process {wall:.2f} s, process CPU {result['process_cpu_s']:.2f} s)",
          flush=True)
    return result


def summarise(runs: list[dict[str, Any]], records: int, size: int) -> dict[str, Any]:
    seconds = [r["seconds"] for r in runs]
    best, median = min(seconds), statistics.median(seconds)
    return {"rows": runs[0]["rows"], "version": runs[0]["version"], "best_s": best, "median_s": median,
            "records_per_s": records / best, "median_records_per_s": records / median,
            "mb_per_s": size / 1e6 / best, "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "import_s": statistics.median(r["import_s"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, help="JSONL file (default ~/.cache/datatrainer-bench/ingest-N.jsonl)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool, alternating")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.data, args.workdir)))
        return
    data: Path = (args.data or Path.home() / ".cache" / "datatrainer-bench" / f"ingest-{args.records}.jsonl")
    data = data.expanduser().resolve()
    records = prepare(data, args.records)
    size = data.stat().st_size
    runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in TOOLS}
    for i in range(args.repeat):
        print(f"run {i + 1}/{args.repeat}")
        for tool in TOOLS:
            result = run_once(tool, data)
            if result is not None:
                runs[tool].append(result)
    summary = {tool: summarise(r, records, size) for tool, r in runs.items() if r}
    print(f"\n{records:,} records, {size / 1e6:,.0f} MB, {os.cpu_count()} CPUs, best of {args.repeat}")
    print(f"{'tool':<22}{'records':>10}{'best s':>9}{'median s':>10}{'records/s':>11}{'MB/s':>8}"
          f"{'peak RSS MB':>13}{'import s':>10}")
    for tool, s in summary.items():
        print(f"{tool + ' ' + s['version']:<22}{s['rows']:>10,}{s['best_s']:>9.2f}{s['median_s']:>10.2f}"
              f"{s['records_per_s']:>11,.0f}{s['mb_per_s']:>8.1f}{s['peak_rss_mb']:>13.0f}{s['import_s']:>10.2f}")
        if s["rows"] != records:
            print(f"  warning: {tool} produced {s['rows']:,} rows, expected {records:,}")
    verdict: dict[str, Any] = {}
    if len(summary) == len(TOOLS):
        ours, peer = summary["datatrainer"], summary["datasets"]
        ratio = ours["records_per_s"] / peer["records_per_s"]
        median_ratio = ours["median_records_per_s"] / peer["median_records_per_s"]
        verdict = {"ratio": ratio, "median_ratio": median_ratio, "speed_pass": ratio >= 1.0,
                   "rss_pass": ours["peak_rss_mb"] < RSS_TARGET_MB}
        print(f"ratio (ours/datasets records/s): {ratio:.2f} (median {median_ratio:.2f})  "
              f"target >= 1.0: {'PASS' if verdict['speed_pass'] else 'FAIL'}")
        print(f"peak RSS {ours['peak_rss_mb']:.0f} MB  target < {RSS_TARGET_MB} MB: "
              f"{'PASS' if verdict['rss_pass'] else 'FAIL'}")
    else:
        print("a tool failed; no comparison")
    if args.json:
        args.json.write_text(json.dumps({"data": str(data), "records": records, "bytes": size,
                                         "cpus": os.cpu_count(), "repeat": args.repeat, "summary": summary,
                                         "runs": runs, **verdict}, indent=2))


if __name__ == "__main__":
    main()
