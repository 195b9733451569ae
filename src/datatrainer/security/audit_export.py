"""`datatrainer audit export` / `verify-export`: the audit log for an auditor, signed with Ed25519.

The export is JSON Lines: a header (workspace, time, entry count, head hash, and the result of `verify()` at
export time), then one line per entry with its payload where one remains. `FILE.sig` holds the Ed25519
signature of the file's bytes (base64), made with the workspace's signing key (`signing_key` below); the
auditor checks it with the public key alone, which `audit public-key` prints, so they need neither the
database nor the chain's secret key.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from datatrainer.errors import DatatrainerError
from datatrainer.security.audit_key import create_secret_file, private_dir

if TYPE_CHECKING:
    from datatrainer.workspace import Workspace

FORMAT = "datatrainer-audit-export/1"
SIGNATURE_SUFFIX = ".sig"
SIGNING_KEY_FILE = "audit-signing.pem"
PUBLIC_KEY_FILE = "audit-signing.pub"


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    signature: Path
    entries: int
    chain_ok: bool


def export_log(ws: Workspace, out: Path) -> ExportSummary:
    """Write the whole log and its signature, each atomically (temp file, then rename)."""
    report = ws.audit.verify()
    entries = ws.audit.entries(limit=None)
    header = {"format": FORMAT, "workspace": str(ws.root), "exported_at": datetime.now(UTC).isoformat(),
              "entries": len(entries), "head": entries[-1].hash if entries else None,
              "verify": {"ok": report.ok, "reason": report.reason}}
    lines = [orjson.dumps(header)]
    for e in entries:
        lines.append(orjson.dumps({"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                                   "entity": e.entity, "entity_id": e.entity_id, "payload_sha256": e.payload_sha256,
                                   "erased": e.erased, "before": e.before, "after": e.after,
                                   "prev_hash": e.prev_hash, "hash": e.hash}, option=orjson.OPT_NON_STR_KEYS))
    body = b"\n".join(lines) + b"\n"
    signature = base64.b64encode(signing_key(ws.root).sign(body)) + b"\n"
    sig_path = out.with_name(out.name + SIGNATURE_SUFFIX)
    _atomic_write(out, body)
    _atomic_write(sig_path, signature)
    return ExportSummary(out, sig_path, len(entries), report.ok)


def verify_export(path: Path, public_key: Path, signature: Path | None = None) -> int:
    """Check the signature of an export; returns its entry count, or raises naming what is wrong."""
    sig_path = signature or path.with_name(path.name + SIGNATURE_SUFFIX)
    try:
        body, raw = path.read_bytes(), sig_path.read_bytes()
    except OSError as exc:
        raise DatatrainerError(f"cannot read {exc.filename}: {exc.strerror}") from None
    try:
        load_public_key(public_key).verify(base64.b64decode(raw.strip(), validate=True), body)
    except (InvalidSignature, ValueError):
        raise DatatrainerError(f"{path}: the signature does not match (altered, or signed by another key)") from None
    header = orjson.loads(body.split(b"\n", 1)[0])
    if header.get("format") != FORMAT:
        raise DatatrainerError(f"{path}: not a datatrainer audit export")
    return int(header["entries"])


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DatatrainerError(f"cannot write {path}: {exc.strerror or exc}") from exc


def signing_key(root: Path) -> Ed25519PrivateKey:
    """The workspace's Ed25519 export signing key, created on first use (its public half beside it)."""
    folder = private_dir(root)
    path = folder / SIGNING_KEY_FILE
    if not path.exists():
        fresh = Ed25519PrivateKey.generate()
        create_secret_file(path, fresh.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise DatatrainerError(f"{path} is not an Ed25519 private key")
    public = folder / PUBLIC_KEY_FILE
    if not public.exists():
        public.write_bytes(public_pem(key.public_key()))
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise DatatrainerError(f"cannot read the public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise DatatrainerError(f"{path} is not an Ed25519 public key")
    return key
