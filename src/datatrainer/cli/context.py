"""Shared CLI state: which workspace and catalog the command works on, and the console."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

from datatrainer.engine.base import Engine
from datatrainer.engine.select import BATCH_ROWS, engine_from_options
from datatrainer.workspace import Workspace

console = Console()


@dataclass
class CliState:
    workspace: Path | None
    db_url: str | None
    progress: bool
    engine_name: str = "local"
    ray_address: str | None = None
    batch_rows: int = BATCH_ROWS
    _engine: Engine | None = field(default=None, init=False, repr=False)

    def open(self) -> Workspace:
        return Workspace.open(self.workspace, self.db_url)

    def engine(self) -> Engine:
        """The engine chosen with --engine, started once per command (starting Ray takes seconds)."""
        if self._engine is None:
            self._engine = engine_from_options(self.engine_name, self.ray_address, self.progress,
                                               self.batch_rows)
        return self._engine


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj
