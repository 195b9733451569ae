"""The one gate for writing an encrypted workspace's records to disk in the clear (dataset and annotation
exports, annotation downloads from the server): refused unless the caller asks for it deliberately
(`--decrypt`, `decrypt=true`), and then audited.

Exports are meant for training code and other tools, which cannot read our encrypted files; so rather than
write them encrypted, an encrypted workspace makes the user say that plaintext is what they want.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

from datatrainer.errors import DatatrainerError

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace


class ClearExportRefused(DatatrainerError):
    """An export in the clear from an encrypted workspace, without `--decrypt`."""


def allow_clear_export(ws: Workspace, what: str, out: Path | str, decrypt: bool, actor: str | None = None,
                       flag: str = "--decrypt") -> None:
    """Return when `what` may be written in the clear to `out`: the workspace is not encrypted, or
    `decrypt` is set (then the decision is appended to the audit log first). Raise otherwise, naming `flag`."""
    if not ws.keys.encrypted:
        return
    if not decrypt:
        raise ClearExportRefused(f"{what} is in an encrypted workspace and an export to {out} would be "
                                 f"written in the clear; pass {flag} to export it deliberately (audited)")
    ws.keys.provider()  # only someone holding the key may decide to decrypt
    ws.audit.record(actor=actor or f"local:{getpass.getuser()}", action="export.decrypt", entity="export",
                    entity_id=what, after={"out": str(out)})
