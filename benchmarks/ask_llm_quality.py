"""How well each Ask-LLM variant and each label-free method built on it ranks real text above junk, and what
it costs: the README's quality table.

Data: the two parts of `datatrainer.evaluation.fixtures.devset` (real Wikipedia and news paragraphs against 13 families
of junk; source documents split between `dev` and `pool`), scored with the bundled SmolLM2-135M-Instruct
through the real Ask-LLM and perplexity jobs in the backend's default dtype (`auto`: bfloat16 on a CPU with
bf16 units), plus every dev pass in float32 for the dtype comparison (`--no-float32` skips it). Every pass
is stored in the workspace (`--workspace`) by (content hash, config hash), exactly as `datatrainer score`
stores it, so an interrupted run resumes, other sizes reuse what is there, and the tables re-print for free.

Methods that LEARN (the distilled students) are fitted on one part's teacher scores and evaluated on the
other part, through `datatrainer.scoring.distilled.distill` in the same workspace: the dev column's student
learned from the pool, the pool column's from dev, and neither ever reads a true label. Rules and settings
were chosen looking at the dev column only; the pool column is the held-out check. The "ceiling" rows fit
the same students on TRUE labels: not methods, a measure of what the features can separate at all.

Seconds per document are wall-clock on this (shared) machine when the passes were computed (kept beside
the store), so compare costs by LLM passes per document.

Usage: python benchmarks/ask_llm_quality.py [--dev 150] [--pool 200] [--workspace DIR] [--no-float32]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from datatrainer.evaluation.fixtures.devset import LabelledSet, labelled_set
from datatrainer.models.embedders import load_embedder
from datatrainer.models.lm.base import LanguageModel
from datatrainer.models.lm.hf import resolve_dtype
from datatrainer.scoring.ask_llm import ASK_LLM, AskLLMParams
from datatrainer.scoring.configs import HIGHER_IS_BETTER, config_hash
from datatrainer.scoring.distilled import DistillParams, TeacherSignal, conjunction, distill
from datatrainer.scoring.evaluate import Evaluation, auc_draws, evaluate, markdown_table, paired_table
from datatrainer.scoring.jobs import ensure_embeddings
from datatrainer.scoring.lm_jobs import (
    AskLLMTask,
    LMScoring,
    LMTask,
    ModelRequest,
    PerplexityTask,
    plan_lm_scoring,
    run_lm_scoring,
)
from datatrainer.scoring.perplexity import PERPLEXITY
from datatrainer.scoring.store import SCORE
from datatrainer.store.schema import CONTENT_HASH
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

Array = np.ndarray[Any, Any]
CHUNK = 32  # texts per stored shard: what an interruption can lose
TIMINGS = "ask-llm-quality-timings.json"  # config hash -> [texts computed, seconds], in the workspace folder
TEMPLATES = ("paper", "strict")


class Passes:
    """LM passes of one model precision through the real stored jobs (`score_with_lm`), so every pass is cached
    in the workspace by (content hash, config hash): an interrupted run resumes, a re-run (or a run with other
    sizes) computes only texts never scored, and the table re-prints for free. The model loads on the first
    text that needs it. Seconds per computed text are kept beside the store (`TIMINGS`), so a cached row still
    reports what its passes cost when they ran."""

    def __init__(self, ws: Workspace, dtype: str, threads: int) -> None:
        self.ws, self.dtype = ws, dtype
        self.request = ModelRequest("smollm2", options={"dtype": dtype, "threads": threads})
        self.model: LanguageModel | None = None

    def ask(self, version: DatasetVersion, template: str) -> tuple[Array, Array, float]:
        """(log P(yes), log P(no), seconds per text) of every record under one template, uncalibrated."""
        scoring = self._run(version, AskLLMTask(AskLLMParams(prompts=(template,))), f"{template} ({self.dtype})")
        pyes, normalized = (self._scores(version, ASK_LLM, scoring.hash_of({"score": kind}))
                            for kind in ("pyes", "normalized"))
        log_yes = np.log(pyes)
        return log_yes, log_yes - (np.log(normalized) - np.log1p(-normalized)), self._seconds(scoring.hashes[-1])

    def nll(self, version: DatasetVersion) -> tuple[Array, float]:
        """(mean token NLL of every record as it stands, seconds per text)."""
        scoring = self._run(version, PerplexityTask(), f"perplexity ({self.dtype})")
        return np.log(self._scores(version, PERPLEXITY, scoring.hashes[-1])), self._seconds(scoring.hashes[-1])

    def _run(self, version: DatasetVersion, task: LMTask, label: str) -> LMScoring:
        scoring = plan_lm_scoring(self.ws, version, task, self.request, self.model)
        self.model = scoring.model or self.model
        done = 0

        def advance(amount: float) -> None:
            nonlocal done
            done += int(amount)
            print(f"  {label}: {done}/{scoring.todo} ({(time.perf_counter() - began) / done:.2f} s/doc, "
                  f"load {os.getloadavg()[0]:.1f})", flush=True)

        began = time.perf_counter()
        run_lm_scoring(scoring, advance, CHUNK)
        if done:
            self._record(scoring.hashes[-1], done, time.perf_counter() - began)
        return scoring

    def _scores(self, version: DatasetVersion, scorer: str, hash_: str) -> Array:
        values: Array = self.ws.scores.scores_for(version, scorer, hash_)[SCORE].to_numpy(zero_copy_only=False)
        return values

    def _timings(self) -> dict[str, list[float]]:
        path = self.ws.root / TIMINGS
        timings: dict[str, list[float]] = json.loads(path.read_text()) if path.exists() else {}
        return timings

    def _record(self, hash_: str, texts: int, seconds: float) -> None:
        timings = self._timings()
        before = timings.get(hash_, [0, 0.0])
        timings[hash_] = [before[0] + texts, before[1] + seconds]
        (self.ws.root / TIMINGS).write_text(json.dumps(timings, indent=1))

    def _seconds(self, hash_: str) -> float:
        texts, seconds = self._timings().get(hash_, [0, float("nan")])
        return seconds / texts if texts else float("nan")


@dataclass
class Part:
    """One labelled part with its LLM passes (default dtype): log P(yes), log P(no) per template, mean NLL."""

    data: LabelledSet
    version: DatasetVersion
    yes: dict[str, Array] = field(default_factory=dict)
    no: dict[str, Array] = field(default_factory=dict)
    nll: Array = field(default_factory=lambda: np.empty(0))
    cost: dict[str, float] = field(default_factory=dict)  # seconds per text of each pass

    def signals(self) -> dict[str, tuple[Array, bool]]:
        """Teacher signals by name: (values as `score ask-llm` / `score perplexity` store them, higher is better)."""
        return {**{f"{t} P(yes)": (np.exp(self.yes[t]), True) for t in self.yes}, "perplexity": (self.nll, False)}


class Students:
    """Students fitted on one part's teacher signals and evaluated on the other, through the real `distill`
    in the workspace: the two parts' texts form one version (training texts first), and the training part's
    signals are stored under benchmark-only scorer names, so only its texts can teach."""

    def __init__(self, ws: Workspace, train: Part, test: Part, perplexity: str) -> None:
        self.ws, self.train, self.test, self.perplexity = ws, train, test, perplexity
        texts = train.data.texts + test.data.texts
        self.version = texts_version(ws, f"quality-{train.data.part}-then-{test.data.part}", texts)
        self.hashes = self.version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks().slice(0, len(train.data))
        self.embedding = ensure_embeddings(ws, self.version, "minilm", "onnx")

    def signal(self, name: str, values: Array, higher_is_better: bool = True) -> TeacherSignal:
        """The training part's values of one signal, stored once under a benchmark-only scorer."""
        scorer = "bench-" + "".join(c if c.isalnum() else "-" for c in name.lower())
        meta = {"signal": name, "part": self.train.data.part, "texts": _digest(self.train.data.texts),
                HIGHER_IS_BETTER: higher_is_better}
        hash_ = config_hash(meta)
        if len(self.ws.scores.missing(self.version, scorer, hash_)) > len(self.test.data):
            self.ws.scores.add(scorer, hash_, self.hashes, values, meta)
        return TeacherSignal(scorer=scorer, config=hash_)

    def scores(self, teachers: list[str], labels: bool = False, **options: Any) -> Array:
        """The test part's student scores; `teachers` name the training part's signals, or `labels` teaches
        with its true labels (the ceiling); `with_perplexity=True` adds the NLL band features."""
        available = self.train.signals()
        signals = [self.signal("true labels", self.train.data.labels.astype(np.float64))] if labels else \
            [self.signal(name, *available[name]) for name in teachers]
        perplexity = self.perplexity if options.pop("with_perplexity", False) else None
        params = DistillParams(teacher=signals[0].scorer, teacher_config=signals[0].config,
                               extra_teachers=tuple(signals[1:]), perplexity_config=perplexity, **options)
        hash_ = distill(self.ws, self.version, params, self.embedding)
        values: Array = self.ws.scores.scores_for(self.version, params.scorer, hash_)[SCORE].to_numpy()
        return values[len(self.train.data):]


def texts_version(ws: Workspace, prefix: str, texts: list[str]) -> DatasetVersion:
    """The texts as a version, in order (named by their digest, so each set is ingested once)."""
    name = f"{prefix}-{_digest(texts)}"
    if name in ws.catalog.dataset_names():
        return ws.version(name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
        version = ws.ingest(path, name)
    if version.to_table(["text"])["text"].to_pylist() != texts:
        raise RuntimeError(f"{name}: ingest changed the texts or their order")
    return version


def _digest(texts: list[str]) -> str:
    return hashlib.md5(chr(0).join(texts).encode()).hexdigest()[:10]


def open_workspace(path: Path) -> Workspace:
    """The workspace that caches every pass and embedding of this benchmark (created on first use)."""
    path.mkdir(parents=True, exist_ok=True)
    return Workspace.open(path) if (path / "datatrainer.toml").exists() else Workspace.init(path)


def score_part(ws: Workspace, data: LabelledSet, passes: Passes) -> Part:
    part = Part(data, texts_version(ws, f"quality-{data.part}", data.texts))
    for template in TEMPLATES:
        part.yes[template], part.no[template], part.cost[template] = passes.ask(part.version, template)
    part.nll, part.cost["perplexity"] = passes.nll(part.version)
    return part


def embedding_seconds(texts: list[str]) -> float:
    """MiniLM (int8 ONNX) seconds per text, measured afresh (the stored embeddings cost nothing to re-read)."""
    embedder = load_embedder("minilm", "onnx")
    embedder.embed(texts[:8])  # warm-up: the first call initialises the ONNX session
    began = time.perf_counter()
    embedder.embed(texts)
    return (time.perf_counter() - began) / len(texts)


Method = tuple[str, float, float, str]  # name, LLM passes and wall seconds per scored document, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=int, default=150, help="good and junk texts each in the dev part")
    parser.add_argument("--pool", type=int, default=200, help="good and junk texts each in the pool part")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workspace", type=Path, default=Path(tempfile.gettempdir()) / "datatrainer-ask-llm-quality")
    parser.add_argument("--no-float32", action="store_true", help="skip the float32 Ask-LLM passes on dev")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    default = resolve_dtype("auto")

    with open_workspace(args.workspace) as ws:
        passes = Passes(ws, default, args.threads)
        dev = score_part(ws, labelled_set("dev", args.dev, args.dev, args.seed), passes)
        pool = score_part(ws, labelled_set("pool", args.pool, args.pool, args.seed), passes)
        perplexity = plan_lm_scoring(ws, dev.version, PerplexityTask(), passes.request).hashes[-1]
        students = {"dev": Students(ws, pool, dev, perplexity), "pool": Students(ws, dev, pool, perplexity)}
        embed = embedding_seconds(dev.data.texts[:64])
        parts = {"dev": dev, "pool": pool}
        paper, strict, ppl = dev.cost["paper"], dev.cost["strict"], dev.cost["perplexity"]
        teacher3 = ["paper P(yes)", "strict P(yes)", "perplexity"]
        rows: list[tuple[Method, dict[str, Array]]] = []

        def add(method: Method, score: Callable[[str, Part], Any]) -> None:
            rows.append((method, {name: np.asarray(score(name, part), dtype=np.float64)
                                  for name, part in parts.items()}))

        st: dict[str, Any] = {"student": "self-training"}
        nll: dict[str, Any] = {"with_perplexity": True}
        add(("length in characters (sanity baseline)", 0, 0.0, ""), lambda n, p: [float(len(t)) for t in p.data.texts])
        add(("paper prompt, full-vocabulary P(yes) (the paper's score)", 1, paper, ""), lambda n, p: p.yes["paper"])
        add(("paper prompt, normalized P(yes)/(P(yes)+P(no)) (`score ask-llm` default)", 1, paper, ""),
            lambda n, p: p.yes["paper"] - p.no["paper"])
        add(("`strict` prompt, P(yes)", 1, strict, ""), lambda n, p: p.yes["strict"])
        add(("`strict` prompt, normalized", 1, strict, ""), lambda n, p: p.yes["strict"] - p.no["strict"])
        add(("perplexity alone (lower = better)", 1, ppl, "document only"), lambda n, p: -p.nll)
        add(("teacher: lowest rank of paper P(yes), -perplexity", 2, paper + ppl, ""),
            lambda n, p: conjunction(p.yes["paper"], -p.nll))
        add(("teacher: lowest rank of strict P(yes), -perplexity", 2, strict + ppl, ""),
            lambda n, p: conjunction(p.yes["strict"], -p.nll))
        add(("teacher T3: lowest rank of paper P(yes), strict P(yes), -perplexity", 3, paper + strict + ppl,
             "the last session's best"), lambda n, p: conjunction(p.yes["paper"], p.yes["strict"], -p.nll))
        add(("student: ridge on MiniLM <- paper P(yes) (the previous `score distilled`)", 0, embed,
             "FineWeb-Edu recipe"), lambda n, p: students[n].scores(["paper P(yes)"], student="ridge"))
        add(("student: ridge on MiniLM <- T3", 0, embed, "better teacher only"),
            lambda n, p: students[n].scores(teacher3, student="ridge"))
        add(("student: logistic on paper P(yes)'s top/bottom 20%", 0, embed, "confident extremes"),
            lambda n, p: students[n].scores(["paper P(yes)"], **st, rounds=0))
        add(("student: paper P(yes)'s extremes + 1 self-training round", 0, embed, ""),
            lambda n, p: students[n].scores(["paper P(yes)"], **st, rounds=1))
        add(("student: logistic on T3's top/bottom 20%", 0, embed, "better teacher + extremes"),
            lambda n, p: students[n].scores(teacher3, **st, rounds=0))
        add(("student: T3's extremes + 1 self-training round", 0, embed, ""),
            lambda n, p: students[n].scores(teacher3, **st, rounds=1))
        add(("student: T3's extremes + 2 self-training rounds", 0, embed, ""),
            lambda n, p: students[n].scores(teacher3, **st, rounds=2))
        add(("lowest rank of that student (1 round) and -perplexity", 1, embed + ppl, "the brief's combination"),
            lambda n, p: conjunction(students[n].scores(teacher3, **st, rounds=1), -p.nll))
        add(("**student: T3, 1 round, MiniLM + NLL band features** (`score distilled` default)", 1, embed + ppl,
             "the pass is perplexity's"), lambda n, p: students[n].scores(teacher3, **st, rounds=1, **nll))
        add(("student: same, 0 self-training rounds", 1, embed + ppl, ""),
            lambda n, p: students[n].scores(teacher3, **st, rounds=0, **nll))
        add(("student: same (1 round), teacher strict P(yes) and -perplexity only", 1, embed + ppl,
             "2 teacher passes per training doc"),
            lambda n, p: students[n].scores(["strict P(yes)", "perplexity"], **st, rounds=1, **nll))
        add(("student: same (1 round), teacher paper P(yes) and -perplexity", 1, embed + ppl,
             "no `strict` prompt (written after seeing the junk)"),
            lambda n, p: students[n].scores(["paper P(yes)", "perplexity"], **st, rounds=1, **nll))
        add(("student: same (1 round), teacher paper P(yes) only", 1, embed + ppl,
             "1 teacher pass per training doc"),
            lambda n, p: students[n].scores(["paper P(yes)"], **st, rounds=1, **nll))
        add(("ceiling: ridge on MiniLM fitted on TRUE labels", 0, embed, "uses labels: a bound, not a method"),
            lambda n, p: students[n].scores([], labels=True, student="ridge", target="raw"))
        add(("ceiling: logistic on MiniLM + NLL band fitted on TRUE labels", 1, embed + ppl, "uses labels: a bound"),
            lambda n, p: students[n].scores([], labels=True, **st, rounds=0, quantile=0.5, **nll))

        evaluations: list[tuple[Evaluation, Evaluation | None]] = []
        for (name, count, seconds, note), scores in rows:
            evaluations.append((evaluate(name, dev.data, scores["dev"], count, seconds, note),
                                evaluate(name, pool.data, scores["pool"], count, seconds, note)))
        print(f"\ndev: {len(dev.data)} texts ({args.dev} good, {args.dev} junk); pool: {len(pool.data)}; SmolLM2 in "
              f"{default}; MiniLM {embed:.4f} s/text; load average now {os.getloadavg()[0]:.1f}\n")
        print(paired_table(evaluations))
        print()
        print(markdown_table([first for first, _ in evaluations]))
        headline = next(scores for method, scores in rows if "`score distilled` default" in method[0])
        for name, part in parts.items():
            draws = auc_draws(part.data.labels, [headline[name]])[0]
            print(f"default student, {name} ROC-AUC 95% bootstrap interval: {np.quantile(draws, 0.025):.3f}-"
                  f"{np.quantile(draws, 0.975):.3f}")
        if not args.no_float32:
            dtype_comparison(ws, dev, args.threads)
        if args.json_out:
            args.json_out.write_text(json.dumps([[first.__dict__, second.__dict__ if second else None]
                                                 for first, second in evaluations], indent=2))


def dtype_comparison(ws: Workspace, dev: Part, threads: int) -> None:
    """Dev ROC-AUC in float32 and bfloat16 of the paper prompt's two scores and of the T3 teacher, their
    Spearman correlations, and paired bootstrap intervals of the AUC differences."""
    signals: dict[str, dict[str, Array]] = {}
    for dtype in ("float32", "bfloat16"):
        part = score_part(ws, dev.data, Passes(ws, dtype, threads))
        signals[dtype] = {"paper normalized (`score ask-llm` default)": part.yes["paper"] - part.no["paper"],
                          "paper P(yes)": part.yes["paper"],
                          "teacher T3": conjunction(part.yes["paper"], part.yes["strict"], -part.nll)}
        seconds = ", ".join(f"{name} {value:.2f}" for name, value in part.cost.items())
        print(f"{dtype}: s/doc when computed: {seconds}")
    print("\n| score | float32 dev ROC-AUC | bfloat16 dev ROC-AUC | AUC difference, 95% interval | Spearman |\n"
          "|---|---:|---:|---:|---:|")
    for name, fp32 in signals["float32"].items():
        bf16 = signals["bfloat16"][name]
        draws = auc_draws(dev.data.labels, [bf16, fp32])
        low, high = np.quantile(draws[0] - draws[1], [0.025, 0.975])
        print(f"| {name} | {evaluate(name, dev.data, fp32, 1).auc:.3f} | {evaluate(name, dev.data, bf16, 1).auc:.3f} "
              f"| {low:+.3f} to {high:+.3f} | {spearmanr(fp32, bf16)[0]:.3f} |")


if __name__ == "__main__":
    main()
