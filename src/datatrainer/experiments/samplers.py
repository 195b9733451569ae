"""`datatrainer experiment samplers`: train the same tiny GPT on each sampler's sample and compare curves.

For every seed, every sampler and every budget below 100%, the pool is sampled with the ordinary `sample`
operation (`by=` the sampler, the budget as a percentage, the seed), and a tiny GPT is trained from scratch
on it for the same number of steps, evaluated on the clean held-out version every `eval_every` steps. The
budget-100 run trains on the pool itself and is shared by all samplers (one per seed). Samples are found
again by their lineage (same parent, sampler, budget, seed) instead of being drawn twice, scores and
embeddings come from the stores, and each finished run leaves a JSON file, so a rerun trains only the runs
that have no file yet and an interrupted experiment continues where it stopped.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from datatrainer.errors import DatatrainerError
from datatrainer.experiments.runs import FULL, RunKey, RunResult, RunStore
from datatrainer.experiments.scores import AskLLMMode, ScorePreparer
from datatrainer.experiments.tokenizer import tokenizer_folder
from datatrainer.sampling.base import sampler_names
from datatrainer.scoring.configs import config_hash
from datatrainer.scoring.distilled import DistillParams
from datatrainer.scoring.lm_jobs import ModelRequest
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

DEFAULT_SAMPLERS = ("random", "ask-llm", "perplexity", "density", "semdedup", "d4", "dsir")
SCORE_SAMPLERS = ("ask-llm", "perplexity")  # stored scorers, sampled by their top-k / lowest
KIND = "kind"  # the pool column naming each record's kind (the default mixture has it)


class TrainingSetup(BaseModel):
    """The model and schedule every run shares (the `--scale` presets, each field overridable)."""

    n_layer: int = Field(ge=1)
    n_head: int = Field(ge=1)
    n_embd: int = Field(ge=1)
    seq_len: int = Field(ge=8)
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    steps: int = Field(ge=1)
    eval_every: int = Field(ge=1)
    vocab_size: int = Field(ge=300)


Scale = Literal["cpu", "gpu"]
SCALES: dict[str, TrainingSetup] = {
    # ~0.9M parameters (half of them the 4k embedding): about 0.1 s a step on 2 cores
    "cpu": TrainingSetup(n_layer=2, n_head=4, n_embd=128, seq_len=64, batch_size=16, learning_rate=3e-3,
                         steps=120, eval_every=10, vocab_size=4096),
    # ~14M parameters, 16x the tokens per step and 12x the steps: minutes per run on one GPU
    "gpu": TrainingSetup(n_layer=6, n_head=6, n_embd=384, seq_len=256, batch_size=64, learning_rate=1e-3,
                         steps=1500, eval_every=50, vocab_size=8192),
}


class ExperimentParams(BaseModel):
    samplers: tuple[str, ...] = DEFAULT_SAMPLERS
    budgets: tuple[int, ...] = (20, 40, 60, 100)
    seeds: int = Field(3, ge=1)
    setup: TrainingSetup = SCALES["cpu"]
    validation: str = Field(description="the clean held-out version every model is evaluated on")
    target: str | None = Field(None, description="DSIR's target version")
    ask_llm: AskLLMMode = Field("distilled", description="ask-llm samples by `score distilled` (default) or by "
                                "`score ask-llm` on every record (direct)")
    train_size: int = Field(300, description="distilled: records the Ask-LLM teachers score")
    lm: str = Field("smollm2", description="the language model behind Ask-LLM and perplexity")


def parse_samplers(text: str) -> tuple[str, ...]:
    """Comma-separated sampler names; a name that is neither a registered sampler nor ask-llm / perplexity is
    a one-line error listing the valid ones."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    known = (*sampler_names(), *SCORE_SAMPLERS)
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise DatatrainerError(f"--samplers: unknown sampler {', '.join(map(repr, unknown)) or '(none given)'}; "
                               f"choose from {', '.join(sorted(known))}")
    return names


def parse_budgets(text: str) -> tuple[int, ...]:
    """Comma-separated whole percentages in 1..100; 100 (the full pool) is always run, as the reference."""
    budgets: set[int] = {100}
    for part in (p.strip() for p in text.split(",")):
        if not part.isdigit() or not 1 <= int(part) <= 100:
            raise DatatrainerError(f"--budgets: {part!r} is not a whole percentage from 1 to 100 (e.g. 20,40,60,100)")
        budgets.add(int(part))
    return tuple(sorted(budgets))


Progress = Callable[[str], None]


class SamplerExperiment:
    """One experiment: a pool version, a validation version and the parameters; `run` does what is missing."""

    def __init__(self, ws: Workspace, pool: DatasetVersion, params: ExperimentParams, progress: bool = True,
                 say: Progress = print) -> None:
        self.ws, self.pool, self.params, self.progress, self.say = ws, pool, params, progress, say
        self.validation = ws.version(params.validation)
        self.target = ws.version(params.target) if params.target else None
        if "dsir" in params.samplers and self.target is None:
            raise DatatrainerError("--samplers dsir needs --target VERSION: the clean text DSIR should resemble")
        hashed = {"pool": pool.ref, "validation": self.validation.ref, "target": self.target and self.target.ref,
                  "setup": params.setup.model_dump(), "ask_llm": params.ask_llm, "train_size": params.train_size,
                  "lm": params.lm}
        self.key = config_hash(hashed)[:12]
        self.folder = ws.root / "experiments" / f"samplers-{pool.info.dataset}-{pool.info.number}-{self.key}"
        self.runs = RunStore(self.folder / "runs")

    def keys(self) -> list[RunKey]:
        """Seed by seed (so a stopped experiment has whole seeds), the full-data reference first."""
        keys = []
        for seed in range(self.params.seeds):
            keys.append(RunKey(sampler=FULL, budget=100, seed=seed))
            keys += [RunKey(sampler=s, budget=b, seed=seed) for s in self.params.samplers
                     for b in self.params.budgets if b < 100]
        return keys

    def results(self) -> list[RunResult]:
        return [result for key in self.keys() if (result := self.runs.get(key)) is not None]

    def run(self) -> list[RunResult]:
        """Prepare scores, tokenizer and samples, then train every run without a result file."""
        todo = [key for key in self.keys() if self.runs.get(key) is None]
        self.say(f"experiment {self.folder.name}: {len(self.keys()) - len(todo)} of {len(self.keys())} runs done")
        if todo:
            samplers = {key.sampler for key in todo if key.sampler != FULL}
            preparing = RunKey(sampler="prepare-scores", budget=0, seed=0)  # one process scores at a time
            while not self.runs.claim(preparing):
                time.sleep(5)
            try:
                ScorePreparer(self.ws, self.pool, ModelRequest(self.params.lm), self.progress).prepare(
                    samplers, self.params.ask_llm, self.params.train_size)
            finally:
                self.runs.release(preparing)
            tokenizer = tokenizer_folder(self.pool, self.params.setup.vocab_size, self.ws.root / "experiments" /
                                         "tokenizers")
            for number, key in enumerate(todo, start=1):
                if self.runs.get(key) is not None or not self.runs.claim(key):
                    self.say(f"[{number}/{len(todo)}] {key.name}: trained by another process")
                    continue
                try:
                    result = self.train(key, tokenizer)
                    self.runs.put(result)
                finally:
                    self.runs.release(key)
                self.say(f"[{number}/{len(todo)}] {key.name}: {result.records:,} records, final validation loss "
                         f"{result.eval_losses[-1]:.4f} ({result.seconds:.0f} s, {result.cpu_seconds:.0f} CPU s)")
        return self.results()

    def sample(self, key: RunKey) -> DatasetVersion:
        """The version a run trains on: the pool itself at 100%, else the `sample` operation's output, reused
        when an identical one (same parent, sampler, budget, seed) exists."""
        if key.sampler == FULL:
            return self.pool
        params = self.sample_params(key)
        name = f"{self.pool.info.dataset}-{key.sampler}-{key.budget}"
        if name in self.ws.datasets.names():
            for version in self.ws.datasets.versions(name):
                given = version.info.params
                if version.info.parents == (self.pool.ref,) and given.get("by") == params["by"] and \
                        given.get("budget") == params["budget"] and given.get("seed") == key.seed:
                    return version
        return self.ws.apply("sample", [self.pool], params, name=name)

    def sample_params(self, key: RunKey) -> dict[str, Any]:
        params: dict[str, Any] = {"by": key.sampler, "budget": f"{key.budget}%", "seed": key.seed}
        if key.sampler == "ask-llm" and self.params.ask_llm == "distilled":
            params["by"] = DistillParams().scorer
        if key.sampler == "dsir":
            assert self.target is not None
            params["target"] = self.target.ref
        return params

    def train(self, key: RunKey, tokenizer: Path) -> RunResult:
        from datatrainer.training import TrainConfig, train
        from datatrainer.training.run import RUN_FILE, run_folder

        setup = self.params.setup
        sample = self.sample(key)
        config = TrainConfig(model="tiny-gpt", tiny={"n_layer": setup.n_layer, "n_head": setup.n_head,
                                                     "n_embd": setup.n_embd, "n_positions": setup.seq_len},
                             tokenizer=str(tokenizer), seq_len=setup.seq_len, packing=True,
                             batch_size=setup.batch_size, learning_rate=setup.learning_rate,
                             max_steps=setup.steps, eval_version=self.validation.ref, eval_every=setup.eval_every,
                             eval_fraction=0.0, warmup_steps=setup.steps // 10, save_every=setup.steps,
                             seed=key.seed, device="auto",
                             extra={"experiment": self.folder.name, "sampler": key.sampler, "budget": key.budget})
        started, cpu = time.perf_counter(), time.process_time()
        model = f"{self.folder.name}-{key.name}"
        registered = self.ws.models.find(model)
        if registered is not None:  # trained, but stopped before its result file was written
            history = registered.history
        else:  # a run stopped by Ctrl-C left a checkpoint: continue it
            resume = (run_folder(self.ws, model) / RUN_FILE).is_file()
            history = train(self.ws, sample.ref, config, model, resume=resume, progress=self.progress).history
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        evals = [row for row in history if row.get("eval_loss") is not None]
        trains = [row for row in history if row.get("train_loss") is not None]
        if not evals:
            raise DatatrainerError(f"{key.name}: training reported no validation loss")
        return RunResult(key=key, sample=sample.ref, records=sample.num_rows, composition=_composition(sample),
                         model=model, eval_steps=[int(r["step"]) for r in evals],
                         eval_losses=[float(r["eval_loss"]) for r in evals],
                         train_steps=[int(r["step"]) for r in trains],
                         train_losses=[float(r["train_loss"]) for r in trains], seconds=seconds,
                         cpu_seconds=cpu)


def _composition(version: DatasetVersion) -> dict[str, int]:
    """Records per kind (`junk:<family>` counted as junk) when the version has a `kind` column."""
    if KIND not in version.schema.names:
        return {}
    kinds: Sequence[str] = version.to_table(columns=[KIND])[KIND].to_pylist()
    return dict(Counter(kind.split(":")[0] for kind in kinds))
