"""Shared CLI state: which workspace and catalog the command works on, and the console."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from datatrainer.engine.local import LocalEngine
from datatrainer.workspace import Workspace

console = Console()


@dataclass
class CliState:
    workspace: Path | None
    db_url: str | None
    progress: bool

    def open(self) -> Workspace:
        return Workspace.open(self.workspace, self.db_url)

    def engine(self) -> LocalEngine:
        return LocalEngine(progress=self.progress)


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj
