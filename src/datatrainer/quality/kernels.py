"""The compiled loops of `_kernels.c`, imported in one place so that a missing build says how to fix it."""

from __future__ import annotations

try:
    from datatrainer.quality import _kernels as kernels
except ModuleNotFoundError as exc:  # a checkout whose extension was never compiled
    raise ModuleNotFoundError(
        "datatrainer.quality._kernels is not built: run `pip install -e .` in the checkout (needs gcc)"
    ) from exc

__all__ = ["kernels"]
