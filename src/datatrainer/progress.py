"""Rich progress bars for long work, switched off for library use and tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Advance(Protocol):
    def __call__(self, amount: float) -> None: ...


def _silent(amount: float) -> None:
    return None


@contextmanager
def progress_bar(description: str, total: float | None, enabled: bool, unit: str = "rows") -> Iterator[Advance]:
    """Yield a function that advances the bar; a no-op when disabled."""
    if not enabled:
        yield _silent
        return
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn()]
    if unit == "rows":
        columns.append(MofNCompleteColumn())
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=total)

        def advance(amount: float) -> None:
            progress.advance(task, amount)

        yield advance
