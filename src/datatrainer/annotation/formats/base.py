"""What every annotation file format shares: the write report and the all-or-nothing write.

Formats that cannot hold an annotation exactly (BIO and spaCy need spans on token boundaries, BIO cannot hold
overlapping spans) change or drop it; they count each case in a `WriteReport` that the caller shows, so a
lossy export is never silent. Every output appears by rename from a temporary sibling, so an interrupted or
failed write leaves either the old file or the whole new one, never half of it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from datatrainer.errors import DatatrainerError, InputError
from datatrainer.io.overwrite import check_replaceable, mark


@dataclass(frozen=True)
class WriteReport:
    """What a write did: ``snapped`` spans were moved to token boundaries, the ``dropped_*`` ones left out."""

    path: Path
    docs: int
    spans: int  # spans written (after snapping and dropping)
    snapped: int = 0
    dropped_overlapping: int = 0  # the format cannot hold a span overlapping another
    dropped_no_token: int = 0  # the span covers no token (only whitespace)

    def describe(self) -> str:
        """One line for the CLI, naming every change the format forced."""
        line = f"wrote {self.docs} docs with {self.spans} spans to {self.path}"
        changes = [f"{count} {what}" for count, what in (
            (self.snapped, "spans snapped to token boundaries"),
            (self.dropped_overlapping, "overlapping spans dropped (the format cannot hold overlaps)"),
            (self.dropped_no_token, "spans dropped for covering no token"),
        ) if count]
        return line + ("; " + "; ".join(changes) if changes else "")


@contextmanager
def staged(path: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary sibling path to write (a file or a folder); on success it replaces ``path``."""
    if path.exists() and not overwrite:
        raise DatatrainerError(f"{path} already exists (pass --overwrite to replace it)")
    check_replaceable(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield temporary
        if temporary.is_dir():
            mark(temporary)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)  # a folder cannot be renamed over a non-empty one
        elif path.exists() and temporary.is_dir():
            path.unlink()
        os.replace(temporary, path)
    except OSError as exc:
        raise DatatrainerError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)


def read_bytes(path: Path) -> bytes:
    """The whole file, or an `InputError` naming it (missing, a folder, unreadable)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
