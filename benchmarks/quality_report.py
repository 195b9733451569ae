"""Benchmark: the full quality report (`build_report` + `write_report`) on a million generated records.

Target (issue 3): under 120 s on 2 cores for 1M ~150-word records. There is no peer tool to compare with,
so the script prints seconds per stage and the total, the CPU seconds used (the machine may be shared: the
load average is printed too), and peak RSS.

The data is generated vectorised (no loop per record) so that every metric has something to find: two
labelled classes with different word distributions (2% of labels flipped), collection dates over seven
years (5% missing), 2% near-duplicates (half with a conflicting label), and a little junk of each kind
(placeholders, mojibake, control characters, repeated lines, German text, a minority source format).
It is written to Parquet and ingested (timed apart: ingest has its own benchmark); then
`datatrainer quality report` runs on the ingested version in a child process, so that its wall time, CPU
time and peak RSS are its own. Stage times come from the report's JSON twin.

Usage: python benchmarks/quality_report.py [--records N] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import vocabulary  # the same English vocabulary as the ingest benchmark

TARGET_S = 120.0
REPORT_FLAGS = ["--labels", "science,sports", "--required", "text,label,source", "--reference-date", "2026-01-01"]
BLOCK = 50_000
GERMAN = ["der", "die", "und", "das", "ist", "nicht", "mit", "auf", "für", "eine", "werden", "sich", "von", "dem",
          "den", "zu", "Regierung", "Stadt", "heute", "Menschen", "Jahr", "gegen", "nach", "bei", "wurde", "über",
          "noch", "sind", "auch", "wie"]
START = np.datetime64("2019-01-01T00:00:00", "us")
SPAN_US = int(np.timedelta64(7 * 365, "D") / np.timedelta64(1, "us"))


def _sampling_table(weights: np.ndarray, size: int = 1 << 20) -> np.ndarray:
    """Indices laid out so that a uniform random entry is index i with probability weights[i] / sum."""
    cdf = np.cumsum(weights / weights.sum())
    return np.searchsorted(cdf, (np.arange(size) + 0.5) / size).clip(0, len(weights) - 1).astype(np.int64)


class TextMaker:
    """Texts as Arrow string arrays assembled from "word + separator" pieces with one `take`."""

    def __init__(self, words: list[str], rng: np.random.Generator) -> None:
        seps = [" ", " ", " ", ", ", ". ", ".\n"]
        self.pieces = pa.array([w + s for w in words for s in seps] + [w + "." for w in words], pa.string())
        self.words, self.seps = len(words), len(seps)
        zipf = 1.0 / np.arange(1, len(words) + 1) ** 1.05
        self.rank_table = _sampling_table(zipf)
        self.sep_table = _sampling_table(np.array([0.3, 0.3, 0.26, 0.06, 0.06, 0.02]))
        self.rng = rng

    def make(self, counts: np.ndarray, classes: np.ndarray | None = None,
             permutations: np.ndarray | None = None) -> pa.Array:
        """One text per entry of `counts` (its number of words); with `classes`, text i ranks word popularity
        by `permutations[classes[i]]` (so each class has its own favourite words)."""
        total = int(counts.sum())
        ranks = self.rank_table[self.rng.integers(0, len(self.rank_table), total)]
        if classes is not None and permutations is not None:
            ranks = permutations[np.repeat(classes, counts), ranks]
        sep = self.sep_table[self.rng.integers(0, len(self.sep_table), total)]
        ends = np.cumsum(counts) - 1
        ids = ranks * self.seps + sep
        ids[ends] = self.words * self.seps + ranks[ends]  # the last word ends with a full stop
        taken = self.pieces.take(pa.array(ids))
        offsets = np.frombuffer(taken.buffers()[1], dtype=np.int32)[: total + 1]
        bounds = np.concatenate([[0], np.cumsum(counts)])
        return pa.StringArray.from_buffers(len(counts), pa.py_buffer(offsets[bounds].copy()), taken.buffers()[2])


def block(first: int, n: int, english: TextMaker, german: TextMaker, permutations: np.ndarray,
          rng: np.random.Generator) -> pa.Table:
    """`n` records numbered from `first`, with everything planted (see the module docstring)."""
    labels = rng.integers(0, 2, n)
    counts = np.clip(rng.normal(150, 30, n), 20, 400).astype(np.int64)
    texts = english.make(counts, labels, permutations)
    # Near-duplicates: copies of an earlier record of the block plus a short tail.
    dup = rng.random(n) < 0.02
    dup[0] = False
    sources = (rng.random(n) * np.arange(n)).astype(np.int64)
    copied = pc.binary_join_element_wise(texts.take(pa.array(sources)), pa.scalar(" Reported today."), "")
    texts = pc.if_else(pa.array(dup), copied, texts)
    labels = np.where(dup, np.where(rng.random(n) < 0.5, labels[sources], 1 - labels[sources]), labels)
    junk = rng.random(n)
    texts = pc.if_else(pa.array(junk < 0.005), pa.scalar("N/A"), texts)
    texts = pc.if_else(pa.array((junk >= 0.005) & (junk < 0.015)),
                       pc.replace_substring(texts, " the ", " thÃ© ", max_replacements=2), texts)
    texts = pc.if_else(pa.array((junk >= 0.015) & (junk < 0.02)),
                       pc.binary_join_element_wise(texts, pa.scalar("\x07"), ""), texts)
    repeated = pc.binary_repeat(pa.scalar("Click here to subscribe to our newsletter.\n"), 12)
    texts = pc.if_else(pa.array((junk >= 0.02) & (junk < 0.025)), repeated, texts)
    german_rows = (junk >= 0.025) & (junk < 0.03)
    texts = pc.replace_with_mask(texts, pa.array(german_rows), german.make(counts[german_rows]))
    flipped = rng.random(n) < 0.02
    labels = np.where(flipped, 1 - labels, labels)
    created = START + rng.integers(0, SPAN_US, n).astype("timedelta64[us]")
    ids = pc.binary_join_element_wise(pa.scalar("doc-"), pc.cast(pa.array(np.arange(first, first + n)),
                                                                  pa.string()), "")
    return pa.table({
        "id": ids, "text": texts,
        "label": pa.array(["sports", "science"]).take(pa.array(labels)),
        "source": pa.array(["web-crawl", "Web-Crawl"]).take(pa.array((rng.random(n) < 0.01).astype(np.int8))),
        "created": pa.array(created, pa.timestamp("us", tz="UTC"), mask=rng.random(n) < 0.05),
    })


def generate(path: Path, records: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    words = vocabulary()
    english, german = TextMaker(words, rng), TextMaker(GERMAN, rng)
    permutations = np.stack([np.arange(len(words)), rng.permutation(len(words))])
    with pq.ParquetWriter(path, block(0, 1, english, german, permutations, rng).schema) as writer:
        for first in range(0, records, BLOCK):
            writer.write_table(block(first, min(BLOCK, records - first), english, german, permutations, rng))


def run_report(workspace: Path) -> tuple[float, float, float]:
    """`datatrainer quality report` in a child process: (wall seconds, CPU seconds, peak RSS in MB)."""
    command = [sys.executable, "-m", "datatrainer", "--no-progress", "-w", str(workspace), "quality", "report",
               "bench", *REPORT_FLAGS]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"the report failed:\n{output[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, help="where data and workspace go (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (report included)")
    args = parser.parse_args()

    import datatrainer as dt
    from datatrainer.io.ingest import IngestOptions

    work = args.workdir or Path(tempfile.mkdtemp(prefix="quality-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        generate(work / "data.parquet", args.records)
        print(f"generated {args.records:,} records in {time.perf_counter() - started:.1f} s")
        with dt.Workspace.init(work / "ws") as ws:
            started = time.perf_counter()
            version = ws.ingest(work / "data.parquet", "bench", IngestOptions(collected_at_field="created"))
            print(f"ingested in {time.perf_counter() - started:.1f} s (not part of the report time)")
        load = os.getloadavg()[0]
        wall, cpu, rss = run_report(work / "ws")
        twin = json.loads((work / "ws" / "reports" / "quality-bench-1.json").read_text())
        print(f"\n`datatrainer quality report` on {version.num_rows:,} records ({os.cpu_count()} CPUs):")
        for stage, seconds in twin["summary"]["timings"].items():
            print(f"  {stage:<16}{seconds:8.1f} s")
        print(f"  {'total':<16}{wall:8.1f} s   (the whole command, imports and writing included)   "
              f"target < {TARGET_S:.0f} s: {'PASS' if wall < TARGET_S else 'FAIL'}")
        print(f"CPU {cpu:.1f} s (user + system, {cpu / wall:.2f} cores busy on average); load average "
              f"before/after: {load:.1f} / {os.getloadavg()[0]:.1f}; peak RSS {rss:,.0f} MB")
        summary = twin["summary"]
        headline = {"completeness": summary["completeness"]["rate"], "error rate": summary["errors"]["rate"],
                    "label issues": summary["label_errors"]["rate"], "coherence": summary["coherence"]["index"],
                    "freshness": summary["freshness"]["score"]}
        print("headline: " + ", ".join(f"{name} {value:.4f}" for name, value in headline.items()))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
