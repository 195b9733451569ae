"""Dependencies every route shares: the workspace, the caller's credentials, and `Api`, which authenticates the
caller and runs the route's database work.

Authentication happens here, once per request; authorisation (roles per project) lives in the service
layer, which every route calls with the caller, so the CLI, the Python API and the server enforce the same
rules. The two checks the service does not make are here: who the caller is, and that only administrators
read the audit log and manage accounts.

Routes are `async def` and hand their blocking work to the thread pool in exactly one hop, authentication
included: FastAPI would otherwise run every plain `def` dependency, the endpoint and the validation of its
response each in a hop of its own, and under load every hop queues again behind the other requests'
database work (measured with 50 annotators: one hop instead of three cut the server's CPU per request and
its tail latency). The dependencies below that run on the event loop do no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from datatrainer.annotation.service import AnnotationService
from datatrainer.annotation.types import UserInfo
from datatrainer.server.csrf import CSRF_HEADER, SAFE_METHODS, csrf_valid
from datatrainer.server.schemas import MAX_ID
from datatrainer.server.sessions import SESSION_COOKIE, parse_session, session_alive
from datatrainer.workspace import Workspace

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/tokens.")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                       description="The session cookie set by POST /api/v1/login; unsafe methods also need the "
                                   f"{CSRF_HEADER} header (the value of the dt_csrf cookie).")


async def workspace(request: Request) -> Workspace:
    ws = request.app.state.workspace
    assert isinstance(ws, Workspace)
    return ws


async def service(request: Request) -> AnnotationService:
    return (await workspace(request)).annotation


@dataclass(frozen=True)
class Caller:
    user: UserInfo
    session_token_id: int | None  # set for cookie sessions, None for bearer tokens


@dataclass(frozen=True)
class Credentials:
    """What the request presented, checked for form on the event loop; `Api` looks it up in the database.

    `session_token_id` is set for a cookie session; `csrf_ok` says whether an unsafe cookie request carried
    the session's CSRF token (checked only after the session itself, so a dead session is a 401 first).
    """

    token: str
    session_token_id: int | None
    csrf_ok: bool


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def credentials(request: Request, bearer: HTTPAuthorizationCredentials | None, cookie: str | None) -> Credentials:
    """A bearer token wins over a session cookie; cookie requests with unsafe methods need CSRF."""
    if request.headers.get("authorization") is not None:
        if bearer is None:
            raise _unauthorised("Authorization header: expected `Bearer <token>`")
        return Credentials(bearer.credentials, None, csrf_ok=True)
    parsed = parse_session(cookie) if cookie else None
    if parsed is None:
        raise _unauthorised("not logged in: POST /api/v1/login or send `Authorization: Bearer <token>`")
    token_id, token = parsed
    csrf_ok = request.method in SAFE_METHODS or csrf_valid(token, request.headers.get(CSRF_HEADER))
    return Credentials(token, token_id, csrf_ok)


@dataclass(frozen=True)
class Api:
    """The service and the caller's credentials; `run` authenticates and does the route's work in one hop."""

    svc: AnnotationService
    credentials: Credentials
    admin_only: bool = False

    def caller(self) -> Caller:
        """The authenticated caller (blocking: reads the token and, for cookies, the session)."""
        presented = self.credentials
        user = self.svc.user_for_token(presented.token)
        if presented.session_token_id is None:
            if user is None:
                raise _unauthorised("invalid, revoked or disabled API token")
        else:
            sessions = self.svc.list_tokens(user) if user is not None else []
            if user is None or not session_alive(next((t for t in sessions if t.id == presented.session_token_id),
                                                      None)):
                raise _unauthorised("session expired or logged out: log in again")
            if not presented.csrf_ok:
                raise HTTPException(403, "CSRF check failed: send the dt_csrf cookie's value in the "
                                         f"{CSRF_HEADER} header")
        if self.admin_only and not user.is_admin:
            raise HTTPException(403, f"only administrators may do this ({user.username} is not one)")
        return Caller(user, presented.session_token_id)

    async def run(self, work: Callable[[UserInfo], T]) -> T:
        """`work(caller)` after authenticating, both in the same thread-pool hop."""
        return await run_in_threadpool(lambda: work(self.caller().user))


# One dependency with only the two security schemes below it (they document the API's authentication):
# FastAPI's per-dependency bookkeeping costs ~40 µs a node, so the tree is kept flat.
async def api(request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
              cookie: Annotated[str | None, Depends(_cookie)]) -> Api:
    return Api(await service(request), credentials(request, bearer, cookie))


async def admin_api(request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                    cookie: Annotated[str | None, Depends(_cookie)]) -> Api:
    return Api(await service(request), credentials(request, bearer, cookie), admin_only=True)


Service = Annotated[AnnotationService, Depends(service)]
Ws = Annotated[Workspace, Depends(workspace)]
Authenticated = Annotated[Api, Depends(api)]
AdminOnly = Annotated[Api, Depends(admin_api)]
ProjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]
