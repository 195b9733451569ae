"""Benchmark: how well each quality scorer ranks real good text above real low-quality text, on families of
text it was never fitted on.

- Data: windows of real documents (`datatrainer.evaluation.quality_scoring`: Wikipedia and news from gensim,
  package descriptions, manual pages, docstrings, HTML documentation and code comments as good text;
  navigation extracted from real HTML, logs, licence files, changelogs, file listings and source code as
  low-quality text), with word count and final punctuation matched between the classes. Built once from
  this machine's files into `data/` (a test and a development build, committed: the files they came from
  change), or your own labelled JSONL (`--data FILE`: text, label, optional family and source).
- Settings: every prompt and hyper-parameter, and which row is the default, comes from the settings file
  (`--settings`), frozen before the test data is built; the data file records the settings' hash and is
  refused under other settings. `--dev` runs the cheap rows within the development build, where choices are
  made; `--fit-default` refits the weights the package ships.
- Protocol: leave-one-family-out pairs with 95% intervals bootstrapped over source documents
  (`quality_scoring.protocol`); fitted scorers also learn from the development build's other families when
  the settings say so.
- LLM scores are cached in `--cache` (JSONL, appended per batch): an interrupted run resumes, and a rerun
  computes nothing. Seconds per document are the cached batches' wall time on this machine.

Usage: python benchmarks/quality_scoring.py [--data FILE] [--dev] [--no-llm] [--fit-default] [--rebuild] [--json OUT]
"""

from __future__ import annotations

import argparse
import hashlib
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


def examples_for(args: argparse.Namespace, settings: Settings, digest: str) -> tuple[list[Example], list[Example]]:
    """(test examples, development examples): the user's labelled file and nothing, or the frozen test build
    and the development build (each built now if absent or --rebuild)."""
    if args.data is not None:
        return read_examples(args.data), []
    dev = dev_examples(args, settings)
    path: Path = args.built
    if path.is_file() and not args.rebuild:
        check_frozen(read_header(path), settings, digest, path)
        test = read_examples(path)
    else:
        exclude = {e.source for e in dev}
        earlier = {e.source for params in settings.exclude_builds for e in build(params, exclude=exclude)}  # as built
        test = build(settings.build, exclude=exclude | earlier)
        write_built(path, test, {"settings_sha256": digest})
    return test, dev


def dev_examples(args: argparse.Namespace, settings: Settings) -> list[Example]:
    """The development build of the settings (built now and kept if absent or --rebuild), or none."""
    if settings.dev_build is None:
        return []
    path: Path = args.dev_built
    if path.is_file() and not args.rebuild:
        if read_header(path).get("build") != settings.dev_build.model_dump():
            raise DatatrainerError(f"{path}: built with other development-build parameters than the settings'; "
                                   "build it again (--rebuild)")
        return read_examples(path)
    dev = build(settings.dev_build)
    write_built(path, dev, {"build": settings.dev_build.model_dump()})
    return dev


def write_built(path: Path, examples: list[Example], header: dict[str, Any]) -> None:
    """The built windows with when, where and from what they were built: the frozen snapshot every later run
    reads (the live sources change: logs grow, packages are upgraded)."""
    header = {**header, "built_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine_description(),
              "families": families(examples)}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_examples(examples, path, header)


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
        values.update(cache.scores(names, texts, compute, progress=progress(names[0], len(texts))))
    return values


def cached_values(texts: list[str], settings: Settings, cache: ScoreCache) -> dict[str, Array]:
    """The cached LLM signals of the texts, computing nothing; perplexity only if cached for all of them."""
    names = [f"ask-llm:{p}:{a}" for p in settings.llm.prompts for a in ("log_yes", "log_no")]
    if cache.has("perplexity:nll_sum", texts) and cache.has("perplexity:tokens", texts):
        names += ["perplexity:nll_sum", "perplexity:tokens"]
    return cache.scores(names, texts, _nothing)


def _nothing(texts: list[str]) -> dict[str, Array]:
    raise DatatrainerError(f"{len(texts)} texts have no cached LLM score (--llm-cached computes nothing)")


def progress(name: str, total: int) -> Callable[[int], None]:
    done = [0]

    def advance(count: int) -> None:
        done[0] += count
        print(f"\r{name}: {done[0]}/{total}", end="", file=sys.stderr, flush=True)

    return advance


def distilled_scores(texts: list[str], teacher: Array, settings: Settings) -> dict[str, Array]:
    """The distilled student as `score distilled` trains it: MiniLM (ONNX) embeddings, self-trained on the
    teacher; without and with the heuristic signals as features (standardised on these texts, its sample)."""
    from datatrainer.models.embedders import load_embedder
    from datatrainer.scoring.distilled import DistillParams, heuristic_features, self_trained

    vectors = np.asarray(load_embedder("minilm", "onnx").embed(texts), dtype=np.float64)
    params = DistillParams(quantile=settings.distilled.quantile, rounds=settings.distilled.rounds,
                           alpha=settings.distilled.alpha)
    signals, _ = bench.signal_matrix(texts)
    with_signals = np.hstack([vectors, heuristic_features(signals, signals, params.heuristic_weight)])
    return {"distilled student (defaults)": self_trained(vectors, [teacher], vectors, params),
            "distilled student (with heuristic signals)": self_trained(with_signals, [teacher], with_signals, params)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", type=Path, default=HERE / "quality_scoring_settings.json")
    parser.add_argument("--data", type=Path, help="your labelled JSONL instead of the built benchmark")
    parser.add_argument("--built", type=Path, default=HERE / "data" / "quality_scoring_test.jsonl",
                        help="the test build (committed: the frozen snapshot)")
    parser.add_argument("--dev-built", type=Path, default=HERE / "data" / "quality_scoring_dev.jsonl",
                        help="the development build (committed)")
    parser.add_argument("--rebuild", action="store_true", help="build the benchmark data again from this machine's "
                        "files (other windows: report it as a new build)")
    parser.add_argument("--dev", action="store_true", help="only the cheap rows, leave-one-family-out within the "
                        "development build: where settings and the default scorer are chosen")
    parser.add_argument("--fit-default", action="store_true", help="no table: fit the default quality score on "
                        "every window of both builds and write the weights the package ships")
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
    if args.dev:
        run_dev(args, settings, digest)
        return
    examples, dev = examples_for(args, settings, digest)
    if args.fit_default:
        fit_default([*examples, *dev], settings, digest, args)
        return
    training = dev if settings.train_on_dev else []
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
        rows, folds, cheap_seconds = evaluate(chosen, training, settings, args, cheap_only)
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


def run_dev(args: argparse.Namespace, settings: Settings, digest: str) -> None:
    """The cheap rows within the development build: what the settings' choices (the default scorer among
    them) are made on, before the test build is scored."""
    dev = dev_examples(args, settings)
    if not dev:
        raise DatatrainerError(f"{args.settings}: no dev_build in the settings")
    rows, folds, cheap_seconds = evaluate(dev, [], settings, args, cheap_only=True)
    print_table(rows, dev, folds, settings, digest, cheap_seconds)
    path = args.json or HERE.parent / "docs" / "benchmarks" / "quality_scoring_dev.json"
    write_json(path, rows, dev, folds, settings, digest, args)
    print(f"wrote {path}")


def fit_default(examples: list[Example], settings: Settings, digest: str, args: argparse.Namespace) -> None:
    """The weights `scoring.quality_student` ships: the default recipe fitted on every window of both builds."""
    from datatrainer.scoring.quality_student import STUDENT_FILE, fit_student

    if settings.default_scorer != bench.VOTE:
        raise DatatrainerError(f"{args.settings}: default_scorer {settings.default_scorer!r} is not the recipe the "
                               f"package ships ({bench.VOTE!r})")
    data = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in (args.built, args.dev_built)}
    provenance = {"recipe": bench.VOTE, "fitted_on": f"{len(examples)} windows, {len(families(examples))} families "
                  "of the quality-scoring benchmark's test and development builds", "data_sha256": data,
                  "settings_sha256": digest, "fitted_at": datetime.now(UTC).isoformat(timespec="seconds")}
    fit_student([e.text for e in examples], [e.label for e in examples], settings.student.C, provenance
                ).save(STUDENT_FILE)
    print(f"wrote {STUDENT_FILE}")


# benchmark rows -> the keys `scoring.measured` matches stored configs by ({model}: the settings' model)
MEASURED_ROWS = {"Ask-LLM {prompt}: P(yes)": "ask-llm:{model}:{prompt}:pyes",
                 "Ask-LLM {prompt}: normalized": "ask-llm:{model}:{prompt}:normalized",
                 "perplexity (lower = better)": "perplexity:{model}", "distilled student (defaults)": "distilled",
                 "distilled student (with heuristic signals)": "distilled:heuristics"}


def measured_keys(rows: list[bench.Row], settings: Settings) -> dict[str, Any]:
    """What sampling warnings need: per stored-config key, the row's AUC, interval and the best heuristic's AUC
    on the same examples."""
    baseline = bench.best_heuristic(rows).summary
    out = {}
    for prompt in settings.llm.prompts:
        for name, key in {settings.default_scorer: "ask-llm:student", **MEASURED_ROWS}.items():
            row = next((r for r in rows if r.summary.name == name.format(prompt=prompt)), None)
            if row is not None:
                out[key.format(prompt=prompt, model=settings.llm.model)] = {
                    "name": row.summary.name, "auc": round(row.summary.auc, 4),
                    "ci95": [round(row.summary.low, 4), round(row.summary.high, 4)],
                    "baseline": {"name": baseline.name, "auc": round(baseline.auc, 4)}}
    return out


def evaluate(examples: list[Example], training: list[Example], settings: Settings, args: argparse.Namespace,
             cheap_only: bool) -> tuple[list[bench.Row], Folds, float]:
    """Every row on these examples (LLM rows unless `cheap_only`), fitted scorers also learning from the
    `training` examples of other families, and the cheap scorers' seconds per text."""
    everything = [*examples, *training]
    texts = [e.text for e in everything]
    folds = Folds.of(examples, training_only=training)
    began = time.perf_counter()
    scored = bench.cheap_scores(everything, folds, settings)
    cheap_seconds = (time.perf_counter() - began) / len(texts)
    costs: dict[str, tuple[float, float | None]] = {s.name: (0.0, None) for s in scored}
    if not cheap_only:
        cache = ScoreCache(args.cache)
        llm = cached_values(texts, settings, cache) if args.llm_cached else llm_values(texts, settings, cache)
        paper = llm["ask-llm:paper:log_yes"] - llm["ask-llm:paper:log_no"] if "paper" in settings.llm.prompts \
            else None
        distilled = distilled_scores(texts, paper, settings) if paper is not None else {}
        scored += bench.llm_scores(everything, folds, settings, llm, distilled)
        costs.update(llm_costs(cache, settings))
    return bench.report(everything, folds, scored, settings, costs), folds, cheap_seconds


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
    costs["distilled student (with heuristic signals)"] = (1.0, per.get("paper"))
    costs["student: LLM signals"] = everything
    costs["student: heuristic + LLM signals"] = everything
    costs["student: heuristic + LLM signals + n-grams"] = everything
    costs["rank mean: C4 word share + paper normalized"] = (1.0, per.get("paper"))
    return costs


def cells(row: bench.Row) -> list[object]:
    s = row.summary
    per_1000 = "" if row.seconds is None else f"{row.seconds * 1000:,.0f}"
    strata = [("" if v is None else f"{v:.3f}") for v in (row.terminal, row.open_end)]
    return [s.name, f"{s.auc:.3f}", f"{s.low:.3f}-{s.high:.3f}", *strata, f"{row.passes:g}", per_1000]


COLUMNS = ["scorer", "held-out ROC-AUC", "95% CI", "ends in . ! ?", "other endings", "LLM passes/doc",
           "s per 1,000 docs"]


def print_table(rows: list[bench.Row], examples: list[Example], folds: Folds, settings: Settings, digest: str,
                cheap_seconds: float) -> None:
    print(f"{len(examples)} examples, {len(folds.good)} good and {len(folds.junk)} low-quality families, "
          f"{_sources(folds)} source documents; settings {digest[:12]} frozen at {settings.frozen_at}")
    print(f"machine: {machine_description()}; cheap scorers together {cheap_seconds * 1000:.1f} s per 1,000 docs")
    print(" | ".join(COLUMNS))
    for row in rows:
        print(" | ".join(str(c) for c in cells(row)))
    base = bench.best_heuristic(rows)
    best = max((r for r in rows if "shortcut" not in r.summary.name), key=lambda r: r.summary.auc)
    delta, low, high = bench.versus(best, base)
    print(f"best: {best.summary.name} {best.summary.auc:.3f}; vs {base.summary.name}: {delta:+.3f} "
          f"(95% CI {low:+.3f} to {high:+.3f})")
    print(default_line(rows, settings))
    print("per family:")
    for family, name in bench.winners(rows).items():
        print(f"  {family}: {name} ({next(r for r in rows if r.summary.name == name).summary.per_family[family]:.3f};"
              f" {base.summary.name} {base.summary.per_family[family]:.3f})")


def _sources(folds: Folds) -> int:
    return len(set(folds.sources[folds.scored]))


def _training_note(folds: Folds) -> str:
    extra = int((~folds.scored).sum())
    return (f"Fitted scorers also learnt from {extra} windows of the development build (never from the held-out "
            "pair's families). ") if extra else ""


def default_line(rows: list[bench.Row], settings: Settings) -> str:
    """The default scorer against the best heuristic, with the paired interval of the difference."""
    default = next((r for r in rows if r.summary.name == settings.default_scorer), None)
    if default is None:
        return f"default ({settings.default_scorer}): not in this table"
    base = bench.best_heuristic(rows)
    delta, low, high = bench.versus(default, base)
    return (f"default ({default.summary.name}): {default.summary.auc:.3f} ({default.summary.low:.3f}-"
            f"{default.summary.high:.3f}); vs {base.summary.name} {base.summary.auc:.3f}: {delta:+.3f} "
            f"(paired 95% CI {low:+.3f} to {high:+.3f})")


def write_json(path: Path, rows: list[bench.Row], examples: list[Example], folds: Folds, settings: Settings,
               digest: str, args: argparse.Namespace) -> None:
    base = bench.best_heuristic(rows)
    best = max((r for r in rows if "shortcut" not in r.summary.name), key=lambda r: r.summary.auc)
    delta, low, high = bench.versus(best, base)
    winners = bench.winners(rows)
    per_family = "; ".join(f"{family}: {name}" for family, name in winners.items())
    notes = (f"{len(examples)} windows of real documents ({len(folds.good)} good families: {', '.join(folds.good)}; "
             f"{len(folds.junk)} low-quality families: {', '.join(folds.junk)}), {_sources(folds)} source "
             f"documents. Each AUC is the mean over held-out (good family, low-quality family) pairs; a fitted "
             f"scorer never saw either family. 95% intervals: {settings.bootstrap.draws} bootstrap draws over "
             f"source documents. Best: {best.summary.name}, {delta:+.3f} over {base.summary.name} (paired 95% CI "
             f"{low:+.3f} to {high:+.3f}). {_training_note(folds)}The {default_line(rows, settings)}. "
             f"Winner per family: {per_family}. Settings sha256 {digest[:12]}, frozen "
             f"{settings.frozen_at.isoformat()}. LLM: {settings.llm.model}; seconds on a CPU shared with other "
             f"jobs (load average {os.getloadavg()[0]:.1f} at the end), so they are noisy.")
    command = "python benchmarks/quality_scoring.py" + (" --dev" if args.dev else "") + (
        " --no-llm" if args.no_llm else "") + (
        f" --llm-every {args.llm_every}" if args.llm_every > 1 else "") + (" --llm-cached" if args.llm_cached else "")
    title = "Quality scoring on held-out families of real text" + (" (development build)" if args.dev else "")
    write_result(path, title=title,
                 script="benchmarks/quality_scoring.py", command=command, peer="", peer_version="",
                 columns=COLUMNS, rows=[cells(r) for r in rows], notes=notes)


if __name__ == "__main__":
    main()
