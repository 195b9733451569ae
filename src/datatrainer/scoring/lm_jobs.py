"""Score a version's records with a language model (Ask-LLM, perplexity) through `ws.scores`, resumably.

Only texts without a stored score are computed, one shard of `shard_rows` texts at a time, each stored as it
finishes: an interruption loses at most the shard in flight, and the same call continues where it stopped.
A task may store several configs per pass (Ask-LLM stores its three score kinds, which one forward pass
gives); every shard is written to them in the same order, so the config written last (the task's default)
covering a record means all of them do, and its missing records are all that is left to compute.

The config hashes name the model's `config()`, so they are known only once the model is loaded, which takes
seconds to minutes. A complete earlier run is therefore recognised without loading: every stored
`config.json` also records the `request` (model name, backend, options as the user gave them, not hashed:
an alias or a batch size does not change a score), and a stored config with the same request and settings
that covers every record is the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pyarrow as pa

from datatrainer.engine.base import Engine, Reusable
from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError
from datatrainer.models.lm import Backend
from datatrainer.models.lm.base import FloatArray, LanguageModel
from datatrainer.progress import Advance
from datatrainer.scoring.ask_llm import ASK_LLM, AskLLM, AskLLMParams, ScoreKind
from datatrainer.scoring.configs import HIGHER_IS_BETTER, SECONDARY, StoredConfig, config_hash
from datatrainer.scoring.perplexity import PERPLEXITY, Perplexity, PerplexityParams
from datatrainer.scoring.prompts import load_template
from datatrainer.scoring.quality_student import default_student, student_digest
from datatrainer.store.schema import CONTENT_HASH, TEXT
from datatrainer.store.versions import DatasetVersion

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

SHARD_ROWS = 64  # texts per stored shard: 10-60 s of SmolLM2 on 2 cores, the most an interruption loses
REQUEST = "request"
DEFAULT_KIND: ScoreKind = "normalized"  # the default among the Ask-LLM kinds
StoredKind = ScoreKind | Literal["student"]
STUDENT: Literal["student"] = "student"


@dataclass(frozen=True)
class ModelRequest:
    """A model as the user names it: what `load_language_model` is called with."""

    model: str
    backend: Backend = "transformers"
    options: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """JSON form, as stored in `config.json` (options left unset are left out)."""
        given = {key: value for key, value in sorted(self.options.items()) if value is not None}
        return {"model": self.model, "backend": self.backend, **given}

    def load(self) -> LanguageModel:
        from datatrainer.models.lm import load_language_model

        return load_language_model(self.model, self.backend, **{k: v for k, v in self.options.items()
                                                                  if v is not None})


@dataclass(frozen=True)
class Output:
    """One config a task stores: `settings` are hashed with the model's config; `labels` only describe it."""

    settings: dict[str, Any]
    labels: dict[str, Any] = field(default_factory=dict)


Compute = Callable[[Sequence[str]], list[FloatArray]]


class LMTask(Protocol):
    """A scorer as the job runs it: the configs it stores, and how a loaded model computes them."""

    @property
    def scorer(self) -> str: ...

    def outputs(self) -> list[Output]:
        """In storing order; the last one is the default config (see the module docstring)."""
        ...

    def bind(self, model: LanguageModel) -> Compute:
        """Texts -> one score array per output, in `outputs` order."""
        ...


class AskLLMTask:
    """Ask-LLM, storing all three score kinds from each forward pass, and (`student`, the default) the quality
    student's score (`scoring.quality_student`) last, as the default: on held-out families of real text it
    measured far above every Ask-LLM kind of the bundled model (docs/commands/scoring.md). With
    `student=False`, `normalized` is the default."""

    scorer = ASK_LLM

    def __init__(self, params: AskLLMParams | None = None, student: bool = True) -> None:
        self.params = params or AskLLMParams()
        self.templates = [load_template(prompt) for prompt in self.params.prompts]
        self.kinds: list[StoredKind] = ["pyes", "logprob", "normalized", *([STUDENT] if student else [])]

    @property
    def default_kind(self) -> StoredKind:
        return self.kinds[-1]

    def outputs(self) -> list[Output]:
        names = [template.name for template in self.templates]
        return [Output(self._settings(kind), {"prompt_names": names, SECONDARY: kind != self.default_kind})
                for kind in self.kinds]

    def _settings(self, kind: StoredKind) -> dict[str, Any]:
        if kind == STUDENT:
            return {**self.params.settings(self.templates, DEFAULT_KIND), "score": STUDENT,
                    "student": student_digest()}
        return self.params.settings(self.templates, kind)

    def bind(self, model: LanguageModel) -> Compute:
        scorer = AskLLM(model, self.params, self.templates)
        student = default_student() if STUDENT in self.kinds else None

        def compute(texts: Sequence[str]) -> list[FloatArray]:
            scores = scorer.score(texts)
            kinds = [scores.of(kind) for kind in self.kinds if kind != STUDENT]
            return kinds if student is None else [*kinds, student.score(texts)]

        return compute


class PerplexityTask:
    scorer = PERPLEXITY

    def __init__(self, params: PerplexityParams | None = None) -> None:
        self.params = params or PerplexityParams()

    def outputs(self) -> list[Output]:
        return [Output(self.params.settings(), {HIGHER_IS_BETTER: False})]

    def bind(self, model: LanguageModel) -> Compute:
        scorer = Perplexity(model, self.params)
        return lambda texts: [scorer.score(texts).perplexity]


@dataclass
class LMScoring:
    """A planned run: the stored configs (`hashes` in `task.outputs()` order), how many distinct texts are
    still to score, and the model, loaded only if some are."""

    ws: Workspace
    version: DatasetVersion
    task: LMTask
    hashes: list[str]
    metas: list[dict[str, Any]]
    todo: int
    model: LanguageModel | None
    request: ModelRequest | None = None  # how a worker elsewhere loads the model

    def hash_of(self, settings: Mapping[str, Any]) -> str:
        """The config hash of the output whose settings include these items (e.g. `{"score": "pyes"}`)."""
        return next(hash_ for hash_, output in zip(self.hashes, self.task.outputs(), strict=True)
                    if all(output.settings.get(key) == value for key, value in settings.items()))


def plan_lm_scoring(ws: Workspace, version: DatasetVersion, task: LMTask, request: ModelRequest,
                    model: LanguageModel | None = None) -> LMScoring:
    """What a run will store and compute. `model`: the request's model, already loaded (else it is loaded
    here, if anything is missing)."""
    outputs = task.outputs()
    computed = [item.config for item in ws.scores.computed(version)
                if item.complete and item.config.name == task.scorer and item.config.params.get(REQUEST) ==
                request.describe()]
    stored = [_matching(computed, output) for output in outputs]
    if all(config is not None for config in stored):
        return LMScoring(ws, version, task, [c.config_hash for c in stored if c is not None],
                         [c.params for c in stored if c is not None], 0, None)
    model = model or request.load()
    model_config = model.config()
    hashed = [{"model": model_config, **output.settings} for output in outputs]
    metas = [{**params, REQUEST: request.describe(), **output.labels} for params, output in
             zip(hashed, outputs, strict=True)]
    hashes = [config_hash(params) for params in hashed]
    todo = len(ws.scores.missing(version, task.scorer, hashes[-1]))
    return LMScoring(ws, version, task, hashes, metas, todo, model, request)


def run_lm_scoring(scoring: LMScoring, advance: Advance | None = None, shard_rows: int = SHARD_ROWS,
                   engine: Engine | None = None) -> int:
    """Compute and store what is missing, shard by shard; returns how many distinct texts were scored.

    Shards run on `engine` (default: in this process, with the loaded model); workers elsewhere load their
    own copy from the plan's request. The driver stores each finished shard as it arrives."""
    if scoring.model is None:
        return 0
    ws, scorer = scoring.ws, scoring.task.scorer
    load = scoring.request.load if scoring.request is not None else partial(_not_reloadable, scorer)
    factory = partial(_scoring, scoring.task, Reusable(load, scoring.model))
    shards = ws.scores.pending(scoring.version, scorer, scoring.hashes[-1], (CONTENT_HASH, TEXT), shard_rows)
    done = 0
    for hashes, values in (engine or LocalEngine()).map_actors(factory, shards, description=scorer):
        for hash_, meta, scores in zip(scoring.hashes, scoring.metas, values, strict=True):
            ws.scores.add(scorer, hash_, hashes, scores, meta)
        done += len(hashes)
        if advance is not None:
            advance(len(hashes))
    ws.audit.computed("scores", scoring.version.info, scorer, scoring.hashes[-1], done)
    return done


def _scoring(task: LMTask, model: Reusable[LanguageModel]) -> Callable[[pa.Table], tuple[pa.Array, list[FloatArray]]]:
    """A worker's function: (content hashes, one score array per output) of one shard of records."""
    compute = task.bind(model.get())
    return lambda shard: (shard[CONTENT_HASH].combine_chunks(), compute(shard[TEXT].to_pylist()))


def _not_reloadable(scorer: str) -> LanguageModel:
    raise DatatrainerError(f"{scorer}: the model was given without the request to load it on other workers")


def score_with_lm(ws: Workspace, version: DatasetVersion, task: LMTask, request: ModelRequest,
                  model: LanguageModel | None = None, advance: Advance | None = None,
                  shard_rows: int = SHARD_ROWS, engine: Engine | None = None) -> LMScoring:
    """Plan and run in one call (the Python API); the returned plan names the stored config hashes."""
    scoring = plan_lm_scoring(ws, version, task, request, model)
    run_lm_scoring(scoring, advance, shard_rows, engine)
    return scoring


def _matching(configs: Sequence[StoredConfig], output: Output) -> StoredConfig | None:
    return next((config for config in configs
                 if all(config.params.get(key) == value for key, value in output.settings.items())), None)
