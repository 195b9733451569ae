"""A KMS for the tests: what a team writes against `datatrainer.security.keys.KmsClient`.

The master keys live in this module (a real client calls its KMS over the network); `refuse` makes the
"KMS" deny every unwrap, as a revoked grant would.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEYS = {"team-key-1": os.urandom(32), "team-key-2": os.urandom(32)}
refuse = False


class FakeKms:
    def wrap_key(self, key: bytes, master_key_id: str, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(MASTER_KEYS[master_key_id]).encrypt(nonce, key, context.encode())

    def unwrap_key(self, wrapped: bytes, master_key_id: str, context: str) -> bytes:
        if refuse:
            raise PermissionError("AccessDeniedException: the grant was revoked")
        return AESGCM(MASTER_KEYS[master_key_id]).decrypt(wrapped[:12], wrapped[12:], context.encode())
