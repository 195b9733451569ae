"""Models and tokenizers for training, resolved offline the way the scoring backends resolve them.

A base model is `tiny-gpt` (a GPT-2-style config built from scratch), a bundled alias such as `smollm2`, a
`.gguf` file, a model folder or a Hugging Face id in the local cache. A GGUF model is de-quantised once into a
plain safetensors folder in the user cache (`$DATATRAINER_CACHE_DIR`, else `$XDG_CACHE_HOME/datatrainer`, else
`~/.cache/datatrainer`): de-quantising SmolLM2-135M takes ~16 s on 2 cores, loading the cached folder ~0.5 s,
and a LoRA adapter's `base_model_name_or_path` then names a folder anything can load.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.hf_tokenizer import quiet_load, transformers_module
from datatrainer.models.lm.sources import ModelSource, hub_offline, not_found, resolve
from datatrainer.training.config import TINY_GPT, TrainConfig
from datatrainer.user_cache import cache_root

DEFAULT_TOKENIZER = "smollm2"


def offline() -> None:
    """Nothing downloads at run time. huggingface_hub reads HF_HUB_OFFLINE once, when it is imported; where
    something imported it before the variable was set (transformers' callbacks, a test session), a missing model
    would otherwise be looked up online and fail only after the network timeouts (~50 s here)."""
    hub_offline()
    constants: Any = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


@contextlib.contextmanager
def quiet_deprecations() -> Iterator[None]:
    """Deprecation notices between transformers, TRL and peft versions are theirs to fix, not the user's."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|trl|peft)(\.|$)")
        yield


def cached_folder(kind: str, key: str, build: Callable[[Path], None]) -> Path:
    """`<cache>/<kind>/<key>/`, built by `build(folder)` into a private folder and renamed into place, so a
    build killed midway (or racing another process) never leaves a partial folder under the final name."""
    final = cache_root() / kind / re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:150]
    if final.is_dir():
        return final
    work = final.parent / f".tmp-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        build(work)
        work.rename(final)
    except OSError:
        if not final.is_dir():
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def _gguf_folder(source: ModelSource, original: str) -> Path:
    """A GGUF model de-quantised to float32 safetensors (model and tokenizer) in the cache."""
    def build(folder: Path) -> None:
        auto = transformers_module()
        config = auto.GgufConfig(dequantize=True)
        tokenizer, model = quiet_load(original, lambda: (
            auto.AutoTokenizer.from_pretrained(source.path, gguf_file=source.gguf_file),
            auto.AutoModelForCausalLM.from_pretrained(source.path, gguf_file=source.gguf_file, dtype=torch.float32,
                                                      quantization_config=config)))
        # The weights are plain tensors now; drop the GGUF quantizer so transformers saves (and trains) them.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    return cached_folder("base-models", f"{source.name}-{source.weights}", build)


def model_folder(model: str) -> str:
    """What `from_pretrained` is given for a base model: a folder, or a hub id found in the local cache."""
    offline()
    source = resolve(model)
    if source.gguf_file is not None:
        return str(_gguf_folder(source, model))
    return source.path


def load_causal_lm(model: str, dtype: torch.dtype = torch.float32) -> Any:
    """A pretrained causal LM, offline, with a one-line error naming how to provide a missing one."""
    if model == TINY_GPT:
        raise DatatrainerError(f"{TINY_GPT!r} is an architecture trained from scratch, not pretrained weights: "
                               "train it first (`datatrainer train ... --model tiny-gpt --out NAME`)")
    folder = model_folder(model)
    auto = transformers_module().AutoModelForCausalLM
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return auto.from_pretrained(folder, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise _offline_error(model, exc) from None


def load_tokenizer(spec: str) -> Any:
    """A tokenizer from a folder, a `tokenizer.json` file or a model reference (alias, GGUF, id)."""
    offline()
    path = Path(spec).expanduser()
    if not path.exists() and (spec.endswith(".json") or spec.startswith((".", "/", "~"))):
        raise DatatrainerError(f"tokenizer {spec!r}: no such file or folder (pass a tokenizer folder or a "
                               "tokenizer.json file)")
    auto = transformers_module()
    try:
        if path.is_file() and path.suffix == ".json":
            tokenizer = auto.PreTrainedTokenizerFast(tokenizer_file=str(path))
        else:
            folder = path if path.is_dir() else model_folder(spec)
            with contextlib.redirect_stderr(io.StringIO()):
                tokenizer = auto.AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise _offline_error(spec, exc) from None
    if tokenizer.eos_token_id is None:
        raise DatatrainerError(f"tokenizer {spec!r} has no end-of-sequence token; documents cannot be separated")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def base_model_and_tokenizer(config: TrainConfig) -> tuple[Any, Any]:
    """The model to train (fresh tiny-gpt weights for the seed, or pretrained ones) and its tokenizer."""
    if config.from_scratch:
        tokenizer = load_tokenizer(config.tokenizer or DEFAULT_TOKENIZER)
        auto = transformers_module()
        tiny = config.tiny_config()
        if tiny["n_embd"] % tiny["n_head"]:
            raise DatatrainerError(f"tiny-gpt: n_embd ({tiny['n_embd']}) must be a multiple of n_head "
                                   f"({tiny['n_head']})")
        gpt = auto.GPT2Config(vocab_size=len(tokenizer), bos_token_id=tokenizer.eos_token_id,
                              eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                              resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **tiny)
        torch.manual_seed(config.seed)
        return auto.GPT2LMHeadModel(gpt), tokenizer
    model = load_causal_lm(config.model)
    tokenizer = load_tokenizer(config.tokenizer or model_folder(config.model))
    return model, tokenizer


def _offline_error(model: str, exc: BaseException) -> DatatrainerError:
    error = not_found(model, exc)
    if not Path(model).exists():
        return DatatrainerError(f"{error} -- pass a local model folder, a .gguf file, or a bundled alias "
                                f"(smollm2, {TINY_GPT})")
    return error
