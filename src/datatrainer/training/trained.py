"""Loading trained models back, and exporting them as folders other tools load.

`load_trained` accepts a registered model name, a model folder (full weights, or a LoRA adapter whose
`adapter_config.json` names its base) or any base-model reference `datatrainer train --model` accepts. LoRA
models load as a `peft.PeftModel` over their base, unmerged, so they compute exactly what was trained.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.hf_tokenizer import transformers_module
from datatrainer.training.loading import load_causal_lm, load_tokenizer, model_folder, quiet_deprecations
from datatrainer.training.registry import TrainedModel

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

ADAPTER_CONFIG = "adapter_config.json"


def load_trained(ws: Workspace, name_or_id: str, dtype: torch.dtype = torch.float32) -> tuple[Any, Any]:
    """(model in eval mode, tokenizer) for a registered model, a model/adapter folder, or a base model."""
    with quiet_deprecations():
        return _load(ws, name_or_id, dtype)


def _load(ws: Workspace, name_or_id: str, dtype: torch.dtype) -> tuple[Any, Any]:
    trained = ws.models.find(name_or_id)
    if trained is not None:
        return _load_registered(trained, dtype)
    folder = Path(name_or_id).expanduser()
    if (folder / ADAPTER_CONFIG).is_file():
        from peft import AutoPeftModelForCausalLM

        with contextlib.redirect_stderr(io.StringIO()):
            model = AutoPeftModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
        return model.eval(), load_tokenizer(str(folder))
    return load_causal_lm(name_or_id, dtype).eval(), load_tokenizer(model_folder(name_or_id))


def _load_registered(trained: TrainedModel, dtype: torch.dtype) -> tuple[Any, Any]:
    if not trained.path.is_dir():
        raise DatatrainerError(f"model {trained.name!r}: its folder {trained.path} is missing")
    if trained.method == "lora":
        from peft import PeftModel

        model = PeftModel.from_pretrained(load_causal_lm(trained.base_model, dtype), str(trained.path))
    else:
        auto = transformers_module().AutoModelForCausalLM
        model = auto.from_pretrained(str(trained.path), dtype=dtype)
    return model.eval(), load_tokenizer(str(trained.path))


def export_model(ws: Workspace, name: str, out: Path, merge: bool = False) -> Path:
    """Write a registered model to `out`: a folder `AutoModelForCausalLM.from_pretrained` loads (LoRA with
    `merge`: the adapter folded into the base weights; LoRA without: the adapter folder for peft)."""
    trained = ws.models.get(name)
    out = out.expanduser().resolve()
    if out.exists():
        raise DatatrainerError(f"{out} already exists: choose a new --out folder")
    if merge and trained.method != "lora":
        raise DatatrainerError(f"model {name!r} was trained with --method {trained.method}: there is nothing to "
                               "merge, export it without --merge")
    work = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        if merge:
            with quiet_deprecations():
                model, tokenizer = _load_registered(trained, torch.float32)
            merged = model.merge_and_unload()
            merged.save_pretrained(str(work))
            tokenizer.save_pretrained(str(work))
        else:
            shutil.copytree(trained.path, work)
        work.rename(out)
    except OSError as exc:
        raise DatatrainerError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out
