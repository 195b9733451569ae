"""Parquet modular encryption of stored files, with one data key per dataset version or cache folder.

Envelope encryption in two layers. pyarrow's `CryptoFactory` draws a fresh AES-GCM key for every file it
writes (footer and columns encrypted) and asks a KMS client to wrap it; our client wraps it with the data
key of the version (or cache folder) the file belongs to, and the wrapped file key lives in the file's own
footer. The data key in turn is wrapped by the workspace's master key and kept in the catalog
(`security/keys_ring.py`). So rotating the master key re-wraps catalog rows only, and deleting a data key's
row makes every file it encrypted unreadable (crypto-shredding).

A `FileCrypto` is small and picklable: a Ray worker receives it with its `PartSink` and encrypts its parts
itself. Files that are not Parquet (embedding matrices) are sealed whole with `seal`.

DuckDB cannot read pyarrow-encrypted files, so encrypted files reach DuckDB as Arrow (`arrow_dataset`).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe
from pyarrow import fs as pafs

from datatrainer.errors import DatatrainerError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

KEY_BYTES = 32
NONCE_BYTES = 12
SEALED_MAGIC = b"DTSEAL1\0"  # the first bytes of a file sealed by `FileCrypto.seal`
PARQUET_ENCRYPTED_MAGIC = b"PARE"  # Parquet files with an encrypted footer end with this instead of PAR1
VERSION_KEY = "version"
STORE_KEY = "store"


def aesgcm(key: bytes) -> object:
    """`cryptography`'s AES-GCM, imported on first use: most commands never encrypt, and it is slow to import."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def seal_bytes(key: bytes, data: bytes, context: str) -> bytes:
    """AES-GCM with a random nonce; `context` is authenticated, so a sealed value cannot be moved elsewhere."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aesgcm(key).encrypt(nonce, data, context.encode())  # type: ignore[attr-defined,no-any-return]


def open_sealed(key: bytes, blob: bytes, context: str) -> bytes:
    """Undo `seal_bytes`; raises `cryptography.exceptions.InvalidTag` for a wrong key or altered bytes."""
    return aesgcm(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())  # type: ignore[attr-defined,no-any-return]


class _DataKeyKms(pe.KmsClient):  # type: ignore[misc]
    """pyarrow's KMS hook: wraps each file's key with the data key carried in the connection config."""

    def __init__(self, config: pe.KmsConnectionConfig) -> None:
        pe.KmsClient.__init__(self)
        self._key = bytes.fromhex(config.custom_kms_conf["data_key"])
        self._key_id = config.kms_instance_id

    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> str:
        return base64.b64encode(seal_bytes(self._key, key_bytes, master_key_identifier)).decode()

    def unwrap_key(self, wrapped_key: str, master_key_identifier: str) -> bytes:
        if master_key_identifier != self._key_id:
            raise DatatrainerError(f"file encrypted under key {master_key_identifier!r}, not {self._key_id!r}")
        return open_sealed(self._key, base64.b64decode(wrapped_key), master_key_identifier)


@cache
def _factory() -> pe.CryptoFactory:
    """One factory per process (workers build their own on first use)."""
    return pe.CryptoFactory(_DataKeyKms)


@dataclass(frozen=True)
class FileCrypto:
    """The unwrapped data key of one version or cache folder, and the pyarrow properties made from it."""

    key_id: str
    key: bytes = field(repr=False)

    def _connection(self) -> pe.KmsConnectionConfig:
        # pyarrow caches KMS clients by access token: a fingerprint of the key keeps two keys from ever
        # sharing a cached client (and with it the wrong key).
        token = hashlib.sha256(b"datatrainer file key\0" + self.key).hexdigest()
        return pe.KmsConnectionConfig(kms_instance_id=self.key_id, key_access_token=token,
                                      custom_kms_conf={"data_key": self.key.hex()})

    def encryption_properties(self) -> pq.FileEncryptionProperties:
        config = pe.EncryptionConfiguration(footer_key=self.key_id, uniform_encryption=True, double_wrapping=False,
                                            encryption_algorithm="AES_GCM_V1", data_key_length_bits=256)
        return _factory().file_encryption_properties(self._connection(), config)

    def decryption_properties(self) -> pq.FileDecryptionProperties:
        """Also reads plaintext Parquet, so a folder half-way through `datatrainer encrypt` stays readable."""
        return _factory().file_decryption_properties(self._connection(), pe.DecryptionConfiguration())

    def parquet_format(self) -> pads.ParquetFileFormat:
        """A dataset format that decrypts, for scans that hand Arrow to DuckDB."""
        config = pads.ParquetDecryptionConfig(_factory(), self._connection(), pe.DecryptionConfiguration())
        options = pads.ParquetFragmentScanOptions(decryption_config=config)
        return pads.ParquetFileFormat(default_fragment_scan_options=options)

    def seal(self, data: bytes) -> bytes:
        """A whole non-Parquet file (an embedding matrix) encrypted under this key."""
        return SEALED_MAGIC + seal_bytes(self.key, data, self.key_id)

    def unseal(self, blob: bytes, where: str) -> bytes:
        """The plaintext of a sealed file; files written before encryption was switched on pass unchanged."""
        if not blob.startswith(SEALED_MAGIC):
            return blob
        try:
            return open_sealed(self.key, blob[len(SEALED_MAGIC):], self.key_id)
        except Exception as exc:  # cryptography's InvalidTag
            raise DatatrainerError(f"{where} cannot be decrypted with its data key (altered or not ours)") from exc


def arrow_dataset(files: Sequence[str], filesystem: pafs.FileSystem, crypto: FileCrypto,
                  schema: pa.Schema | None = None) -> pads.Dataset:
    """Encrypted Parquet files as one Arrow dataset (re-scannable, with projection pushdown), for DuckDB."""
    return pads.dataset(list(files), schema=schema, format=crypto.parquet_format(), filesystem=filesystem)


def is_encrypted_parquet(filesystem: pafs.FileSystem, path: str) -> bool:
    """Whether a Parquet file's footer is encrypted (its last four bytes say so)."""
    with filesystem.open_input_file(path) as handle:
        size = handle.size()
        handle.seek(max(0, size - 4))
        return bool(handle.read(4) == PARQUET_ENCRYPTED_MAGIC)


class DataKeys(Protocol):
    """What the store needs from the workspace's key ring (`security.keys_ring.KeyRing`)."""

    @property
    def encrypted(self) -> bool:
        """Whether new files of this workspace are written encrypted."""

    def new_key(self, key_id: str, kind: str) -> tuple[FileCrypto, bytes]:
        """A fresh data key and its wrapped form, to `record` when what it encrypts is published."""

    def record(self, session: Session, key_id: str, kind: str, wrapped: bytes) -> None:
        """Store a wrapped data key in the caller's transaction."""

    def crypto(self, key_id: str) -> FileCrypto | None:
        """The data key stored under `key_id`, unwrapped; None when there is none (a plaintext file)."""

    def ensure(self, key_id: str, kind: str) -> FileCrypto:
        """The data key under `key_id`, created (in its own transaction) if missing."""
