"""CSRF protection for cookie-authenticated requests: a signed double-submit token.

A browser attaches the session cookie to any request a hostile page makes, so every unsafe request that is
authenticated by that cookie must also carry `X-CSRF-Token`, a value a hostile page cannot read. The token is
an HMAC of the session token itself: it is stable for the session (the page reads it once from the
non-HttpOnly `dt_csrf` cookie), it needs no server-side state, and a cookie planted by a sibling subdomain
cannot forge it because it is bound to the HttpOnly session token. Bearer-token requests are exempt: no
browser adds an `Authorization` header on its own.
"""

from __future__ import annotations

import hashlib
import hmac

CSRF_COOKIE = "dt_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token_for(session_token: str) -> str:
    """The CSRF token that belongs to one session."""
    return hmac.new(session_token.encode(), b"datatrainer-csrf", hashlib.sha256).hexdigest()


def csrf_valid(session_token: str, presented: str | None) -> bool:
    """Whether the header value is this session's token (constant-time compare)."""
    return presented is not None and hmac.compare_digest(csrf_token_for(session_token), presented)
