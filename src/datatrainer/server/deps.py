"""Dependencies every route shares: the workspace, the caller's credentials, and `Api`, which authenticates the
caller and runs the route's database work.

Authentication happens here, once per request, and so does the workspace-wide check: every route declares the
scope it needs (`DatasetsRead`, `JobsWrite`, `Annotate`, `AuditRead`, `AdminOnly`, ...; see
`security/roles.py`), and the caller's role, narrowed by the token's scopes, must grant it. Authorisation
inside an annotation project (its own annotator/reviewer/admin roles) lives in the service layer, which every
route calls with the caller, so the CLI, the Python API and the server enforce the same rules.

Routes are `async def` and hand their blocking work to the thread pool in exactly one hop, authentication
included: FastAPI would otherwise run every plain `def` dependency, the endpoint and the validation of its
response each in a hop of its own, and under load every hop queues again behind the other requests'
database work (measured with 50 annotators: one hop instead of three cut the server's CPU per request and
its tail latency). The dependencies below that run on the event loop do no I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from datatrainer.annotation.service import AnnotationService
from datatrainer.annotation.types import UserInfo
from datatrainer.security.audit import acting_as
from datatrainer.security.roles import DEFAULT_ROLE, SCOPES, Scope, effective_scopes
from datatrainer.server.csrf import CSRF_HEADER, SAFE_METHODS, csrf_valid
from datatrainer.server.schemas import MAX_ID
from datatrainer.server.sessions import SESSION_COOKIE, SESSION_TOKEN_NAME, parse_session
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
    """Who is calling and what they may do: their role's scopes, narrowed to the token's if it names some."""

    user: UserInfo
    token_id: int
    session_token_id: int | None  # set for cookie sessions, None for bearer tokens
    scopes: frozenset[str]


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
    """The service and the caller's credentials; `run` authenticates, authorises and does the route's work in
    one hop. `scope` is what the route needs (None: any authenticated caller)."""

    svc: AnnotationService
    credentials: Credentials
    scope: Scope | None = None

    def caller(self) -> Caller:
        """The authenticated caller (blocking: one indexed lookup of the token, its owner and its expiry).

        A token works only the way it was issued: a web session's token only inside its own cookie (with the
        cookie's id matching the token, so a session id cannot be paired with another token of the user), an
        API token only as `Authorization: Bearer`. Expiry is checked in the lookup, whatever the path.
        """
        presented = self.credentials
        owner = self.svc.token_owner(presented.token)
        is_session = owner is not None and owner.token_name == SESSION_TOKEN_NAME
        if presented.session_token_id is None:
            if owner is None or is_session:
                raise _unauthorised("invalid, expired, revoked or disabled API token")
        else:
            if owner is None or not is_session or owner.token_id != presented.session_token_id:
                raise _unauthorised("session expired or logged out: log in again")
            if not presented.csrf_ok:
                raise HTTPException(403, "CSRF check failed: send the dt_csrf cookie's value in the "
                                         f"{CSRF_HEADER} header")
        scopes = effective_scopes(owner.user.role or DEFAULT_ROLE, owner.scopes)
        if self.scope is not None and self.scope not in scopes:
            narrowed = " with this token" if owner.scopes is not None else ""
            raise HTTPException(403, f"{self.scope}: {owner.user.username} (role {owner.user.role}) may not do "
                                     f"this{narrowed}")
        return Caller(owner.user, owner.token_id, presented.session_token_id, scopes)

    async def run(self, work: Callable[[UserInfo], T]) -> T:
        """`work(caller)` after authenticating, both in the same thread-pool hop."""
        return await self.run_as(lambda caller: work(caller.user))

    async def run_as(self, work: Callable[[Caller], T]) -> T:
        """Like `run`, for routes that need the caller's scopes or token too. Audit entries the workspace
        appends on its own during the work (a version written, a score stored) name the caller."""

        def authenticated() -> T:
            caller = self.caller()
            with acting_as(caller.user.username):
                return work(caller)

        return await run_in_threadpool(authenticated)


def _requiring(scope: Scope | None) -> Callable[..., Awaitable[Api]]:
    """The dependency for routes that need `scope`. It has only the two security schemes below it (they
    document the API's authentication): FastAPI's per-dependency bookkeeping costs ~40 µs a node."""

    async def dependency(request: Request,
                         bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                         cookie: Annotated[str | None, Depends(_cookie)]) -> Api:
        return Api(await service(request), credentials(request, bearer, cookie), scope)

    dependency.__name__ = f"requires_{(scope or 'login').replace(':', '_')}"
    return dependency


def route_scope(dependency: Callable[..., object]) -> Scope | Literal[False] | None:
    """The scope a dependency built here requires (None: any caller); False for any other dependency.
    The role x endpoint matrix test reads it to know who must be allowed."""
    return _SCOPE_OF.get(dependency, False)


Service = Annotated[AnnotationService, Depends(service)]
Ws = Annotated[Workspace, Depends(workspace)]
_DEPENDENCIES: dict[Scope | None, Callable[..., Awaitable[Api]]] = {scope: _requiring(scope)
                                                                     for scope in (None, *SCOPES)}
_SCOPE_OF: dict[Callable[..., object], Scope | None] = {dep: scope for scope, dep in _DEPENDENCIES.items()}
# What a route declares; every route's `api` parameter is one of these.
Authenticated = Annotated[Api, Depends(_DEPENDENCIES[None])]  # any logged-in caller (their own account, tokens)
AdminOnly = Annotated[Api, Depends(_DEPENDENCIES["admin"])]
Annotate = Annotated[Api, Depends(_DEPENDENCIES["annotate"])]
DatasetsRead = Annotated[Api, Depends(_DEPENDENCIES["datasets:read"])]
DatasetsWrite = Annotated[Api, Depends(_DEPENDENCIES["datasets:write"])]
JobsRead = Annotated[Api, Depends(_DEPENDENCIES["jobs:read"])]
JobsWrite = Annotated[Api, Depends(_DEPENDENCIES["jobs:write"])]
AuditRead = Annotated[Api, Depends(_DEPENDENCIES["audit:read"])]
ProjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]
