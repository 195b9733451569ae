"""Browser sessions: a login issues an API token that lives in an HttpOnly cookie.

Reusing the API token machinery means a session is stored only as a SHA-256 in the database, survives a
server restart, is revoked on logout and on a password change, dies with its user when an administrator
disables the account, and expires after `MAX_AGE` in the database itself (a copied cookie dies on time even
if a browser ignores its expiry). The cookie holds `<token id>.<token>` so logout can revoke exactly this
session's token; the token works only inside that cookie, never as a bearer token (`deps.Api.caller`).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request, Response

from datatrainer.annotation.types import IssuedToken
from datatrainer.server.csrf import CSRF_COOKIE, csrf_token_for

SESSION_COOKIE = "dt_session"
SESSION_TOKEN_NAME = "web session"  # nosec B105  # a name or a throwaway demo account shown to the user, not a secret
MAX_AGE = 12 * 3600
LIFETIME = timedelta(seconds=MAX_AGE)


def set_session(request: Request, response: Response, issued: IssuedToken) -> None:
    """Session cookie HttpOnly (scripts cannot read it), SameSite=Strict (no cross-site sends), Secure on https;
    the CSRF cookie readable by our own scripts, which copy it into the `X-CSRF-Token` header."""
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, f"{issued.id}.{issued.token}", max_age=MAX_AGE, httponly=True,
                        samesite="strict", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf_token_for(issued.token), max_age=MAX_AGE, httponly=False,
                        samesite="strict", secure=secure, path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def parse_session(cookie: str) -> tuple[int, str] | None:
    """`(token id, token)` from the cookie value, or None when it is not one we set."""
    token_id, dot, token = cookie.partition(".")
    if not dot or not token_id.isdigit() or not token:
        return None
    return int(token_id), token
