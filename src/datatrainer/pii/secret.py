"""The workspace's pseudonymisation key: 32 random bytes in `<workspace>/secrets/pii-hmac.key` (mode 0600).

Every surrogate and hash is an HMAC-SHA256 under this key, so the same value gets the same surrogate in
every version of the workspace, and nobody without the key can test a guess ("is this hash John's email?").
Created on first use; written to a temporary file and linked into place, so two processes creating it at
once agree on one key and none ever reads a half-written file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from datatrainer.errors import WorkspaceError

KEY_FILE = Path("secrets") / "pii-hmac.key"


def workspace_key(root: Path) -> bytes:
    """The key of the workspace at `root`, created if it has none."""
    path = root / KEY_FILE
    if not path.exists():
        _create(path)
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"cannot read the PII key {path}: {exc}") from None
    if len(key) != 32:
        raise WorkspaceError(f"the PII key {path} is damaged (expected 32 bytes, found {len(key)})")
    return key


def _create(path: Path) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if another process won the race: its key is the key
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    except OSError as exc:
        raise WorkspaceError(f"cannot create the PII key {path}: {exc.strerror or exc}") from None
