"""The user cache folder for derived model files (de-quantised weights, reassembled GGUFs):
`$DATATRAINER_CACHE_DIR`, else `$XDG_CACHE_HOME/datatrainer`, else `~/.cache/datatrainer`. A module of its own so
that light code (resolving a model name) can find it without importing torch."""

from __future__ import annotations

import os
from pathlib import Path

ENV_CACHE = "DATATRAINER_CACHE_DIR"


def cache_root() -> Path:
    explicit = os.environ.get(ENV_CACHE)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "datatrainer"
