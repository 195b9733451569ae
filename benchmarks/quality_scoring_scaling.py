"""Benchmark: how Ask-LLM's quality ranking grows with the proxy model's size, on the quality-scoring benchmark's
held-out families of real text, and what each model costs per 1,000 documents.

- Rows: frozen in an addendum (`quality_scoring_scaling.json` to the first settings,
  `quality_scoring_scaling_v2.json` to the second) with its own `frozen_at`, committed before any of its test
  scores. Per model (packaged GGUFs in llama.cpp through the
  `xllamacpp` wheel) and prompt (the paper's, and a few-shot prompt whose two examples come from the
  development build by a fixed rule; checked here to come from no test document): P(yes), normalized, answer-token
  calibration; per model, the n-gram student with the model's signals added. Beside them, the cheap rows on
  the same examples.
- Data: the test build of `benchmarks/quality_scoring.py` (same file, same frozen-settings check), every
  `every`-th example.
- Cost: LLM scores are cached per model (`results/quality_scoring_scaling_<model>.jsonl`, appended per batch
  with its wall time), so a rerun computes nothing and `--compute MODEL` runs can go in parallel.

Usage: python benchmarks/quality_scoring_scaling.py [--settings S --scaling A --built T --dev-built D]
       [--compute MODEL[,MODEL]] [--threads N] [--no-table] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from datatrainer.docs_gen import machine_description, write_result
from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.quality_scoring import benchmark as bench
from datatrainer.evaluation.quality_scoring.fewshot import check_template
from datatrainer.evaluation.quality_scoring.labelled import Example
from datatrainer.evaluation.quality_scoring.protocol import Bootstrap, Folds, PairScores, Summary, summarise
from datatrainer.evaluation.quality_scoring.score_cache import ScoreCache
from datatrainer.evaluation.quality_scoring.settings import ScalingModel, ScalingSettings, load_scaling, load_settings
from datatrainer.evaluation.quality_scoring.sources import GOOD_FAMILIES, JUNK_FAMILIES
from datatrainer.scoring.prompts import PromptTemplate, load_template
from quality_scoring import COLUMNS, HERE, cells, examples_for, progress

Array = np.ndarray[Any, Any]
DOCS = HERE.parent / "docs" / "benchmarks"
FEWSHOT = "fewshot-dev"


def template(prompt: str, scaling: ScalingSettings, settings_dir: Path) -> PromptTemplate:
    return load_template(str(settings_dir / scaling.fewshot.path)) if prompt == FEWSHOT else load_template(prompt)


def names(model: ScalingModel, prompt: str) -> list[str]:
    return [f"{model.model}:{prompt}:log_yes", f"{model.model}:{prompt}:log_no"]


def compute(model: ScalingModel, prompts: list[str], texts: list[str], scaling: ScalingSettings,
            settings_dir: Path, cache: ScoreCache, threads: int | None) -> None:
    """Fill the cache with the model's log P(yes), log P(no) under each prompt (the missing ones only)."""
    from datatrainer.models.lm import load_language_model
    from datatrainer.scoring.ask_llm import AskLLM, AskLLMParams

    loaded: list[AskLLM] = []
    for prompt in prompts:
        def scores(chunk: list[str], prompt: str = prompt) -> dict[str, Array]:
            if not loaded:
                lm = load_language_model(model.model, backend=scaling.backend,  # type: ignore[arg-type]
                                         threads=threads, top_logprobs=scaling.top_logprobs)
                loaded.append(AskLLM(lm, AskLLMParams(max_doc_tokens=scaling.max_doc_tokens), templates=[]))
            ask = loaded[0]
            ask.templates = [template(prompt, scaling, settings_dir)]
            result = ask.score(chunk)
            return dict(zip(names(model, prompt), (np.log(result.p_yes), np.log(result.p_no)), strict=True))

        cache.scores(names(model, prompt), texts, scores, progress=progress(f"{model.model} {prompt}", len(texts)))
        print(file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", type=Path, default=HERE / "quality_scoring_settings_v1.json",
                        help="the settings the addendum extends (the benchmark's first frozen version)")
    parser.add_argument("--scaling", type=Path, default=HERE / "quality_scoring_scaling.json")
    parser.add_argument("--built", type=Path, default=HERE / "results" / "quality_scoring_data.jsonl",
                        help="the test build of those settings")
    parser.add_argument("--dev-built", type=Path, default=HERE / "results" / "quality_scoring_v1_dev.jsonl",
                        help="their development build")
    parser.add_argument("--cache-dir", type=Path, default=HERE / "results")
    parser.add_argument("--compute", default="", help="comma-separated models to score now (default: none; the "
                        "table uses what is cached and marks the rest 'not run')")
    parser.add_argument("--prompts", default="", help="with --compute: only these of each model's prompts")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (a cost knob: on a busy "
                        "machine 1 thread wastes less time at llama.cpp's barriers)")
    parser.add_argument("--no-table", action="store_true", help="only compute")
    parser.add_argument("--json", type=Path, default=DOCS / "quality_scoring_scaling.json")
    args = parser.parse_args()
    args.data, args.rebuild = None, False
    try:
        run(args)
    except DatatrainerError as error:
        sys.exit(f"error: {error}")


def run(args: argparse.Namespace) -> None:
    settings, digest = load_settings(args.settings)
    scaling, scaling_digest = load_scaling(args.scaling, digest)
    test, _ = examples_for(args, settings, digest)
    shot_documents = check_template(args.scaling.parent / scaling.fewshot.path, test,
                                    {**GOOD_FAMILIES, **JUNK_FAMILIES})
    examples = test[::scaling.every]
    texts = [e.text for e in examples]
    models = {m.model: m for m in scaling.models}
    for name in filter(None, args.compute.split(",")):
        if name not in models:
            raise DatatrainerError(f"model {name!r} is not in {args.scaling} ({', '.join(models)})")
        prompts = [p for p in models[name].prompts if not args.prompts or p in args.prompts.split(",")]
        compute(models[name], prompts, texts, scaling, args.scaling.parent, cache_of(args, name), args.threads)
    if not args.no_table:
        table(examples, settings, scaling, scaling_digest, {d.family for d in shot_documents}, args)


def cache_of(args: argparse.Namespace, model: str) -> ScoreCache:
    return ScoreCache(args.cache_dir / f"quality_scoring_scaling_{model}.jsonl")


def table(examples: list[Example], settings: Any, scaling: ScalingSettings, scaling_digest: str,
          fewshot_families: set[str], args: argparse.Namespace) -> None:
    folds = Folds.of(examples)
    texts = [e.text for e in examples]
    scored = bench.cheap_scores(examples, folds, settings)
    costs: dict[str, tuple[float, float | None]] = {}
    ran: dict[str, list[str]] = {}
    for model in scaling.models:
        cache = cache_of(args, model.model)
        prompts = [p for p in model.prompts if all(cache.has(n, texts) for n in names(model, p))]
        ran[model.model] = prompts
        columns = []
        for prompt in prompts:
            values = cache.scores(names(model, prompt), texts, _nothing)
            log_yes, log_no = (values[n] for n in names(model, prompt))
            if not (np.isfinite(log_yes).all() and np.isfinite(log_no).all()):
                raise DatatrainerError(f"{model.model} {prompt}: an answer outside the top {scaling.top_logprobs}")
            rows = bench.ask_llm_rows(f"{model.model} {prompt}", folds, log_yes, log_no, settings.student.C)
            scored += rows
            seconds = cache.seconds_per_text(names(model, prompt)[0])
            costs.update({row.name: (1.0, seconds) for row in rows})
            columns += [log_yes, log_no]
        if columns:
            name = f"{model.model}: student + LLM"
            scored.append(bench.combination(name, examples, folds, settings, np.column_stack(columns)))
            known = [cache.seconds_per_text(names(model, p)[0]) for p in prompts]
            costs[name] = (float(len(prompts)), None if None in known else sum(k or 0.0 for k in known))
    rows = bench.report(examples, folds, scored, settings, costs)
    write_tables(rows, scored, examples, folds, settings, scaling, scaling_digest, ran, fewshot_families, args)


def _nothing(texts: list[str]) -> dict[str, Array]:
    raise DatatrainerError(f"{len(texts)} texts have no cached score")


def _auc(rows: dict[str, bench.Row], name: str) -> str:
    row = rows.get(name)
    return "not run" if row is None else f"{row.summary.auc:.3f} ({row.summary.low:.2f}-{row.summary.high:.2f})"


def write_tables(rows: list[bench.Row], scored: list[PairScores], examples: list[Example], folds: Folds,
                 settings: Any, scaling: ScalingSettings, scaling_digest: str, ran: dict[str, list[str]],
                 fewshot_families: set[str], args: argparse.Namespace) -> None:
    by_name = {r.summary.name: r for r in rows}
    default = by_name[settings.default_scorer]
    student = by_name["student: heuristic signals + n-grams"]
    heuristic = bench.best_heuristic(rows)
    scaling_rows = []
    for model in scaling.models:
        m = model.model
        seconds = [by_name[f"{m} {p}: P(yes)"].seconds for p in ran[m]]
        cost = " / ".join(f"{s * 1000:,.0f}" for s in seconds if s is not None) or "not run"
        scaling_rows.append([m, model.params, model.weights, _auc(by_name, f"{m} paper: P(yes)"),
                             _auc(by_name, f"{m} paper: normalized"),
                             _auc(by_name, f"{m} paper: answer-token calibration"),
                             _auc(by_name, f"{m} {FEWSHOT}: normalized"),
                             _auc(by_name, f"{m} {FEWSHOT}: answer-token calibration"),
                             _auc(by_name, f"{m}: student + LLM"), cost])
    lines = [f"{r.summary.name}: {r.summary.auc:.3f}" for r in (default, student, heuristic)]
    comparisons = []
    for model in scaling.models:
        for name, base in ((f"{model.model} paper: answer-token calibration", default),
                           (f"{model.model} {FEWSHOT}: answer-token calibration", default),
                           (f"{model.model}: student + LLM", default), (f"{model.model}: student + LLM", student)):
            if name in by_name:
                delta, low, high = bench.versus(by_name[name], base)
                comparisons.append(f"{name} minus {base.summary.name} {delta:+.3f} (95% CI {low:+.3f} to "
                                   f"{high:+.3f})")
    clean = [f"{name} {summary.auc:.3f} ({summary.low:.2f}-{summary.high:.2f})"
             for name, summary in without_shot_families(scored, folds, fewshot_families, settings).items()]
    notes = (f"{len(examples)} windows (one in {scaling.every} of the test build; {len(folds.good)} good and "
             f"{len(folds.junk)} low-quality families, {len(set(folds.sources))} source documents); mean held-out "
             f"ROC-AUC over (good, low-quality) family pairs, 95% interval from bootstrap draws over source "
             f"documents. Baselines on the same windows: {'; '.join(lines)}. Paired differences: "
             f"{'; '.join(comparisons)}. The few-shot examples come from development-build documents of the "
             f"families {', '.join(sorted(fewshot_families))}; over the pairs without those families the few-shot "
             f"rows score {'; '.join(clean) or 'not run'}. Seconds per 1,000 documents (paper / few-shot) are "
             f"wall time of llama.cpp ({scaling.backend}, --threads {args.threads or 'all'}) on "
             f"{machine_description()} (load average {os.getloadavg()[0]:.1f} at the end of the table; the v1 "
             f"rows were computed at 10-15 on 2 cores, which overstates an idle machine's cost several times). "
             f"Rows frozen in {args.scaling.name} (sha256 "
             f"{scaling_digest[:12]}, frozen {scaling.frozen_at.isoformat()}).")
    command = "python benchmarks/quality_scoring_scaling.py"
    write_result(args.json, title="Ask-LLM quality by proxy model size, held-out families of real text",
                 script="benchmarks/quality_scoring_scaling.py", command=command, peer="", peer_version="",
                 columns=["model", "parameters", "weights", "paper: P(yes)", "paper: normalized",
                          "paper: calibrated", "few-shot: normalized", "few-shot: calibrated",
                          "cheap student + LLM", "s per 1,000 docs"], rows=scaling_rows, notes=notes)
    print(f"wrote {args.json}")
    full = args.json.with_name(f"{args.json.stem}_rows{args.json.suffix}")
    write_result(full, title="Every row of the proxy-size benchmark, held-out families of real text",
                 script="benchmarks/quality_scoring_scaling.py", command=command, peer="", peer_version="",
                 columns=COLUMNS, rows=[cells(r) for r in rows], notes=winners_note(rows))
    print(f"wrote {full}")
    for row in rows:
        print(" | ".join(str(c) for c in cells(row)))
    print(notes)


def winners_note(rows: list[bench.Row]) -> str:
    base = bench.best_heuristic(rows)
    return "Winner per family (mean AUC against the other class): " + "; ".join(
        f"{family}: {name} {next(r for r in rows if r.summary.name == name).summary.per_family[family]:.3f} "
        f"({base.summary.name} {base.summary.per_family[family]:.3f})" for family, name in bench.winners(rows).items())


def without_shot_families(scored: list[PairScores], folds: Folds, families: set[str], settings: Any
                          ) -> dict[str, Summary]:
    """The few-shot rows' mean AUC and interval over the pairs that involve no family of the prompt's examples."""
    boot = Bootstrap(folds, settings.bootstrap.draws, settings.bootstrap.seed)
    out = {}
    for scores in scored:
        if FEWSHOT in scores.name and "P(yes)" not in scores.name:
            aucs = {pair: v for pair, v in boot.pair_aucs(scores).items() if not set(pair) & families}
            out[scores.name] = summarise(scores.name, aucs)
    return out


if __name__ == "__main__":
    main()
