"""Where batch work runs: the `Engine` protocol, `LocalEngine` (in-process, the default) and, with the `ray`
extra, `RayEngine` (`datatrainer.engine.ray_engine`, imported only when chosen)."""

from datatrainer.engine.base import Engine
from datatrainer.engine.local import LocalEngine
from datatrainer.engine.select import engine_from_options

__all__ = ["Engine", "LocalEngine", "engine_from_options"]
