"""A cheap quality scorer distilled from an expensive one, as FineWeb-Edu does with its LLM ratings.

LLM teachers (Ask-LLM under one or more prompts, perplexity) score a sample of the records; a student on the
records' frozen sentence embeddings learns from them and then scores EVERY record with no Ask-LLM pass.

Two students:

- `self-training` (the default): the teacher's most confident answers become pseudo-labels (its top
  `quantile` of the sample "good", its bottom `quantile` "junk"; the middle, where a weak teacher is mostly
  noise, is left out), a logistic regression learns them, and for `rounds` more rounds the pseudo-labels are
  drawn again from the mean of the teacher's and the student's percentile ranks, so texts the student
  confidently places (e.g. a whole family of junk the teacher ranked in the middle) join the training set.
  This is learning from noisy labels by confident examples and self-training (Yarowsky 1995; Lee 2013's
  pseudo-labels); measured on the dev set (benchmarks/ask_llm_quality.py) it beats regressing the teacher's
  whole range, which teaches the student the teacher's middle-range noise.
- `ridge`: a ridge regression on the teacher's log-odds (or raw score), FineWeb-Edu's recipe as is.

Several teachers (`extra_teachers`) are combined by their LOWEST percentile rank on the sample (a text is
good only if no teacher ranks it low): with the 135M model, Ask-LLM's P(yes) and perplexity fail on different
junk (perplexity rates boilerplate, logs and listings as typical, P(yes) misses word salad), so each vetoes
what the other lets through. A score stored as lower-is-better (perplexity) is ranked negated.

With `perplexity_config` the student also reads each record's mean token NLL (log perplexity, under stored
perplexity scores covering every record; one LLM pass per record): z = (NLL - the sample's median) / its
spread, as the two features `w*z` and `w*z^2` (`nll_weight` w), so a linear student can keep a BAND of
typical NLL and reject both ends, too predictable (repeated lines, boilerplate) and too surprising (word
salad, gibberish), which sentence embeddings alone do not see. w = 0.1 is about twice the spread of one
coordinate of a unit-length 384-dimensional MiniLM vector: large enough for the regularised student to use,
too small to drown the embedding.

With `heuristics` the student also reads the quality package's heuristic signals of each record (Gopher's
quality and repetition signals, `quality.signals.heuristic_signals`, and the C4 share of words in terminated
sentences, both through `quality_student.signal_matrix`, as the quality benchmark computes them): each
standardised by the training sample's median and spread, clipped to +-5 (ratios have long tails) and scaled
by `heuristic_weight` (0.1, as the NLL band). So, as in FineWeb-Edu's and DCLM's classifiers, the student
learns from every signal there is: the LLM teachers as labels; embeddings, NLL band and heuristics as
features. The heuristics cost a pass over the text, no model.

The student is fitted on this version's records, so its scores are stored scoped to the version, under
`<teacher>-distilled`, with a config naming every teacher config, the embeddings, the student and the
training sample.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from datatrainer.errors import DatatrainerError
from datatrainer.models.embedders import Backend
from datatrainer.models.lm.base import LanguageModel
from datatrainer.scoring.ask_llm import AskLLMParams
from datatrainer.scoring.configs import HIGHER_IS_BETTER, StoredConfig, config_hash
from datatrainer.scoring.lm_jobs import AskLLMTask, LMScoring, ModelRequest, plan_lm_scoring
from datatrainer.scoring.perplexity import PERPLEXITY
from datatrainer.scoring.quality_student import signal_matrix
from datatrainer.scoring.store import CONFIG_HASH_KEY, SCORE
from datatrainer.store.schema import CONTENT_HASH, TEXT
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

SUFFIX = "-distilled"
TRAIN_SUFFIX = "-distill-train"  # the training sample is kept as the version NAME-distill-train
MIN_TRAIN = 10
EPSILON = 1e-6  # probabilities are clipped to [EPSILON, 1 - EPSILON] before the log-odds
Z_CLIP = 5.0  # standardised heuristic signals are clipped to +-Z_CLIP
Array = np.ndarray[Any, Any]


class TeacherSignal(BaseModel):
    """One more stored score the teacher combines (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    scorer: str = Field(min_length=1)
    config: str | None = Field(None, description="config hash or prefix (default: the most complete)")


class DistillParams(BaseModel):
    teacher: str = Field("ask-llm", min_length=1, description="the stored scorer to learn from")
    teacher_config: str | None = Field(None, description="its config hash or prefix (default: the most complete)")
    extra_teachers: tuple[TeacherSignal, ...] = Field((), description="more stored scores, combined with the "
                                                                      "teacher by their lowest percentile rank")
    student: Literal["self-training", "ridge"] = Field("self-training", description="logistic regression on the "
                                                       "teacher's confident extremes, or ridge on its scores")
    quantile: float = Field(0.2, gt=0, le=0.5, description="self-training: the top and bottom share of the "
                                                           "sample taken as pseudo-labels")
    rounds: int = Field(1, ge=0, le=10, description="self-training: rounds after the first fit")
    perplexity_config: str | None = Field(None, description="stored perplexity config covering every record: "
                                                            "its NLL band becomes two student features")
    nll_weight: float = Field(0.1, gt=0, description="scale of the NLL features against the embedding")
    heuristics: bool = Field(False, description="the quality package's heuristic signals (Gopher quality and "
                                                "repetition, C4 word share) become student features")
    heuristic_weight: float = Field(0.1, gt=0, description="scale of the heuristic features against the embedding")
    model: str = Field("minilm", description="embedding model the student reads")
    backend: Backend = Field("onnx", description="embedding backend")
    target: Literal["logit", "raw"] = Field("logit", description="ridge with one teacher: learn the log-odds of a "
                                                                 "probability score (logit) or the score as stored")
    alpha: float = Field(1.0, gt=0, description="regularisation strength (ridge alpha; logistic C = 1 / alpha)")
    train_size: int | None = Field(None, ge=MIN_TRAIN, description="records the teacher scores (default: every "
                                                                   "record it has scored)")
    seed: int = Field(0, description="seed of the training sample")

    @property
    def scorer(self) -> str:
        return self.teacher + SUFFIX

    @property
    def signals(self) -> tuple[TeacherSignal, ...]:
        return (TeacherSignal(scorer=self.teacher, config=self.teacher_config), *self.extra_teachers)


def teacher_sample(ws: Workspace, version: DatasetVersion, params: DistillParams, ask: AskLLMParams,
                   request: ModelRequest, model: LanguageModel | None = None) -> LMScoring:
    """The planned Ask-LLM run over the training sample, kept as the version `NAME-distill-train` (exactly the
    `random` sampler's draw for the budget and seed; an earlier identical draw is reused, not written again):
    run it with `run_lm_scoring`, which computes only the texts still missing a score, then learn from
    `scoring.hash_of({"score": ask.score})`. `model`: the request's model if already loaded."""
    if params.train_size is None:
        raise DatatrainerError("distilled: a teacher sample needs train_size")
    name = version.info.dataset + TRAIN_SUFFIX
    drawn = {"by": "random", "budget": str(params.train_size), "seed": params.seed}
    earlier = [v for v in ws.datasets.versions(name) if v.info.parents == (version.ref,) and
               all(v.info.params.get(key) == value for key, value in drawn.items())] if name in ws.datasets.names() \
        else []
    sample = earlier[-1] if earlier else ws.apply("sample", [version], {**drawn, "budget": params.train_size},
                                                  name=name)
    return plan_lm_scoring(ws, sample, AskLLMTask(ask), request, model)


def training_sample(version: DatasetVersion, size: int, seed: int) -> pa.Array:
    """Content hashes of the `size` records the teacher must score: the rows the `random` sampler keeps for
    this budget and seed, so `datatrainer sample VERSION --by random --budget SIZE --seed SEED` is exactly
    the training sample (the CLI scores the teacher on that version)."""
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
    chosen = np.random.default_rng(seed).choice(len(hashes), size=min(size, len(hashes)), replace=False)
    return pc.unique(hashes.take(pa.array(np.sort(chosen))))


def distill(ws: Workspace, version: DatasetVersion, params: DistillParams, embedding: StoredConfig) -> str:
    """Fit the student on the teachers' stored scores and store its score for every record; returns the
    student's config hash. `embedding` is a stored embedding config covering every record of the version."""
    hashes = version.to_table([CONTENT_HASH])[CONTENT_HASH].combine_chunks()
    first = pc.index_in(pc.unique(hashes), value_set=hashes).to_numpy()  # one row per distinct text
    teachers = [_Teacher.load(ws, version, signal) for signal in params.signals]
    train = _training_rows(version, params, hashes, teachers, first)
    nll = _nll(ws, version, params, first) if params.perplexity_config is not None else None
    signals = _signals(version, first) if params.heuristics else None
    config = {"teachers": [[t.config.name, t.config.config_hash] for t in teachers],
              "embedding": embedding.config_hash, "model": embedding.params.get("model"),
              "student": params.student, "alpha": params.alpha, "train_size": params.train_size,
              "seed": params.seed, "train_records": len(train), "train_digest": _digest(hashes.take(pa.array(train))),
              "version": version.info.storage_key,
              **({"quantile": params.quantile, "rounds": params.rounds} if params.student == "self-training"
                 else {"target": params.target}),
              **({"perplexity": nll[0], "nll_weight": params.nll_weight} if nll is not None else {}),
              **({"heuristics": signals[0], "heuristic_weight": params.heuristic_weight} if signals is not None
                 else {})}
    hash_ = config_hash(config)
    if len(ws.scores.missing(version, params.scorer, hash_)):
        _, vectors = ws.embeddings.embeddings_for(version, embedding.config_hash)
        features = np.asarray(vectors, dtype=np.float64)
        if nll is not None:
            features = np.hstack([features, nll_features(nll[1], nll[1][train], params.nll_weight)])
        if signals is not None:
            features = np.hstack([features, heuristic_features(signals[1], signals[1][train],
                                                               params.heuristic_weight)])
        student = self_trained if params.student == "self-training" else ridge
        scores = student(features[train], [t.values[train] for t in teachers], features[first], params)
        ws.scores.add(params.scorer, hash_, hashes.take(pa.array(first)), scores, config, scope=version)
        ws.audit.computed("scores", version.info, params.scorer, hash_, len(first))
    return hash_


def percentile_ranks(values: Array) -> Array:
    """Ranks scaled to (0, 1] (ties share their mean rank): comparable across teachers of any scale."""
    from scipy.stats import rankdata  # imported on first use: scipy.stats is slow to import

    ranks: Array = rankdata(values) / len(values)
    return ranks


def conjunction(*scores: Array) -> Array:
    """Each text's lowest percentile rank over the scores (higher = better): good only if all say so."""
    lowest: Array = np.minimum.reduce([percentile_ranks(values) for values in scores])
    return lowest


def nll_features(nll: Array, sample: Array, weight: float) -> Array:
    """(w*z, w*z^2) with z the NLL standardised by the sample's median and spread: a linear model on them can
    score a band of typical NLL above both ends."""
    z = _standardised(nll, sample)
    features: Array = weight * np.stack([z, z ** 2], axis=1)
    return features


def heuristic_features(signals: Array, sample: Array, weight: float) -> Array:
    """w * clip(z, +-Z_CLIP) per signal, z standardised by the sample's median and spread (a signal constant
    on the sample is 0 everywhere it matches the sample and still counted, by a spread of 1, elsewhere)."""
    features: Array = weight * np.clip(_standardised(signals, sample), -Z_CLIP, Z_CLIP)
    return features


def _standardised(values: Array, sample: Array) -> Array:
    """`values` less the sample's median, over the sample's spread (1 where the sample is constant), per column."""
    spread = sample.std(axis=0)
    z: Array = (values - np.median(sample, axis=0)) / np.where(spread > 0, spread, 1.0)
    return z


def self_trained(train: Array, teachers: list[Array], everything: Array, params: DistillParams) -> Array:
    """Logistic regression on the teacher's confident extremes, then `rounds` of self-training (see the module
    docstring); returns the final student's log-odds for `everything`."""
    from sklearn.linear_model import LogisticRegression

    teacher = percentile_ranks(conjunction(*teachers))
    current = teacher
    for _ in range(params.rounds + 1):
        ranks = percentile_ranks(current)
        good, junk = ranks > 1 - params.quantile, ranks <= params.quantile
        if not good.any() or not junk.any():
            raise DatatrainerError(f"the teacher gives the {len(ranks)} training records too few distinct scores to "
                                   f"take its top and bottom {params.quantile:.0%} apart")
        kept = good | junk
        student = LogisticRegression(C=1 / params.alpha, max_iter=5000).fit(train[kept], good[kept])
        current = (percentile_ranks(student.decision_function(train)) + teacher) / 2
    scores: Array = student.decision_function(everything)
    return scores


def ridge(train: Array, teachers: list[Array], everything: Array, params: DistillParams) -> Array:
    """Ridge regression on one teacher's log-odds (`target="logit"`) or raw score, or on the combined
    percentile rank of several teachers."""
    from sklearn.linear_model import Ridge

    y = _targets(teachers[0], params) if len(teachers) == 1 else conjunction(*teachers)
    scores: Array = Ridge(alpha=params.alpha).fit(train, y).predict(everything)
    return scores


class _Teacher:
    """One stored teacher score per record of the version, oriented so that higher is better; `scored` marks
    the records that have one (a stored NaN, such as the perplexity of a text with no tokens, ranks last)."""

    def __init__(self, config: StoredConfig, values: Array, scored: Array) -> None:
        self.config, self.values, self.scored = config, values, scored

    @classmethod
    def load(cls, ws: Workspace, version: DatasetVersion, signal: TeacherSignal) -> _Teacher:
        table = ws.scores.scores_for(version, signal.scorer, signal.config)
        config = ws.scores.resolve(version, signal.scorer, table.schema.metadata[CONFIG_HASH_KEY].decode())
        scored = table[SCORE].is_valid().to_numpy(zero_copy_only=False)
        values = table[SCORE].to_numpy(zero_copy_only=False).astype(np.float64)
        oriented = -values if config.params.get(HIGHER_IS_BETTER) is False else values
        return cls(config, np.where(np.isnan(oriented), -np.inf, oriented), scored)


def _training_rows(version: DatasetVersion, params: DistillParams, hashes: pa.Array, teachers: list[_Teacher],
                   first: Array) -> Array:
    """Rows (one per distinct text) the student learns from: the training sample, or every text that all the
    teachers have scored."""
    valid = np.logical_and.reduce([teacher.scored for teacher in teachers])
    scored: Array = first[valid[first]]
    rows = scored
    if params.train_size is not None:
        sample = training_sample(version, params.train_size, params.seed)
        rows = first[pc.is_in(hashes.take(pa.array(first)), value_set=sample).to_numpy(zero_copy_only=False)]
        for teacher in teachers:
            unscored = int((~teacher.scored[rows]).sum())
            if unscored:
                raise DatatrainerError(f"{unscored:,} of the {len(rows):,} training records of {version.ref} have no "
                                       f"{teacher.config.name!r} score; score them first (`datatrainer score "
                                       "distilled` does)")
    if len(rows) < MIN_TRAIN:
        names = " and ".join(repr(teacher.config.name) for teacher in teachers)
        raise DatatrainerError(f"only {len(rows)} records of {version.ref} have a {names} score; the student needs "
                               f"at least {MIN_TRAIN}")
    return rows


def _nll(ws: Workspace, version: DatasetVersion, params: DistillParams, first: Array) -> tuple[str, Array]:
    """(the perplexity config hash, every record's mean token NLL); a text with no tokens (no perplexity)
    counts as the least typical, at the highest NLL seen."""
    table = ws.scores.scores_for(version, PERPLEXITY, params.perplexity_config)
    if missing := int(table[SCORE].is_null().to_numpy(zero_copy_only=False)[first].sum()):
        raise DatatrainerError(f"{missing:,} records of {version.ref} have no perplexity score; the student reads "
                               "every record's (`datatrainer score perplexity` computes them)")
    nll = np.log(table[SCORE].to_numpy(zero_copy_only=False).astype(np.float64))
    finite = np.isfinite(nll)
    return table.schema.metadata[CONFIG_HASH_KEY].decode(), np.where(finite, nll, np.max(nll[finite], initial=0.0))


def _signals(version: DatasetVersion, first: Array) -> tuple[list[str], Array]:
    """(the signal names, every record's heuristic signals), computed once per distinct text (rows that
    repeat a text are never read)."""
    texts = version.to_table([TEXT])[TEXT].combine_chunks().take(pa.array(first)).to_pylist()
    distinct, names = signal_matrix(texts)
    matrix = np.zeros((version.num_rows, distinct.shape[1]))
    matrix[first] = distinct
    return names, matrix


def _targets(scores: Array, params: DistillParams) -> Array:
    values = scores.astype(np.float64)
    if params.target == "raw":
        return values
    if values.min() < 0 or values.max() > 1:
        raise DatatrainerError(f"{params.teacher!r} scores range over [{values.min():.3g}, {values.max():.3g}], not "
                               "probabilities: use target raw")
    clipped = np.clip(values, EPSILON, 1 - EPSILON)
    logits: Array = np.log(clipped) - np.log1p(-clipped)
    return logits


def _digest(hashes: pa.Array) -> str:
    """Names the exact training texts, so a student fitted on other texts never reuses these scores."""
    return hashlib.sha256("\n".join(sorted(hashes.to_pylist())).encode()).hexdigest()[:16]
