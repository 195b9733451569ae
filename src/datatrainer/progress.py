"""Rich progress bars for long work, switched off for library use and tests.

Every bar also reports to the current `ProgressObserver`, if one is set (a job records its progress in the
catalog this way, and stops at the next advance when asked to), whether or not the bar is drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


class ProgressObserver(Protocol):
    """Receives every bar's start and advances (e.g. a job recording its progress)."""

    def start(self, description: str, total: float | None) -> None: ...

    def advance(self, amount: float) -> None: ...


_observer: ContextVar[ProgressObserver | None] = ContextVar("datatrainer_progress_observer", default=None)


@contextmanager
def observing(observer: ProgressObserver) -> Iterator[None]:
    """Report every progress bar started inside this block to `observer`."""
    token = _observer.set(observer)
    try:
        yield
    finally:
        _observer.reset(token)


def observed(description: str, total: float | None, advance: Advance) -> Advance:
    """`advance`, also reporting to the current observer (unchanged when there is none); for bars drawn
    without `progress_bar`."""
    observer = _observer.get()
    if observer is None:
        return advance
    observer.start(description, total)

    def both(amount: float) -> None:
        advance(amount)
        observer.advance(amount)

    return both


def _silent(amount: float) -> None:
    return None


@contextmanager
def progress_bar(description: str, total: float | None, enabled: bool, unit: str = "rows") -> Iterator[Advance]:
    """Yield a function that advances the bar; a no-op when disabled."""
    if not enabled:
        yield observed(description, total, _silent)
        return
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn()]
    if unit == "rows":
        columns.append(MofNCompleteColumn())
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=total)

        def advance(amount: float) -> None:
            progress.advance(task, amount)

        yield observed(description, total, advance)
