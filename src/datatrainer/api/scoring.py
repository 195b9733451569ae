"""Embeddings and scores in one call each: `embed` and `score` (Ask-LLM, perplexity, density, distilled).

These are what `datatrainer embed` and `datatrainer score ...` do, without the terminal: the stores make every
call incremental (only texts without a stored result are computed) and interruptible (finished shards stay).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from datatrainer.errors import DatatrainerError
from datatrainer.params import validate_params
from datatrainer.progress import progress_bar

if TYPE_CHECKING:
    from datatrainer.engine.base import Engine
    from datatrainer.models.embedders import Backend as EmbeddingBackend
    from datatrainer.models.lm.base import LanguageModel
    from datatrainer.scoring.configs import StoredConfig
    from datatrainer.scoring.lm_jobs import AskLLMTask, LMScoring, LMTask, ModelRequest
    from datatrainer.store.versions import DatasetVersion
    from datatrainer.workspace import Workspace

SCORERS = ("ask-llm", "perplexity", "density", "distilled")
DEFAULT_TEACHER_PROMPTS = ("paper", "strict")  # with perplexity: the distilled teacher measured best (docs)
_BATCH_OPTION = {"transformers": "max_rows"}  # what each LM backend calls "texts per forward pass"


@dataclass(frozen=True)
class Scored:
    """What a scoring call stored: the scorer, the config hash of the score it reports (more configs may be
    stored by the same pass: `hashes`), and how many distinct texts it computed now (0: all were stored)."""

    version: str
    scorer: str
    config: str
    hashes: tuple[str, ...]
    computed: int


def check_embedding_backend(value: str) -> EmbeddingBackend:
    if value not in ("st", "onnx"):
        raise DatatrainerError(f"unknown embedding backend {value!r}: use st or onnx")
    return cast("EmbeddingBackend", value)


def embed(ws: Workspace, version: str | DatasetVersion, model: str = "minilm", backend: str = "st",
          batch_size: int | None = None, shard_rows: int | None = None, engine: Engine | None = None,
          progress: bool = False) -> Scored:
    """Sentence embeddings of every record (`datatrainer embed`); `config` is the embedding config hash."""
    from datatrainer.models.embedders import BATCH_SIZE
    from datatrainer.scoring.jobs import SHARD_ROWS, EmbedderRequest, embed_version

    source = ws.version(version)
    request = EmbedderRequest(model, check_embedding_backend(backend), batch_size or BATCH_SIZE)
    embedder = request.load()
    todo = len(ws.embeddings.missing(source, embedder.name, embedder.config_hash()))
    with progress_bar("embedding", todo, progress and todo > 0) as advance:
        computed = embed_version(ws, source, embedder, advance, shard_rows or SHARD_ROWS, engine, request)
    return Scored(source.ref, embedder.name, embedder.config_hash(), (embedder.config_hash(),), computed)


def model_request(model: str = "smollm2", backend: str = "transformers", base_url: str | None = None,
                  batch_size: int | None = None, dtype: str | None = None, quantize: str | None = None) -> ModelRequest:
    """A language model as the user names it (what `--model`, `--backend`, ... of `score` give)."""
    from datatrainer.models.lm import BACKENDS
    from datatrainer.scoring.lm_jobs import ModelRequest

    if backend not in BACKENDS:
        raise DatatrainerError(f"unknown language-model backend {backend!r}: use one of {', '.join(BACKENDS)}")
    batch_option = _BATCH_OPTION.get(backend, "batch_size")
    return ModelRequest(model, backend, {"base_url": base_url, batch_option: batch_size,  # type: ignore[arg-type]
                                         "dtype": dtype, "quantize": quantize})


def score_lm(ws: Workspace, version: DatasetVersion, task: LMTask, request: ModelRequest,
             shard_rows: int | None = None, engine: Engine | None = None, progress: bool = False,
             label: str | None = None, model: LanguageModel | None = None) -> LMScoring:
    """Plan and run one language-model scoring task (only texts missing a score are computed); returns the
    finished plan (its `hashes`, `todo` = texts computed)."""
    from datatrainer.scoring.lm_jobs import SHARD_ROWS, plan_lm_scoring, run_lm_scoring

    scoring = plan_lm_scoring(ws, version, task, request, model)
    with progress_bar(label or task.scorer, scoring.todo, progress and scoring.todo > 0) as advance:
        run_lm_scoring(scoring, advance, shard_rows or SHARD_ROWS, engine)
    return scoring


def score(ws: Workspace, scorer: str, version: str | DatasetVersion, *, model: str | None = None,
          backend: str | None = None, engine: Engine | None = None, progress: bool = False,
          shard_rows: int | None = None, **options: Any) -> Scored:
    """Score every record with `scorer` (`datatrainer score SCORER`): "ask-llm", "perplexity", "density" or
    "distilled". `options` are the command's options in Python spelling, e.g.
    `ws.score("ask-llm", "web@2", model="smollm2", prompts=["paper"], batch_size=8)`."""
    source = ws.version(version)
    if scorer in ("ask-llm", "perplexity"):
        return _score_lm(ws, scorer, source, model or "smollm2", backend or "transformers", engine, progress,
                         shard_rows, options)
    if scorer == "density":
        return _score_density(ws, source, model or "minilm", backend or "st", engine, progress, options)
    if scorer == "distilled":
        return distilled(ws, source, model=model or "smollm2", progress=progress, **options)
    raise DatatrainerError(f"unknown scorer {scorer!r}: use one of {', '.join(SCORERS)}")


def _score_lm(ws: Workspace, scorer: str, version: DatasetVersion, model: str, backend: str, engine: Engine | None,
              progress: bool, shard_rows: int | None, options: dict[str, Any]) -> Scored:
    from datatrainer.scoring.lm_jobs import PerplexityTask
    from datatrainer.scoring.perplexity import PerplexityParams

    request_keys = ("base_url", "batch_size", "dtype", "quantize")
    request = model_request(model, backend, **{k: options.pop(k) for k in request_keys if k in options})
    task: LMTask
    shown: dict[str, Any] = {}
    if scorer == "ask-llm":
        task, shown = ask_llm_task(**options)
    else:
        task = PerplexityTask(validate_params(PerplexityParams, options, "perplexity"))
    scoring = score_lm(ws, version, task, request, shard_rows, engine, progress)
    return Scored(version.ref, scorer, scoring.hash_of(shown), tuple(scoring.hashes), scoring.todo)


def ask_llm_task(score: str | None = None, **settings: Any) -> tuple[AskLLMTask, dict[str, Any]]:
    """The Ask-LLM task for these settings (prompts, calibrate, max_doc_tokens, yes, no) and the output the
    caller reports: `score` is one of the stored kinds (student, the default; normalized, pyes, logprob)."""
    from datatrainer.scoring.ask_llm import AskLLMParams
    from datatrainer.scoring.lm_jobs import STUDENT, AskLLMTask

    reported = score or STUDENT
    chosen = {**settings, "score": None if reported == STUDENT else reported}
    params = validate_params(AskLLMParams, {k: v for k, v in chosen.items() if v is not None}, "ask-llm")
    return AskLLMTask(params), {"score": reported}


def _score_density(ws: Workspace, version: DatasetVersion, model: str, backend: str, engine: Engine | None,
                   progress: bool, options: dict[str, Any]) -> Scored:
    from datatrainer.scoring.jobs import DENSITY, score_density
    from datatrainer.scoring.race import RaceParams

    sketch = validate_params(RaceParams, {k: v for k, v in options.items() if v is not None}, "density")
    embedding = ensure_embedded(ws, version, model, backend, engine, progress)
    hash_ = score_density(ws, version, embedding, sketch, engine)
    return Scored(version.ref, DENSITY, hash_, (hash_,), version.num_rows)


def ensure_embedded(ws: Workspace, version: DatasetVersion, model: str, backend: str, engine: Engine | None = None,
                    progress: bool = False) -> StoredConfig:
    """The stored embedding config covering every record, embedding what is missing first."""
    from datatrainer.models.embedders import load_embedder
    from datatrainer.scoring.jobs import complete_embeddings

    embedding = complete_embeddings(ws, version, model, check_embedding_backend(backend))
    if embedding is None:
        embed(ws, version, model, backend, engine=engine, progress=progress)
        embedding = ws.embeddings.resolve(version, load_embedder(model, check_embedding_backend(backend)))
    return embedding


def distilled(ws: Workspace, version: str | DatasetVersion, *, teacher: str = "ask-llm",
              teacher_config: str | None = None, train_size: int | None = None, seed: int = 0,
              model: str = "smollm2", prompts: Sequence[str] | None = None, teacher_score: str = "pyes",
              perplexity: bool = True, heuristics: bool = True, student: str = "self-training",
              quantile: float = 0.2, rounds: int = 1, alpha: float = 1.0, embedding_model: str = "minilm",
              embedding_backend: str = "onnx", progress: bool = False) -> Scored:
    """A student distilled from LLM teachers scores every record (`datatrainer score distilled`): with
    `train_size`, the Ask-LLM teachers (one per prompt) score a random sample; with `perplexity`, every
    record's perplexity joins them; the student learns on sentence embeddings (plus, with `heuristics`, the
    quality package's heuristic signals, and the NLL band) and is stored as `<teacher>-distilled`."""
    from datatrainer.scoring.ask_llm import ASK_LLM, AskLLMParams
    from datatrainer.scoring.distilled import DistillParams, TeacherSignal, distill, teacher_sample
    from datatrainer.scoring.lm_jobs import ModelRequest, PerplexityTask, run_lm_scoring
    from datatrainer.scoring.perplexity import PERPLEXITY

    source = ws.version(version)
    params = validate_params(DistillParams, {"teacher": teacher, "teacher_config": teacher_config,
                                             "train_size": train_size, "seed": seed, "alpha": alpha,
                                             "student": student, "quantile": quantile, "rounds": rounds,
                                             "heuristics": heuristics,
                                             "model": embedding_model, "backend": embedding_backend}, "distilled")
    asks = [validate_params(AskLLMParams, {"prompts": [name], "score": teacher_score}, "ask-llm")
            for name in prompts or DEFAULT_TEACHER_PROMPTS]
    request, loaded = ModelRequest(model), None
    if params.train_size is not None and teacher == ASK_LLM and teacher_config is None:
        hashes = []
        for ask in asks:
            scoring = teacher_sample(ws, source, params, ask, request, loaded)
            loaded = scoring.model or loaded
            with progress_bar(f"teacher (ask-llm, {ask.prompts[0]})", scoring.todo,
                              progress and scoring.todo > 0) as advance:
                run_lm_scoring(scoring, advance)
            hashes.append(scoring.hash_of({"score": ask.score}))
        params = params.model_copy(update={"teacher_config": hashes[0], "extra_teachers": tuple(
            TeacherSignal(scorer=ASK_LLM, config=hash_) for hash_ in hashes[1:])})
    else:
        ws.scores.resolve(source, teacher, teacher_config)  # a missing teacher is an error before any LLM run
    if perplexity:
        scoring = score_lm(ws, source, PerplexityTask(), request, progress=progress,
                           label="perplexity (every record)", model=loaded)
        hash_ = scoring.hashes[-1]
        params = params.model_copy(update={"perplexity_config": hash_, "extra_teachers": (
            *params.extra_teachers, TeacherSignal(scorer=PERPLEXITY, config=hash_))})
    embedding = ensure_embedded(ws, source, params.model, params.backend, progress=progress)
    hash_ = distill(ws, source, params, embedding)
    return Scored(source.ref, params.scorer, hash_, (hash_,), source.num_rows)

