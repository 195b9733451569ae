"""The keys of the audit log, kept outside the database: the chain's HMAC key (here) and the export signing
key (`audit_export`).

Someone who can write to the catalog database but not read these files cannot forge a chain that
`audit verify` accepts, nor an export that `audit verify-export` accepts. By default they live in the
workspace's private folder `.keys/` (mode 0700, files 0600); `DATATRAINER_AUDIT_KEY_FILE` moves the chain key
elsewhere (e.g. a mount only the service account reads), which matters for an SQLite catalog whose file
sits beside the workspace's folders.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from datatrainer.errors import DatatrainerError

ENV_AUDIT_KEY_FILE = "DATATRAINER_AUDIT_KEY_FILE"
PRIVATE_DIR = ".keys"
CHAIN_KEY_FILE = "audit.key"
KEY_BYTES = 32


def private_dir(root: Path) -> Path:
    folder = root / PRIVATE_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def chain_key_path(root: Path) -> Path:
    override = os.environ.get(ENV_AUDIT_KEY_FILE)
    return Path(override) if override else root / PRIVATE_DIR / CHAIN_KEY_FILE


def create_secret_file(path: Path, data: bytes) -> None:
    """Write a new secret file readable by its owner only; a concurrent creator wins and we read theirs."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_chain_key(root: Path, create: bool = True) -> bytes:
    """The 32-byte chain key (hex in its file), created on first use unless `create` is False."""
    path = chain_key_path(root)
    if not path.exists():
        if not create:
            raise DatatrainerError(f"the audit key {path} is missing: without it the audit log cannot be verified "
                                   f"(restore it from a backup, or point {ENV_AUDIT_KEY_FILE} at it)")
        create_secret_file(path, secrets.token_hex(KEY_BYTES).encode())
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        raise DatatrainerError(f"the audit key {path} is not a hex key of {KEY_BYTES} bytes") from None
    if len(key) != KEY_BYTES:
        raise DatatrainerError(f"the audit key {path} is not a hex key of {KEY_BYTES} bytes")
    return key
