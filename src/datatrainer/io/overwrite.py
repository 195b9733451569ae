"""What `--overwrite` may replace: only an output that datatrainer wrote, never a workspace.

Every folder an export writes carries `MARKER`. Replacing an existing folder is allowed only when it is empty,
or holds the marker and no workspace inside it; replacing a file, unless it is one of a workspace's own (its
settings and catalog at the top, anything under its data or hidden folders). Anything else is refused in one
line. So `export --out . --overwrite` cannot wipe the current folder, and no export can replace the workspace,
a folder containing it, or its catalog and versions, while exports into a folder of the workspace
(`./exports/web`, the workspace being the current folder by default) can still be replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

from datatrainer.config import CONFIG_FILE
from datatrainer.errors import DatatrainerError

MARKER = ".datatrainer-export"
_DATA_FOLDERS = ("versions", "tmp")
_MARKER_TEXT = "Written by datatrainer: `--overwrite` may replace this folder (and no folder without this file).\n"


def mark(folder: Path) -> None:
    """Label a folder an export is writing, so a later `--overwrite` may replace it."""
    (folder / MARKER).write_text(_MARKER_TEXT)


def check_replaceable(out: Path) -> None:
    """Raise unless `out` is absent or an output that `--overwrite` may replace."""
    target = Path(os.path.abspath(out))
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir() or target.is_symlink():
        owner = _owning_workspace(target)
        if owner is not None:
            raise DatatrainerError(f"{out} belongs to the workspace {owner}: refusing to overwrite it")
        return
    if not any(target.iterdir()):
        return
    if not (target / MARKER).is_file():
        raise DatatrainerError(f"{out} was not written by datatrainer (it has no {MARKER} file): refusing to "
                               "replace it; choose another --out or remove it yourself")
    for folder, _, names in os.walk(target):
        if CONFIG_FILE in names:
            raise DatatrainerError(f"{out} contains the workspace {folder}: refusing to overwrite it")


def _owning_workspace(path: Path) -> Path | None:
    """The workspace whose own file `path` is: a file at its top, or under its data or a hidden folder."""
    for root in path.parents:
        if (root / CONFIG_FILE).is_file():
            top = path.relative_to(root).parts[0]
            if path.parent == root or top in _DATA_FOLDERS or top.startswith("."):
                return root
    return None
