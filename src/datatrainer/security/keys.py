"""Key providers: where an encrypted workspace's master key comes from, behind one interface.

The master key only ever wraps and unwraps data keys (one per dataset version or cache folder); it is never
stored in the catalog or beside the data. What the catalog keeps is each provider's non-secret `settings`
(a salt, a file path, a KMS key id), so any process that has the secret can rebuild the same key:

- `PassphraseProvider`: scrypt of `DATATRAINER_PASSPHRASE` with a stored random salt (RFC 7914 cost
  n=2^15, r=8, p=1: 32 MiB and ~0.1 s per unlock, cheap once, expensive per guess).
- `KeyFileProvider`: 32 random bytes in a file outside the workspace (the embedded default; by default under
  `~/.config/datatrainer/keys/`, created with mode 0600). Copying the workspace folder does not copy the key.
- `KmsProvider`: a team's KMS. They implement `KmsClient` (two methods) and point `DATATRAINER_KMS_CLIENT`
  (or `--kms-client`) at `module:attribute`, a callable returning the client; the master key stays in the KMS.

Local providers wrap with AES-GCM and authenticate the data key's id, so a wrapped key copied onto another
version's row does not unwrap.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import secrets
import uuid
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from datatrainer.errors import DatatrainerError
from datatrainer.store.encryption import KEY_BYTES, open_sealed, seal_bytes

ENV_PASSPHRASE = "DATATRAINER_PASSPHRASE"  # nosec B105  # a name or a throwaway demo account shown to the user, not a secret
ENV_NEW_PASSPHRASE = "DATATRAINER_NEW_PASSPHRASE"  # nosec B105  # a name or a throwaway demo account shown to the user, not a secret
ENV_KEY_FILE = "DATATRAINER_KEY_FILE"
ENV_KMS_CLIENT = "DATATRAINER_KMS_CLIENT"
PROVIDERS = ("passphrase", "keyfile", "kms")
SCRYPT_COST = {"n": 2**15, "r": 8, "p": 1}


class KeyUnavailableError(DatatrainerError):
    """The workspace is encrypted but its key provider cannot be reached (no passphrase, no key file...)."""


class WrongKeyError(DatatrainerError):
    """The provider answered, but with a key that is not this workspace's."""


class UnwrapError(Exception):
    """A wrapped key did not unwrap (wrong master key or altered row); the key ring words the message."""


@runtime_checkable
class KmsClient(Protocol):
    """What a team implements to keep the master key in their KMS (AWS KMS, GCP KMS, Vault transit...).

    `context` is the data key's id: pass it as the KMS's encryption context / associated data where it has
    one, so a wrapped key only unwraps for the row it was made for. `unwrap_key` raises any exception when
    the KMS refuses.
    """

    def wrap_key(self, key: bytes, master_key_id: str, context: str) -> bytes: ...

    def unwrap_key(self, wrapped: bytes, master_key_id: str, context: str) -> bytes: ...


class KeyProvider(Protocol):
    """Wraps data keys with a master key it never hands out."""

    kind: str

    def settings(self) -> dict[str, Any]:
        """What the catalog keeps to find this key again (never a secret)."""

    def wrap(self, key: bytes, key_id: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, key_id: str) -> bytes:
        """The data key; raises `UnwrapError` when this master key did not wrap it."""

    def wrong_key(self, workspace: str) -> str:
        """The one-line message for a master key that is not the workspace's."""


class _LocalKey:
    """A provider whose master key is in this process: AES-GCM wrapping with the key id authenticated."""

    kind = ""

    def __init__(self, master: bytes) -> None:
        self._master = master

    def wrap(self, key: bytes, key_id: str) -> bytes:
        return seal_bytes(self._master, key, key_id)

    def unwrap(self, wrapped: bytes, key_id: str) -> bytes:
        try:
            return open_sealed(self._master, wrapped, key_id)
        except Exception as exc:  # cryptography's InvalidTag
            raise UnwrapError(key_id) from exc


class PassphraseProvider(_LocalKey):
    kind = "passphrase"

    def __init__(self, passphrase: str, salt: bytes, cost: dict[str, int] | None = None) -> None:
        self._salt, self._cost = salt, dict(cost or SCRYPT_COST)
        n, r, p = self._cost["n"], self._cost["r"], self._cost["p"]
        super().__init__(hashlib.scrypt(passphrase.encode(), salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * n * r,
                                        dklen=KEY_BYTES))

    @classmethod
    def new(cls, env: str = ENV_PASSPHRASE) -> PassphraseProvider:
        return cls(_passphrase(env, "a new passphrase for the workspace"), os.urandom(16))

    @classmethod
    def open(cls, settings: dict[str, Any], workspace: str) -> PassphraseProvider:
        passphrase = _passphrase(ENV_PASSPHRASE, f"the passphrase of the encrypted workspace {workspace}")
        return cls(passphrase, bytes.fromhex(settings["salt"]), settings["cost"])

    def settings(self) -> dict[str, Any]:
        return {"kdf": "scrypt", "salt": self._salt.hex(), "cost": self._cost}

    def wrong_key(self, workspace: str) -> str:
        return f"wrong passphrase for workspace {workspace}"


def _passphrase(env: str, what: str) -> str:
    value = os.environ.get(env)
    if not value:
        raise KeyUnavailableError(f"set {env} to {what}")
    return value


def default_key_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "datatrainer" / "keys"


class KeyFileProvider(_LocalKey):
    kind = "keyfile"

    def __init__(self, path: Path, master: bytes) -> None:
        super().__init__(master)
        self.path = path

    @classmethod
    def new(cls, path: Path | None = None) -> KeyFileProvider:
        """Use the key in `path` if it exists (one key shared by several workspaces), else create it there
        (default: a new file under `default_key_dir()`)."""
        path = (path or default_key_dir() / f"{uuid.uuid4().hex}.key").expanduser().resolve()
        if path.exists():
            return cls(path, _read_key_file(path, "this workspace"))
        master = secrets.token_bytes(KEY_BYTES)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64encode(master) + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise DatatrainerError(f"cannot create key file {path}: {exc.strerror or exc}") from exc
        return cls(path, master)

    @classmethod
    def open(cls, settings: dict[str, Any], workspace: str) -> KeyFileProvider:
        path = Path(os.environ.get(ENV_KEY_FILE) or settings["path"])
        return cls(path, _read_key_file(path, f"workspace {workspace}"))

    def settings(self) -> dict[str, Any]:
        return {"path": str(self.path)}

    def wrong_key(self, workspace: str) -> str:
        return f"key file {self.path} does not hold the key of workspace {workspace}"


def _read_key_file(path: Path, owner: str) -> bytes:
    try:
        master = base64.b64decode(path.read_bytes().strip(), validate=True)
    except FileNotFoundError:
        raise KeyUnavailableError(f"key file {path} of {owner} is missing (set {ENV_KEY_FILE} to where it "
                                  "is kept)") from None
    except (OSError, ValueError) as exc:
        raise KeyUnavailableError(f"cannot read key file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if len(master) != KEY_BYTES:
        raise KeyUnavailableError(f"key file {path} does not hold a {KEY_BYTES * 8}-bit key")
    return master


class KmsProvider:
    kind = "kms"

    def __init__(self, client_path: str, key_id: str) -> None:
        self.client_path, self.key_id = client_path, key_id
        self._client = load_kms_client(client_path)

    @classmethod
    def open(cls, settings: dict[str, Any], workspace: str) -> KmsProvider:
        return cls(os.environ.get(ENV_KMS_CLIENT) or settings["client"], settings["key_id"])

    def settings(self) -> dict[str, Any]:
        return {"client": self.client_path, "key_id": self.key_id}

    def wrap(self, key: bytes, key_id: str) -> bytes:
        return bytes(self._client.wrap_key(key, self.key_id, key_id))

    def unwrap(self, wrapped: bytes, key_id: str) -> bytes:
        try:
            return bytes(self._client.unwrap_key(wrapped, self.key_id, key_id))
        except Exception as exc:  # whatever the team's client raises for a refusal
            raise UnwrapError(key_id) from exc

    def wrong_key(self, workspace: str) -> str:
        return f"KMS key {self.key_id} ({self.client_path}) does not unwrap the keys of workspace {workspace}"


def load_kms_client(path: str) -> KmsClient:
    """Import `module:attribute` and call it; the result must implement `KmsClient`."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise KeyUnavailableError(f"KMS client {path!r}: give it as module:attribute (set {ENV_KMS_CLIENT})")
    try:
        client = getattr(importlib.import_module(module_name), attribute)()
    except (ImportError, AttributeError) as exc:
        raise KeyUnavailableError(f"cannot load the KMS client {path}: {exc}") from None
    if not isinstance(client, KmsClient):
        raise KeyUnavailableError(f"KMS client {path} lacks wrap_key/unwrap_key")
    return client


def open_provider(kind: str, settings: dict[str, Any], workspace: str) -> KeyProvider:
    """The provider a workspace was encrypted with, rebuilt from its stored settings and the environment."""
    if kind == "passphrase":
        return PassphraseProvider.open(settings, workspace)
    if kind == "keyfile":
        return KeyFileProvider.open(settings, workspace)
    if kind == "kms":
        return KmsProvider.open(settings, workspace)
    raise KeyUnavailableError(f"workspace {workspace} uses an unknown key provider {kind!r}")


def new_provider(kind: str | None, *, key_file: Path | None = None, kms_client: str | None = None,
                 kms_key_id: str | None = None, passphrase_env: str = ENV_PASSPHRASE) -> KeyProvider:
    """A provider for a new master key; with no `kind`, the passphrase when one is set, else a key file."""
    if kind is None:
        kind = "kms" if kms_key_id else "passphrase" if os.environ.get(passphrase_env) else "keyfile"
    if kind == "passphrase":
        return PassphraseProvider.new(passphrase_env)
    if kind == "keyfile":
        return KeyFileProvider.new(key_file)
    if kind == "kms":
        client = kms_client or os.environ.get(ENV_KMS_CLIENT)
        if not client or not kms_key_id:
            raise KeyUnavailableError(f"the kms provider needs --kms-key-id and --kms-client (or {ENV_KMS_CLIENT})")
        return KmsProvider(client, kms_key_id)
    raise DatatrainerError(f"unknown key provider {kind!r}; choose one of {', '.join(PROVIDERS)}")
