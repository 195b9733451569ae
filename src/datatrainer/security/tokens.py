"""API tokens: random, shown once, stored only as their SHA-256.

A token has 256 bits of entropy, so an unsalted fast hash is enough (no dictionary to attack) and lets the
server find the token by an indexed equality lookup instead of trying every stored hash.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "dt_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
