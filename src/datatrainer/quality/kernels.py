"""The compiled loops of `_kernels.c`, imported in one place so that a missing or stale build says how to fix
it (`pip install -e .` compiles the extension; a checkout that changed the C source needs it again)."""

from __future__ import annotations

EXPECTED_VERSION = 1  # `KERNELS_VERSION` in _kernels.c

try:
    from datatrainer.quality import _kernels as kernels
except ModuleNotFoundError as exc:  # a checkout whose extension was never compiled
    raise ModuleNotFoundError(
        "datatrainer.quality._kernels is not built: run `pip install -e .` in the checkout (needs gcc)"
    ) from exc

if kernels.VERSION != EXPECTED_VERSION:
    raise ImportError(f"datatrainer.quality._kernels is stale (version {kernels.VERSION}, expected "
                      f"{EXPECTED_VERSION}): run `pip install -e .` in the checkout to rebuild it")

__all__ = ["kernels"]
