"""Dependencies every route shares: the workspace, the authenticated caller, CSRF and admin checks.

Authentication happens here, once per request; authorisation (roles per project) lives in the service
layer, which every route calls with the caller, so the CLI, the Python API and the server enforce the same
rules. The two checks the service does not make are here: who the caller is, and that only administrators
read the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from datatrainer.annotation.service import AnnotationService
from datatrainer.annotation.types import UserInfo
from datatrainer.server.csrf import CSRF_HEADER, SAFE_METHODS, csrf_valid
from datatrainer.server.schemas import MAX_ID
from datatrainer.server.sessions import SESSION_COOKIE, parse_session, session_alive
from datatrainer.workspace import Workspace

_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/tokens.")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                       description="The session cookie set by POST /api/v1/login; unsafe methods also need the "
                                   f"{CSRF_HEADER} header (the value of the dt_csrf cookie).")


def workspace(request: Request) -> Workspace:
    ws = request.app.state.workspace
    assert isinstance(ws, Workspace)
    return ws


def service(ws: Annotated[Workspace, Depends(workspace)]) -> AnnotationService:
    return ws.annotation


@dataclass(frozen=True)
class Caller:
    user: UserInfo
    session_token_id: int | None  # set for cookie sessions, None for bearer tokens


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def caller(request: Request, svc: Annotated[AnnotationService, Depends(service)],
           bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
           cookie: Annotated[str | None, Depends(_cookie)]) -> Caller:
    """The authenticated caller: a bearer token wins over a session cookie; cookie requests need CSRF."""
    if request.headers.get("authorization") is not None:
        if bearer is None:
            raise _unauthorised("Authorization header: expected `Bearer <token>`")
        user = svc.user_for_token(bearer.credentials)
        if user is None:
            raise _unauthorised("invalid, revoked or disabled API token")
        return Caller(user, None)
    parsed = parse_session(cookie) if cookie else None
    if parsed is None:
        raise _unauthorised("not logged in: POST /api/v1/login or send `Authorization: Bearer <token>`")
    token_id, token = parsed
    user = svc.user_for_token(token)
    if user is None or not session_alive(next((t for t in svc.list_tokens(user) if t.id == token_id), None)):
        raise _unauthorised("session expired or logged out: log in again")
    if request.method not in SAFE_METHODS and not csrf_valid(token, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"CSRF check failed: send the dt_csrf cookie's value in the {CSRF_HEADER} header")
    return Caller(user, token_id)


def user(c: Annotated[Caller, Depends(caller)]) -> UserInfo:
    return c.user


def admin(u: Annotated[UserInfo, Depends(user)]) -> UserInfo:
    if not u.is_admin:
        raise HTTPException(403, f"only administrators may do this ({u.username} is not one)")
    return u


Service = Annotated[AnnotationService, Depends(service)]
ProjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]
CurrentUser = Annotated[UserInfo, Depends(user)]
Admin = Annotated[UserInfo, Depends(admin)]
