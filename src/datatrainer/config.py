"""Settings from flags, `DATATRAINER_*` environment variables and the workspace's `datatrainer.toml`.

Precedence, highest first: an explicit argument, the environment, the workspace file, the default.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from datatrainer.errors import WorkspaceError

CONFIG_FILE = "datatrainer.toml"
ENV_DB_URL = "DATATRAINER_DB_URL"
ENV_WORKSPACE = "DATATRAINER_WORKSPACE"
ENV_DATA_URL = "DATATRAINER_DATA_URL"


def read_workspace_config(root: Path) -> dict[str, Any]:
    path = root / CONFIG_FILE
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{path}: not valid TOML: {exc}") from exc


def catalog_url(root: Path, explicit: str | None = None) -> str:
    """The catalog database: PostgreSQL when configured, else the embedded SQLite file in the workspace."""
    return _setting(root, explicit, ENV_DB_URL, "catalog", "url") or f"sqlite:///{root / 'catalog.db'}"


def data_url(root: Path, explicit: str | None = None) -> str:
    """Where versions, artifacts and the score/embedding caches live: the workspace folder itself by
    default, or a `pyarrow.fs` URL such as `s3://bucket/prefix` (`[storage] data_url` in the workspace file)."""
    return _setting(root, explicit, ENV_DATA_URL, "storage", "data_url") or str(root)


def _setting(root: Path, explicit: str | None, env: str, section: str, key: str) -> str | None:
    """A flag beats the environment, which beats the workspace file (the order every setting follows)."""
    if explicit:
        return explicit
    from_env = os.environ.get(env)
    if from_env:
        return from_env
    configured = read_workspace_config(root).get(section, {}).get(key)
    return str(configured) if configured else None


def default_workspace_root() -> Path:
    return Path(os.environ.get(ENV_WORKSPACE, ".")).resolve()
