"""How well each Ask-LLM variant ranks real text above junk, and what it costs: the README's quality table.

Everything is scored on the labelled `dev` part of `datatrainer.scoring.devset` (real Wikipedia and news
paragraphs against 13 families of junk), with the bundled SmolLM2-135M-Instruct through the real Ask-LLM and
perplexity scorers. Per template, one forward pass per document gives P(yes) and P(no); every Ask-LLM row
is derived from those passes exactly as `AskLLM` defines it (contextual calibration divides by the
content-free values; an ensemble averages the log-odds), so each template costs one pass per document once.

The distilled student follows FineWeb-Edu: the teacher (normalised paper-prompt score) labels the `pool`
part (other source documents; its true labels are never read), a ridge regression on MiniLM embeddings
learns the teacher's log-odds through `datatrainer.scoring.distilled` in a real workspace, and dev texts are
then scored with NO LLM pass. The "ceiling" row fits the same regression on the pool's TRUE labels: not a
method, a measure of how much the embeddings can separate at all.

LLM passes are cached per (model config, template text, text) in `--cache`, so an interrupted run resumes
and the table can be re-printed for free. Seconds per document are wall-clock on this (shared) machine.

Usage: python benchmarks/ask_llm_quality.py [--dev 200] [--pool 300] [--templates paper,strict,...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from datatrainer.models.lm.base import LanguageModel
from datatrainer.scoring.ask_llm import ASK_LLM, AskLLM, AskLLMParams, ScoreKind
from datatrainer.scoring.configs import config_hash
from datatrainer.scoring.devset import LabelledSet, labelled_set
from datatrainer.scoring.distilled import DistillParams, distill
from datatrainer.scoring.evaluate import Evaluation, evaluate, markdown_table
from datatrainer.scoring.jobs import ensure_embeddings
from datatrainer.scoring.perplexity import Perplexity
from datatrainer.store.schema import CONTENT_HASH
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

Array = np.ndarray[Any, Any]
CHUNK = 32  # texts per cached chunk: what an interruption can lose
VARIANTS = ("coherent", "strict")  # prompt variants; `fewshot` is reported on its own (longer prompts)


class PassCache:
    """Per-text results of one kind of LLM pass, in an .npz keyed by the text's md5: (values..., seconds)."""

    def __init__(self, folder: Path, key: str) -> None:
        self.path = folder / f"{key}.npz"
        self.rows: dict[str, Array] = dict(np.load(self.path)) if self.path.exists() else {}

    def compute(self, texts: Sequence[str], run: Callable[[list[str]], Array], label: str) -> Array:
        """Rows for the texts (computing only the missing ones, CHUNK at a time); last column: seconds/text."""
        keys = [hashlib.md5(text.encode()).hexdigest() for text in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self.rows))
        by_key = dict(zip(keys, texts, strict=True))
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            began = time.perf_counter()
            values = run([by_key[k] for k in chunk])
            seconds = (time.perf_counter() - began) / len(chunk)
            for k, row in zip(chunk, values, strict=True):
                self.rows[k] = np.append(row, seconds)
            tmp = self.path.with_suffix(".tmp.npz")
            np.savez(tmp, **self.rows)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
            os.replace(tmp, self.path)
            print(f"  {label}: {start + len(chunk)}/{len(todo)} ({seconds:.2f} s/doc)", flush=True)
        return np.stack([self.rows[k] for k in keys])


def ask_passes(model: LanguageModel, template: str, texts: Sequence[str], cache: Path) -> tuple[Array, Array, float]:
    """(log P(yes), log P(no), seconds per text) under one template, uncalibrated."""
    scorer = AskLLM(model, AskLLMParams(prompts=(template,)))
    store = PassCache(cache, f"ask-{scorer.config_hash('pyes')}")

    def run(chunk: list[str]) -> Array:
        scores = scorer.score(chunk)
        return np.stack([np.log(scores.p_yes), np.log(scores.p_no)], axis=1)

    rows = store.compute(texts, run, template)
    return rows[:, 0], rows[:, 1], float(rows[:, 2].mean())


def calibration(model: LanguageModel, template: str) -> Array:
    """(log mean content-free P(yes), log mean content-free P(no)) for one template."""
    offsets: Array = AskLLM(model, AskLLMParams(prompts=(template,), calibrate=True)).calibration()[0]
    return offsets


def mean_nll(model: LanguageModel, texts: Sequence[str], cache: Path) -> tuple[Array, float]:
    scorer = Perplexity(model)
    store = PassCache(cache, f"nll-{scorer.config_hash()}")
    rows = store.compute(texts, lambda chunk: scorer.score(chunk).mean_nll[:, None], "perplexity")
    return rows[:, 0], float(rows[:, 1].mean())


def distilled_scores(pool: LabelledSet, dev: LabelledSet, teacher: Array, teacher_config: dict[str, Any],
                     workspace: Path, labels_as_teacher: bool = False) -> tuple[Array, float]:
    """The student's dev scores (fitted on the pool's teacher scores only) and its seconds per dev text
    (embedding and regression; the embeddings are cached in the workspace after the first run)."""
    workspace.mkdir(parents=True, exist_ok=True)
    with (Workspace.open(workspace) if (workspace / "datatrainer.toml").exists() else Workspace.init(workspace)) as ws:
        name = f"quality-{hashlib.md5(''.join(pool.texts + dev.texts).encode()).hexdigest()[:8]}"
        version = _version(ws, name, pool.texts + dev.texts)
        hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks().slice(0, len(pool))
        teacher_name = "pool-labels" if labels_as_teacher else ASK_LLM
        ws.scores.add(teacher_name, config_hash(teacher_config), hashes, teacher, teacher_config)
        began = time.perf_counter()
        embedding = ensure_embeddings(ws, version, "minilm", "onnx")
        params = DistillParams(teacher=teacher_name, teacher_config=config_hash(teacher_config),
                               target="raw" if labels_as_teacher else "logit")
        hash_ = distill(ws, version, params, embedding)
        seconds = (time.perf_counter() - began) / version.num_rows
        scores = ws.scores.scores_for(version, params.scorer, hash_)["score"].to_numpy()
    return scores[len(pool):], seconds


def _version(ws: Workspace, name: str, texts: list[str]) -> DatasetVersion:
    if name in ws.catalog.dataset_names():
        return ws.version(name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
        return ws.ingest(path, name)


def zscore(values: Array) -> Array:
    standard: Array = (values - values.mean()) / values.std()
    return standard


def conjunction(*scores: Array) -> Array:
    """The lowest of a text's percentile ranks: good only if every signal says so. Ask-LLM's P(yes) and
    perplexity fail on different junk families (see the per-family table), so each catches what the other
    misses; this rule was chosen after seeing those per-family dev results."""
    lowest: Array = np.minimum.reduce([rankdata(values) / len(values) for values in scores])
    return lowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=int, default=200, help="good and junk texts each in the dev part")
    parser.add_argument("--pool", type=int, default=300, help="good and junk texts each in the pool part")
    parser.add_argument("--templates", default="paper,coherent,strict,fewshot")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "datatrainer-ask-llm-quality")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    templates = args.templates.split(",")

    from datatrainer.models.lm.hf import TransformersLM

    dev = labelled_set("dev", args.dev, args.dev, args.seed)
    pool = labelled_set("pool", args.pool, args.pool, args.seed)
    model = TransformersLM("smollm2", threads=args.threads)
    rows: list[Evaluation] = [evaluate("length in characters (sanity baseline)", dev,
                                       [float(len(t)) for t in dev.texts], 0)]
    yes, no, cal, cost = {}, {}, {}, {}
    for template in templates:
        yes[template], no[template], cost[template] = ask_passes(model, template, dev.texts, args.cache)
        cal[template] = calibration(model, template)
    if "paper" in yes:
        y, n, c = yes["paper"], no["paper"], cost["paper"]
        rows += [evaluate("paper prompt, full-vocabulary P(yes) (paper's score)", dev, np.exp(y), 1, c),
                 evaluate("paper prompt, log P(yes)", dev, y, 1, c),
                 evaluate("paper prompt, normalized P(yes)/(P(yes)+P(no)) (default)", dev, y - n, 1, c),
                 evaluate("paper prompt, normalized + contextual calibration", dev,
                          (y - cal["paper"][0]) - (n - cal["paper"][1]), 1, c, "3 content-free passes once"),
                 evaluate("paper prompt, P(yes) calibrated", dev, y - cal["paper"][0], 1, c)]
    for template in (t for t in templates if t != "paper"):
        rows += [evaluate(f"{template} prompt, normalized", dev, yes[template] - no[template], 1, cost[template]),
                 evaluate(f"{template} prompt, P(yes)", dev, yes[template], 1, cost[template])]
    ensemble = [t for t in templates if t != "fewshot"]
    if len(ensemble) > 1:
        total = sum(cost[t] for t in ensemble)
        raw = np.mean([yes[t] - no[t] for t in ensemble], axis=0)
        calibrated = np.mean([(yes[t] - cal[t][0]) - (no[t] - cal[t][1]) for t in ensemble], axis=0)
        rows += [evaluate(f"ensemble {'+'.join(ensemble)}, mean log-odds", dev, raw, len(ensemble), total),
                 evaluate(f"ensemble {'+'.join(ensemble)}, calibrated mean log-odds", dev, calibrated,
                          len(ensemble), total),
                 evaluate(f"ensemble {'+'.join(ensemble)}, mean log P(yes)", dev,
                          np.mean([yes[t] for t in ensemble], axis=0), len(ensemble), total)]
    nll, nll_cost = mean_nll(model, dev.texts, args.cache)
    rows.append(evaluate("perplexity alone (lower mean NLL = better)", dev, -nll, 1, nll_cost, "document only"))
    if "paper" in yes:
        combined = zscore(yes["paper"] - no["paper"]) - zscore(nll)
        rows.append(evaluate("paper normalized log-odds z + (-mean NLL) z", dev, combined, 2,
                             cost["paper"] + nll_cost, "fixed equal weights, no labels"))
        rows.append(evaluate("conjunction: min rank of paper P(yes), -mean NLL", dev, conjunction(yes["paper"], -nll),
                             2, cost["paper"] + nll_cost, "rule chosen on dev"))
        if "strict" in yes:
            rows.append(evaluate("conjunction: min rank of paper P(yes), strict P(yes), -mean NLL", dev,
                                 conjunction(yes["paper"], yes["strict"], -nll), 3,
                                 cost["paper"] + cost["strict"] + nll_cost, "rule chosen on dev"))
        teacher_scorer = AskLLM(model, AskLLMParams(prompts=("paper",)))
        pool_yes, pool_no, pool_cost = ask_passes(model, "paper", pool.texts, args.cache)
        labelling = f"labelling: {len(pool)} pool docs x 1 pass ({pool_cost:.2f} s/doc)"
        teachers: dict[ScoreKind, Array] = {"normalized": 1 / (1 + np.exp(pool_no - pool_yes)),
                                            "pyes": np.exp(pool_yes)}
        for kind, teacher in teachers.items():
            # The pool's labels are read here only to report how good each teacher is (a validation split):
            # the student below never sees them.
            print(f"  teacher paper {kind}: ROC-AUC on the pool {evaluate(kind, pool, teacher, 1).auc:.3f}")
            student, seconds = distilled_scores(pool, dev, teacher, teacher_scorer.config(kind),
                                                args.cache / "workspace")
            rows.append(evaluate(f"distilled: ridge on MiniLM, teacher = paper {kind} on the pool", dev, student,
                                 0, seconds, labelling))
            rows.append(evaluate(f"conjunction: min rank of distilled ({kind} teacher), -mean NLL", dev,
                                 conjunction(student, -nll), 1, seconds + nll_cost,
                                 "rule chosen on dev; the pass is perplexity's"))
    ceiling, seconds = distilled_scores(pool, dev, pool.labels.astype(np.float64), {"labels": "pool truth"},
                                        args.cache / "workspace", labels_as_teacher=True)
    rows.append(evaluate("ceiling: same ridge fitted on the pool's TRUE labels", dev, ceiling, 0, seconds,
                         "uses labels: a bound, not a method"))
    print(f"\ndev: {len(dev)} texts ({args.dev} good, {args.dev} junk); pool: {len(pool)}; model {model.name}; "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print(markdown_table(rows, families=False))
    print()
    print(markdown_table(rows))
    if args.json_out:
        args.json_out.write_text(json.dumps([row.__dict__ for row in rows], indent=2))


if __name__ == "__main__":
    main()
