"""Scores and embeddings the chosen samplers read, computed through the stores exactly as the CLI does.

Each step is the library call behind a `datatrainer` command (`embed --backend onnx`, `score density`,
`score perplexity`, `score distilled --prompt paper` or `score ask-llm`), so everything lands in `ws.embeddings` /
`ws.scores`, keyed by content and config: a rerun finds it complete and computes nothing, and an
interrupted one keeps every finished shard. The language model is loaded at most once, and only when a
score is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from datatrainer.models.embedders import Backend, load_embedder
from datatrainer.models.lm.base import LanguageModel
from datatrainer.progress import progress_bar
from datatrainer.scoring.ask_llm import AskLLMParams
from datatrainer.scoring.configs import StoredConfig
from datatrainer.scoring.distilled import DistillParams, TeacherSignal, distill, teacher_sample
from datatrainer.scoring.jobs import complete_embeddings, embed_version, score_density
from datatrainer.scoring.lm_jobs import (
    AskLLMTask,
    LMScoring,
    ModelRequest,
    PerplexityTask,
    plan_lm_scoring,
    run_lm_scoring,
)
from datatrainer.scoring.perplexity import PERPLEXITY
from datatrainer.scoring.race import RaceParams
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

AskLLMMode = Literal["distilled", "direct"]
EMBEDDING_MODEL = "minilm"
EMBEDDING_BACKEND: Backend = "onnx"
# The paper's prompt only: the `strict` prompt that `score distilled` adds by default was written after seeing
# the junk families the default mixture is made of, which would flatter Ask-LLM here (see the scoring docs).
TEACHER_PROMPTS = ("paper",)
EMBEDDING_SAMPLERS = frozenset({"density", "semdedup", "d4", "kcenter", "prototypes"})


class ScorePreparer:
    """Computes what is missing for one pool version; `lm` is the Ask-LLM / perplexity model request."""

    def __init__(self, ws: Workspace, pool: DatasetVersion, lm: ModelRequest, progress: bool) -> None:
        self.ws, self.pool, self.lm, self.progress = ws, pool, lm, progress
        self._model: LanguageModel | None = None

    def prepare(self, samplers: Iterable[str], ask_llm: AskLLMMode, train_size: int, seed: int = 0) -> None:
        wanted = set(samplers)
        if wanted & EMBEDDING_SAMPLERS or (ask_llm == "distilled" and "ask-llm" in wanted):
            embedding = self.embeddings()
        if "density" in wanted:
            score_density(self.ws, self.pool, embedding, RaceParams())
        perplexity = self.perplexity() if "perplexity" in wanted or (
            "ask-llm" in wanted and ask_llm == "distilled") else None
        if "ask-llm" in wanted:
            if ask_llm == "direct":
                self._run("ask-llm", plan_lm_scoring(self.ws, self.pool, AskLLMTask(), self.lm, self._model))
            else:
                assert perplexity is not None
                self.distilled(embedding, perplexity, train_size, seed)

    def embeddings(self) -> StoredConfig:
        """MiniLM (int8 ONNX, as `score distilled` uses) for every record; `embed` when any is missing."""
        stored = complete_embeddings(self.ws, self.pool, EMBEDDING_MODEL, EMBEDDING_BACKEND)
        if stored is not None:
            return stored
        embedder = load_embedder(EMBEDDING_MODEL, EMBEDDING_BACKEND)
        todo = len(self.ws.embeddings.missing(self.pool, embedder.name, embedder.config_hash()))
        with progress_bar("embedding", todo, self.progress) as advance:
            embed_version(self.ws, self.pool, embedder, advance)
        return self.ws.embeddings.resolve(self.pool, embedder)

    def perplexity(self) -> str:
        return self._run(PERPLEXITY, plan_lm_scoring(self.ws, self.pool, PerplexityTask(), self.lm, self._model))

    def distilled(self, embedding: StoredConfig, perplexity: str, train_size: int, seed: int) -> str:
        """`datatrainer score distilled POOL --train-size N --prompt paper`: the Ask-LLM P(yes) teacher under
        the paper's prompt on a random sample, perplexity of every record, a self-trained student."""
        params = DistillParams(train_size=train_size, seed=seed, model=EMBEDDING_MODEL, backend=EMBEDDING_BACKEND)
        hashes = []
        for prompt in TEACHER_PROMPTS:
            ask = AskLLMParams(prompts=[prompt], score="pyes")
            scoring = teacher_sample(self.ws, self.pool, params, ask, self.lm, self._model)
            self._run(f"ask-llm teacher ({prompt})", scoring)
            hashes.append(scoring.hash_of({"score": ask.score}))
        teachers = (*(TeacherSignal(scorer="ask-llm", config=hash_) for hash_ in hashes[1:]),
                    TeacherSignal(scorer=PERPLEXITY, config=perplexity))
        params = params.model_copy(update={"teacher_config": hashes[0], "extra_teachers": teachers,
                                           "perplexity_config": perplexity})
        return distill(self.ws, self.pool, params, embedding)

    def _run(self, label: str, scoring: LMScoring) -> str:
        """Compute what the planned job is missing (loading the model once); returns its default config hash."""
        self._model = scoring.model or self._model
        with progress_bar(label, scoring.todo, self.progress and scoring.todo > 0) as advance:
            run_lm_scoring(scoring, advance)
        return scoring.hashes[-1]
