"""Benchmark: how well each quality scorer ranks real good text above real low-quality text, on families of
text it was never fitted on.

- Data: windows of real documents installed on this machine (`datatrainer.evaluation.quality_scoring`:
  Wikipedia and news from gensim, package descriptions, manual pages, docstrings, HTML documentation and code
  comments as good text; navigation extracted from real HTML, logs, licence files, changelogs, file listings
  and source code as low-quality text), with word count and final punctuation matched between the classes.
  Or your own labelled JSONL (`--data FILE`: text, label, optional family and source).
- Settings: every prompt and hyper-parameter comes from the settings file (`--settings`), frozen before
  the data is built; the data file records the settings' hash and is refused under other settings.
- Protocol: leave-one-family-out pairs with 95% intervals bootstrapped over source documents
  (`quality_scoring.protocol`).
- LLM scores are cached in `--cache` (JSONL, appended per batch): an interrupted run resumes, and a rerun
  computes nothing. Seconds per document are the cached batches' wall time on this machine.

Usage: python benchmarks/quality_scoring.py [--data FILE] [--no-llm] [--rebuild] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from datatrainer.docs_gen import machine_description, write_result
from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.quality_scoring import benchmark as bench
from datatrainer.evaluation.quality_scoring.builder import build, families
from datatrainer.evaluation.quality_scoring.labelled import Example, read_examples, read_header, write_examples
from datatrainer.evaluation.quality_scoring.protocol import Folds
from datatrainer.evaluation.quality_scoring.score_cache import ScoreCache
from datatrainer.evaluation.quality_scoring.settings import Settings, check_frozen, load_settings
from datatrainer.scoring.measured import MEASURED_FILE

HERE = Path(__file__).resolve().parent
Array = np.ndarray[Any, Any]


def examples_for(args: argparse.Namespace, settings: Settings, digest: str) -> list[Example]:
    """The user's labelled file, or the built benchmark (built now if absent or --rebuild)."""
    if args.data is not None:
        return read_examples(args.data)
    path: Path = args.built
    if path.is_file() and not args.rebuild:
        check_frozen(read_header(path), settings, digest, path)
        return read_examples(path)
    exclude = {e.source for e in build(settings.dev_build)} if settings.dev_build is not None else set()
    examples = build(settings.build, exclude=exclude)
    header = {"settings_sha256": digest, "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": machine_description(), "families": families(examples)}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_examples(examples, path, header)
    return examples


def llm_values(texts: list[str], settings: Settings, cache: ScoreCache) -> dict[str, Array]:
    """Cached LLM signals of every text (computing what is missing with the settings' model)."""
    from datatrainer.scoring.ask_llm import AskLLM, AskLLMParams
    from datatrainer.scoring.perplexity import Perplexity, PerplexityParams

    loaded: list[Any] = []

    def model() -> Any:
        if not loaded:
            from datatrainer.models.lm import load_language_model

            loaded.append(load_language_model(settings.llm.model))
        return loaded[0]

    def ask(prompt: str) -> Callable[[list[str]], dict[str, Array]]:
        names = [f"ask-llm:{prompt}:log_yes", f"ask-llm:{prompt}:log_no"]

        def compute(chunk: list[str]) -> dict[str, Array]:
            scores = AskLLM(model(), AskLLMParams(prompts=(prompt,), max_doc_tokens=settings.llm.max_doc_tokens)
                            ).score(chunk)
            return dict(zip(names, (np.log(scores.p_yes), np.log(scores.p_no)), strict=True))

        return compute

    def perplexity(chunk: list[str]) -> dict[str, Array]:
        scores = Perplexity(model(), PerplexityParams(max_tokens=settings.llm.perplexity_max_tokens)).score(chunk)
        return {"perplexity:nll_sum": scores.nll_sum, "perplexity:tokens": scores.tokens}

    jobs = [([f"ask-llm:{p}:log_yes", f"ask-llm:{p}:log_no"], ask(p)) for p in settings.llm.prompts]
    jobs.insert(min(1, len(jobs)), (["perplexity:nll_sum", "perplexity:tokens"], perplexity))  # the cheapest first
    values: dict[str, Array] = {}
    for names, compute in jobs:
        values.update(cache.scores(names, texts, compute, progress=_progress(names[0], len(texts))))
    return values


def cached_values(texts: list[str], settings: Settings, cache: ScoreCache) -> dict[str, Array]:
    """The cached LLM signals of the texts, computing nothing; perplexity only if cached for all of them."""
    names = [f"ask-llm:{p}:{a}" for p in settings.llm.prompts for a in ("log_yes", "log_no")]
    if cache.has("perplexity:nll_sum", texts) and cache.has("perplexity:tokens", texts):
        names += ["perplexity:nll_sum", "perplexity:tokens"]
    return cache.scores(names, texts, _nothing)


def _nothing(texts: list[str]) -> dict[str, Array]:
    raise DatatrainerError(f"{len(texts)} texts have no cached LLM score (--llm-cached computes nothing)")


def _progress(name: str, total: int) -> Any:
    done = [0]

    def advance(count: int) -> None:
        done[0] += count
        print(f"\r{name}: {done[0]}/{total}", end="", file=sys.stderr, flush=True)

    return advance


def distilled_scores(texts: list[str], teacher: Array, settings: Settings) -> Array:
    """The distilled student with its defaults: MiniLM (ONNX) embeddings, self-trained on the teacher."""
    from datatrainer.models.embedders import load_embedder
    from datatrainer.scoring.distilled import DistillParams, self_trained

    vectors = np.asarray(load_embedder("minilm", "onnx").embed(texts), dtype=np.float64)
    params = DistillParams(quantile=settings.distilled.quantile, rounds=settings.distilled.rounds,
                           alpha=settings.distilled.alpha)
    return self_trained(vectors, [teacher], vectors, params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", type=Path, default=HERE / "quality_scoring_settings.json")
    parser.add_argument("--data", type=Path, help="your labelled JSONL instead of the built benchmark")
    parser.add_argument("--built", type=Path, default=HERE / "results" / "quality_scoring_data.jsonl")
    parser.add_argument("--rebuild", action="store_true", help="build the benchmark data again")
    parser.add_argument("--cache", type=Path, default=HERE / "results" / "quality_scoring_llm.jsonl")
    parser.add_argument("--no-llm", action="store_true", help="only the scorers that need no language model")
    parser.add_argument("--llm-cached", action="store_true", help="LLM rows only on the examples whose LLM scores "
                        "are all in the cache (no model is loaded; perplexity rows only if it is cached for them)")
    parser.add_argument("--llm-table-only", action="store_true", help="with --llm-every/--llm-cached: only the LLM "
                        "table (the main table's result file is kept; its measured rows are merged, not replaced)")
    parser.add_argument("--llm-every", type=int, default=1, help="LLM rows on every Nth example only (a second "
                        "table, with the cheap rows again on the same examples): a cost knob, not a setting")
    parser.add_argument("--json", type=Path, help="result file (default with the built data: "
                                                  "docs/benchmarks/quality_scoring.json)")
    args = parser.parse_args()
    try:
        run(args)
    except DatatrainerError as error:
        sys.exit(f"error: {error}")


def run(args: argparse.Namespace) -> None:
    settings, digest = load_settings(args.settings)  # read before any data
    examples = examples_for(args, settings, digest)
    out = args.json or (None if args.data else HERE.parent / "docs" / "benchmarks" / "quality_scoring.json")
    tables = [(examples, args.no_llm or args.llm_every > 1 or args.llm_cached, out)]
    if not args.no_llm and (args.llm_every > 1 or args.llm_cached):
        chosen = examples[::args.llm_every]
        if args.llm_cached:
            cache = ScoreCache(args.cache)
            names = [f"ask-llm:{p}:{a}" for p in settings.llm.prompts for a in ("log_yes", "log_no")]
            chosen = [e for e in chosen if all(cache.has(name, [e.text]) for name in names)]
        tables.append((chosen, False, None if out is None else out.with_name(f"{out.stem}_llm{out.suffix}")))
        if args.llm_table_only:
            tables = tables[1:]
    results: dict[str, Any] = orjson.loads(MEASURED_FILE.read_bytes())["scores"] \
        if args.llm_table_only and MEASURED_FILE.is_file() else {}
    for chosen, cheap_only, path in tables:
        rows, folds, cheap_seconds = evaluate(chosen, settings, args, cheap_only)
        print_table(rows, chosen, folds, settings, digest, cheap_seconds)
        results = {**measured_keys(rows, settings), **results}  # a key measured on an earlier (larger) table stays
        if path is not None:
            write_json(path, rows, chosen, folds, settings, digest, args)
            print(f"wrote {path}")
    if out is not None:
        MEASURED_FILE.write_bytes(orjson.dumps({"source": "benchmarks/quality_scoring.py", "settings_sha256": digest,
                                                "date": datetime.now(UTC).date().isoformat(), "scores": results},
                                               option=orjson.OPT_INDENT_2) + b"\n")
        print(f"wrote {MEASURED_FILE}")


# benchmark rows -> the keys `scoring.measured` matches stored configs by ({model}: the settings' model)
MEASURED_ROWS = {"n-gram classifier (DCLM-style)": "ask-llm:student", "Ask-LLM {prompt}: P(yes)":
                 "ask-llm:{model}:{prompt}:pyes", "Ask-LLM {prompt}: normalized": "ask-llm:{model}:{prompt}:normalized",
                 "perplexity (lower = better)": "perplexity:{model}", "distilled student (defaults)": "distilled"}


def measured_keys(rows: list[bench.Row], settings: Settings) -> dict[str, Any]:
    """What sampling warnings need: per stored-config key, the row's AUC, interval and the best heuristic's AUC
    on the same examples."""
    baseline = bench.best_heuristic(rows).summary
    out = {}
    for prompt in settings.llm.prompts:
        for name, key in MEASURED_ROWS.items():
            row = next((r for r in rows if r.summary.name == name.format(prompt=prompt)), None)
            if row is not None:
                out[key.format(prompt=prompt, model=settings.llm.model)] = {
                    "name": row.summary.name, "auc": round(row.summary.auc, 4),
                    "ci95": [round(row.summary.low, 4), round(row.summary.high, 4)],
                    "baseline": {"name": baseline.name, "auc": round(baseline.auc, 4)}}
    return out


def evaluate(examples: list[Example], settings: Settings, args: argparse.Namespace, cheap_only: bool
             ) -> tuple[list[bench.Row], Folds, float]:
    """Every row on these examples (LLM rows unless `cheap_only`), and the cheap scorers' seconds per text."""
    texts = [e.text for e in examples]
    folds = Folds.of(examples)
    began = time.perf_counter()
    scored = bench.cheap_scores(examples, folds, settings)
    cheap_seconds = (time.perf_counter() - began) / len(texts)
    costs: dict[str, tuple[float, float | None]] = {s.name: (0.0, None) for s in scored}
    if not cheap_only:
        cache = ScoreCache(args.cache)
        llm = cached_values(texts, settings, cache) if args.llm_cached else llm_values(texts, settings, cache)
        paper = llm["ask-llm:paper:log_yes"] - llm["ask-llm:paper:log_no"] if "paper" in settings.llm.prompts \
            else None
        distilled = distilled_scores(texts, paper, settings) if paper is not None else None
        scored += bench.llm_scores(examples, folds, settings, llm, distilled)
        costs.update(llm_costs(cache, settings))
    return bench.report(examples, folds, scored, settings, costs), folds, cheap_seconds


def llm_costs(cache: ScoreCache, settings: Settings) -> dict[str, tuple[float, float | None]]:
    """LLM passes and measured seconds per document of every LLM row."""
    prompts = settings.llm.prompts
    per = {p: cache.seconds_per_text(f"ask-llm:{p}:log_yes") for p in prompts}
    ppl = cache.seconds_per_text("perplexity:nll_sum")
    known = [v for v in (*per.values(), ppl) if v is not None]
    everything = (float(len(prompts) + 1), sum(known) if len(known) == len(prompts) + 1 else None)
    costs: dict[str, tuple[float, float | None]] = {"perplexity (lower = better)": (1.0, ppl)}
    for prompt, seconds in per.items():
        for kind in ("P(yes)", "normalized", "answer-token calibration"):
            costs[f"Ask-LLM {prompt}: {kind}"] = (1.0, seconds)
    costs["distilled student (defaults)"] = (1.0, per.get("paper"))
    costs["student: LLM signals"] = everything
    costs["student: heuristic + LLM signals"] = everything
    costs["student: heuristic + LLM signals + n-grams"] = everything
    costs["rank mean: C4 word share + paper normalized"] = (1.0, per.get("paper"))
    return costs


def _cells(row: bench.Row) -> list[object]:
    s = row.summary
    per_1000 = "" if row.seconds is None else f"{row.seconds * 1000:,.0f}"
    strata = [("" if v is None else f"{v:.3f}") for v in (row.terminal, row.open_end)]
    return [s.name, f"{s.auc:.3f}", f"{s.low:.3f}-{s.high:.3f}", *strata, f"{row.passes:g}", per_1000]


COLUMNS = ["scorer", "held-out ROC-AUC", "95% CI", "ends in . ! ?", "other endings", "LLM passes/doc",
           "s per 1,000 docs"]


def print_table(rows: list[bench.Row], examples: list[Example], folds: Folds, settings: Settings, digest: str,
                cheap_seconds: float) -> None:
    print(f"{len(examples)} examples, {len(folds.good)} good and {len(folds.junk)} low-quality families, "
          f"{len(set(folds.sources))} source documents; settings {digest[:12]} frozen at {settings.frozen_at}")
    print(f"machine: {machine_description()}; cheap scorers together {cheap_seconds * 1000:.1f} s per 1,000 docs")
    print(" | ".join(COLUMNS))
    for row in rows:
        print(" | ".join(str(c) for c in _cells(row)))
    base = bench.best_heuristic(rows)
    best = max((r for r in rows if "shortcut" not in r.summary.name), key=lambda r: r.summary.auc)
    delta, low, high = bench.versus(best, base)
    print(f"best: {best.summary.name} {best.summary.auc:.3f}; vs {base.summary.name}: {delta:+.3f} "
          f"(95% CI {low:+.3f} to {high:+.3f})")
    print("per family:")
    for family, name in bench.winners(rows).items():
        print(f"  {family}: {name} ({next(r for r in rows if r.summary.name == name).summary.per_family[family]:.3f};"
              f" {base.summary.name} {base.summary.per_family[family]:.3f})")


def write_json(path: Path, rows: list[bench.Row], examples: list[Example], folds: Folds, settings: Settings,
               digest: str, args: argparse.Namespace) -> None:
    base = bench.best_heuristic(rows)
    best = max((r for r in rows if "shortcut" not in r.summary.name), key=lambda r: r.summary.auc)
    delta, low, high = bench.versus(best, base)
    winners = bench.winners(rows)
    per_family = "; ".join(f"{family}: {name}" for family, name in winners.items())
    notes = (f"{len(examples)} windows of real documents ({len(folds.good)} good families: {', '.join(folds.good)}; "
             f"{len(folds.junk)} low-quality families: {', '.join(folds.junk)}), {len(set(folds.sources))} source "
             f"documents. Each AUC is the mean over held-out (good family, low-quality family) pairs; a fitted "
             f"scorer never saw either family. 95% intervals: {settings.bootstrap.draws} bootstrap draws over "
             f"source documents. Best: {best.summary.name}, {delta:+.3f} over {base.summary.name} (paired 95% CI "
             f"{low:+.3f} to {high:+.3f}). Winner per family: {per_family}. Settings sha256 {digest[:12]}, frozen "
             f"{settings.frozen_at.isoformat()}. LLM: {settings.llm.model}; seconds on a CPU shared with other "
             f"jobs (load average {os.getloadavg()[0]:.1f} at the end), so they are noisy.")
    command = "python benchmarks/quality_scoring.py" + (" --no-llm" if args.no_llm else "") + (
        f" --llm-every {args.llm_every}" if args.llm_every > 1 else "") + (" --llm-cached" if args.llm_cached else "")
    write_result(path, title="Quality scoring on held-out families of real text",
                 script="benchmarks/quality_scoring.py", command=command, peer="", peer_version="",
                 columns=COLUMNS, rows=[_cells(r) for r in rows], notes=notes)


if __name__ == "__main__":
    main()
