"""What `datatrainer eval MODEL` evaluates: a model registered by `datatrainer train`, a model folder, a `.gguf`
file, the bundled `smollm2`, or a Hugging Face id already in the local cache. Nothing downloads.

Scoring suites (perplexity, multiple-choice) run the transformers backend, the code path `score perplexity`
uses; a LoRA model is scored through its merged weights (exported once into the workspace's tmp folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.hf import Dtype, TransformersLM
from datatrainer.workspace import Workspace

GUIDANCE = ("give a model registered with `datatrainer train` (see `datatrainer models list`), a model folder, a "
            ".gguf file, smollm2, or a Hugging Face id already in the local cache (copy it there from a machine "
            "with network: nothing downloads at run time)")


def load_scorer(ws: Workspace | None, model: str, dtype: Dtype = "float32") -> TransformersLM:
    """The model behind the `LanguageModel` protocol (float32 by default: evaluations compare exactly)."""
    trained = ws.models.find(model) if ws is not None else None
    folder = model
    if ws is not None and trained is not None:
        folder = str(_merged_folder(ws, trained.name, trained.config_hash) if trained.method == "lora"
                     else trained.path)
    try:
        return TransformersLM(folder, dtype=dtype)
    except DatatrainerError as exc:
        raise exc if trained is not None else _unknown(model, exc) from None


def load_hf(ws: Workspace | None, model: str) -> tuple[Any, Any, dict[str, Any]]:
    """(transformers model, tokenizer, description) for generation: registered models load as trained
    (LoRA over its base, unmerged)."""
    from datatrainer.training.trained import load_trained

    if ws is None:
        raise DatatrainerError("evaluating a transformers model needs a workspace (datatrainer init)")
    trained = ws.models.find(model)
    try:
        loaded, tokenizer = load_trained(ws, model)
    except DatatrainerError as exc:
        raise exc if trained is not None else _unknown(model, exc) from None
    description = {"name": trained.name if trained else Path(model).name or model, "model": model,
                   "config_hash": trained.config_hash if trained else None}
    return loaded, tokenizer, description


def _merged_folder(ws: Workspace, name: str, config_hash: str) -> Path:
    from datatrainer.training.trained import export_model

    folder = ws.root / "tmp" / f"eval-merged-{name}-{config_hash[:12]}"
    if not folder.is_dir():
        export_model(ws, name, folder, merge=True)
    return folder


def _unknown(model: str, exc: DatatrainerError) -> DatatrainerError:
    if Path(model).expanduser().exists():
        return exc
    return DatatrainerError(f"unknown model {model!r}: {GUIDANCE} ({str(exc).splitlines()[0][:200]})")
