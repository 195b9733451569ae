"""Pick the engine a command runs on: `--engine local|ray` (or `DATATRAINER_ENGINE`) and `--ray-address`."""

from __future__ import annotations

from typing import Literal

from datatrainer.engine.base import Engine
from datatrainer.engine.local import LocalEngine
from datatrainer.errors import DatatrainerError

EngineName = Literal["local", "ray"]
ENGINES: tuple[EngineName, ...] = ("local", "ray")
ENV_ENGINE = "DATATRAINER_ENGINE"
ENV_RAY_ADDRESS = "DATATRAINER_RAY_ADDRESS"
ENV_BATCH_ROWS = "DATATRAINER_BATCH_ROWS"
BATCH_ROWS = 65_536


def engine_from_options(name: str = "local", address: str | None = None, progress: bool = False,
                        batch_rows: int = BATCH_ROWS) -> Engine:
    """The engine called `name`, reading batches of at most `batch_rows` rows; for Ray, `address` is `auto`,
    `host:6379` or `ray://host:10001`, and None starts a local Ray instance. Ray is imported only here, only
    when asked for."""
    if name == "local":
        if address is not None:
            raise DatatrainerError("--ray-address needs --engine ray")
        return LocalEngine(progress=progress, batch_size=batch_rows)
    if name == "ray":
        try:
            from datatrainer.engine.ray_engine import RayEngine
        except ImportError:
            raise DatatrainerError("the ray engine needs Ray: pip install 'datatrainer[ray]'") from None
        return RayEngine(address=address, progress=progress, batch_size=batch_rows)
    raise DatatrainerError(f"unknown engine {name!r}; use one of: {', '.join(ENGINES)}")
