"""A cheap quality scorer distilled from an expensive one, as FineWeb-Edu does with its LLM ratings.

An LLM teacher (e.g. Ask-LLM) scores a sample of the records; a ridge regression on the records' frozen
sentence embeddings learns to predict the teacher's log-odds, and then scores EVERY record with no LLM pass:
a dot product per record on embeddings that density and the samplers already use. The regression also
averages out the teacher's per-document noise: texts that look alike get alike scores, which is why the
student can rank better than its teacher (measured in benchmarks/ask_llm_quality.py).

The student is fitted on this version's records, so its scores are stored scoped to the version, under
`<teacher>-distilled`, with a config naming the teacher's config, the embeddings, the regression and the
training sample.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from datatrainer.errors import DatatrainerError
from datatrainer.models.embedders import Backend
from datatrainer.scoring.ask_llm import AskLLMParams
from datatrainer.scoring.configs import StoredConfig, config_hash
from datatrainer.scoring.lm_jobs import AskLLMTask, LMScoring, ModelRequest, plan_lm_scoring
from datatrainer.scoring.store import CONFIG_HASH_KEY, SCORE
from datatrainer.store.schema import CONTENT_HASH
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

SUFFIX = "-distilled"
TRAIN_SUFFIX = "-distill-train"  # the training sample is kept as the version NAME-distill-train
MIN_TRAIN = 10
EPSILON = 1e-6  # probabilities are clipped to [EPSILON, 1 - EPSILON] before the log-odds


class DistillParams(BaseModel):
    teacher: str = Field("ask-llm", min_length=1, description="the stored scorer to learn from")
    teacher_config: str | None = Field(None, description="its config hash or prefix (default: the most complete)")
    model: str = Field("minilm", description="embedding model the student reads")
    backend: Backend = Field("onnx", description="embedding backend")
    target: Literal["logit", "raw"] = Field("logit", description="logit: learn the log-odds of a probability "
                                                                 "score; raw: the score as stored")
    alpha: float = Field(1.0, gt=0, description="ridge regularisation strength")
    train_size: int | None = Field(None, ge=MIN_TRAIN, description="records the teacher scores (default: every "
                                                                   "record it has scored)")
    seed: int = Field(0, description="seed of the training sample")

    @property
    def scorer(self) -> str:
        return self.teacher + SUFFIX


def teacher_sample(ws: Workspace, version: DatasetVersion, params: DistillParams, ask: AskLLMParams,
                   request: ModelRequest) -> LMScoring:
    """The planned Ask-LLM run over the training sample, kept as the version `NAME-distill-train` (exactly the
    `random` sampler's draw for the budget and seed; an earlier identical draw is reused, not written again):
    run it with `run_lm_scoring`, which computes only the
    texts still missing a score, then learn from `scoring.hash_of({"score": ask.score})`."""
    if params.train_size is None:
        raise DatatrainerError("distilled: a teacher sample needs train_size")
    name = version.info.dataset + TRAIN_SUFFIX
    drawn = {"by": "random", "budget": str(params.train_size), "seed": params.seed}
    earlier = [v for v in ws.datasets.versions(name) if v.info.parents == (version.ref,) and
               all(v.info.params.get(key) == value for key, value in drawn.items())] if name in ws.datasets.names() \
        else []
    sample = earlier[-1] if earlier else ws.apply("sample", [version], {**drawn, "budget": params.train_size},
                                                  name=name)
    return plan_lm_scoring(ws, sample, AskLLMTask(ask), request)


def training_sample(version: DatasetVersion, size: int, seed: int) -> pa.Array:
    """Content hashes of the `size` records the teacher must score: the rows the `random` sampler keeps for
    this budget and seed, so `datatrainer sample VERSION --by random --budget SIZE --seed SEED` is exactly
    the training sample (the CLI scores the teacher on that version)."""
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
    chosen = np.random.default_rng(seed).choice(len(hashes), size=min(size, len(hashes)), replace=False)
    return pc.unique(hashes.take(pa.array(np.sort(chosen))))


def distill(ws: Workspace, version: DatasetVersion, params: DistillParams, embedding: StoredConfig) -> str:
    """Fit the student on the teacher's stored scores and store its score for every record; returns the
    student's config hash. `embedding` is a stored embedding config covering every record of the version."""
    from sklearn.linear_model import Ridge

    teacher = ws.scores.scores_for(version, params.teacher, params.teacher_config)
    hashes, targets = teacher[CONTENT_HASH].combine_chunks(), teacher[SCORE].combine_chunks()
    first = pc.index_in(pc.unique(hashes), value_set=hashes).to_numpy()  # one row per distinct text
    train = _training_rows(version, params, hashes, targets, first)
    _, vectors = ws.embeddings.embeddings_for(version, embedding.config_hash)
    y = _targets(targets.take(pa.array(train)).to_numpy(zero_copy_only=False), params)
    config = {"teacher": params.teacher, "teacher_config": teacher.schema.metadata[CONFIG_HASH_KEY].decode(),
              "embedding": embedding.config_hash, "model": embedding.params.get("model"), "regressor": "ridge",
              "alpha": params.alpha, "target": params.target, "train_size": params.train_size,
              "seed": params.seed, "train_records": len(train), "train_digest": _digest(hashes.take(pa.array(train))),
              "version": version.info.storage_key}
    hash_ = config_hash(config)
    if len(ws.scores.missing(version, params.scorer, hash_)):
        student = Ridge(alpha=params.alpha).fit(vectors[train], y)
        ws.scores.add(params.scorer, hash_, hashes.take(pa.array(first)), student.predict(vectors[first]), config,
                      scope=version)
    return hash_


def _training_rows(version: DatasetVersion, params: DistillParams, hashes: pa.Array, targets: pa.Array,
                   first: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Rows (one per distinct text) the student learns from: the training sample, or every scored text."""
    scored: np.ndarray[Any, Any] = first[targets.is_valid().to_numpy(zero_copy_only=False)[first]]
    rows = scored
    if params.train_size is not None:
        sample = training_sample(version, params.train_size, params.seed)
        rows = first[pc.is_in(hashes.take(pa.array(first)), value_set=sample).to_numpy(zero_copy_only=False)]
        unscored = len(rows) - int(np.isin(rows, scored).sum())
        if unscored:
            raise DatatrainerError(f"{unscored:,} of the {len(rows):,} training records of {version.ref} have no "
                                   f"{params.teacher!r} score; score them first (`datatrainer score distilled` "
                                   "does)")
    if len(rows) < MIN_TRAIN:
        raise DatatrainerError(f"only {len(rows)} records of {version.ref} have a {params.teacher!r} score; the "
                               f"student needs at least {MIN_TRAIN}")
    return rows


def _targets(scores: np.ndarray[Any, Any], params: DistillParams) -> np.ndarray[Any, Any]:
    values = scores.astype(np.float64)
    if params.target == "raw":
        return values
    if values.min() < 0 or values.max() > 1:
        raise DatatrainerError(f"{params.teacher!r} scores range over [{values.min():.3g}, {values.max():.3g}], not "
                               "probabilities: use target raw")
    clipped = np.clip(values, EPSILON, 1 - EPSILON)
    logits: np.ndarray[Any, Any] = np.log(clipped) - np.log1p(-clipped)
    return logits


def _digest(hashes: pa.Array) -> str:
    """Names the exact training texts, so a student fitted on other texts never reuses these scores."""
    return hashlib.sha256("\n".join(sorted(hashes.to_pylist())).encode()).hexdigest()[:16]
