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
    if explicit:
        return explicit
    from_env = os.environ.get(ENV_DB_URL)
    if from_env:
        return from_env
    configured = read_workspace_config(root).get("catalog", {}).get("url")
    if configured:
        return str(configured)
    return f"sqlite:///{root / 'catalog.db'}"


def data_url(root: Path, explicit: str | None = None) -> str:
    """Where versions, artifacts and the score/embedding caches live: the workspace folder itself by
    default, or a `pyarrow.fs` URL such as `s3://bucket/prefix` (`[storage] data_url` in the workspace file)."""
    if explicit:
        return explicit
    from_env = os.environ.get(ENV_DATA_URL)
    if from_env:
        return from_env
    configured = read_workspace_config(root).get("storage", {}).get("data_url")
    return str(configured) if configured else str(root)


def default_workspace_root() -> Path:
    return Path(os.environ.get(ENV_WORKSPACE, ".")).resolve()
