"""Log in and out, who am I, my password, and API tokens for scripts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from datatrainer.annotation.types import UserInfo
from datatrainer.security.roles import ROLE_SCOPES
from datatrainer.server.deps import Authenticated, Caller, Service, TokenId
from datatrainer.server.login_gate import LoginGate
from datatrainer.server.schemas import LoginIn, MeOut, PasswordIn, TokenIn, TokenInfoOut, TokenOut, UserOut
from datatrainer.server.sessions import LIFETIME, SESSION_TOKEN_NAME, clear_session, set_session

router = APIRouter(tags=["auth"])

_LOGIN_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/LoginIn"}},
        "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/LoginIn"}},
    },
}


async def _credentials(request: Request) -> LoginIn:
    """The login body as JSON or as an HTML form, so a plain `<form>` post works too."""
    form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    try:
        data: Any = dict(await request.form()) if form else await request.json()
    except ValueError:
        raise HTTPException(422, "login: body must be JSON or a form with username and password") from None
    try:
        return LoginIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(422, f"login: {field}: {first['msg']}") from None


@router.post("/login", response_model=UserOut, openapi_extra={"requestBody": _LOGIN_BODY},
             responses={401: {"description": "Wrong user name or password"},
                        429: {"description": "Too many failed logins for this name or from this address"}})
async def login(request: Request, response: Response, svc: Service) -> UserOut:
    """Check the password (Argon2, off the event loop, a few at a time: `login_gate.py`) and start a cookie
    session of 12 hours."""
    credentials = await _credentials(request)
    gate: LoginGate = request.app.state.login_gate
    client = request.client.host if request.client is not None else "unknown"
    gate.admit(client)
    async with gate.slot():
        user = await run_in_threadpool(svc.authenticate, credentials.username, credentials.password)
    if user is None:
        raise HTTPException(401, "wrong user name or password")
    gate.succeeded(client)
    issued = await run_in_threadpool(svc.create_api_token, user, SESSION_TOKEN_NAME, None, None, LIFETIME)
    set_session(request, response, issued)
    return UserOut.of(user)


@router.post("/logout", status_code=204)
async def logout(response: Response, api: Authenticated) -> None:
    """End this browser session: its token is revoked server-side, not only forgotten by the browser."""
    session_token_id = api.credentials.session_token_id

    def end(user: UserInfo) -> None:
        if session_token_id is not None:
            api.svc.revoke_token(user, session_token_id)

    await api.run(end)
    clear_session(response)


@router.get("/me", response_model=MeOut)
async def me(api: Authenticated) -> MeOut:
    """The caller, their workspace role and what this session or token may do."""
    caller = await api.run_as(lambda found: found)
    return MeOut.model_validate({**UserOut.of(caller.user).model_dump(), "scopes": sorted(caller.scopes)})


@router.put("/me/password", status_code=204, responses={429: {"description": "Too many failed logins"}})
async def change_password(request: Request, response: Response, body: PasswordIn, api: Authenticated) -> None:
    """Change your own password (the current one is checked like a login); every session and token of yours
    is revoked, this one included: log in again."""
    gate: LoginGate = request.app.state.login_gate

    def check(user: UserInfo) -> UserInfo:
        if user.id is None:
            raise HTTPException(403, "only accounts have passwords")
        return user

    user = await api.run(check)
    client = request.client.host if request.client is not None else "unknown"
    gate.admit(client)
    async with gate.slot():
        confirmed = await run_in_threadpool(api.svc.authenticate, user.username, body.current_password)
    if confirmed is None:
        raise HTTPException(403, "current_password: wrong password")
    gate.succeeded(client)
    await run_in_threadpool(api.svc.set_password, confirmed, confirmed.username, body.new_password)
    clear_session(response)


@router.post("/tokens", response_model=TokenOut, status_code=201)
async def create_token(body: TokenIn, api: Authenticated) -> TokenOut:
    """A bearer token for scripts, optionally narrowed to some scopes and with an expiry; the token is shown
    only in this response. A token cannot grant more than the session or token that creates it."""
    lifetime = timedelta(days=body.expires_in_days) if body.expires_in_days is not None else None

    def issue(caller: Caller) -> TokenOut:
        scopes = caller.scopes if body.scopes is None else frozenset(body.scopes)
        if not scopes <= caller.scopes:
            extra = sorted(scopes - caller.scopes)[0]
            raise HTTPException(403, f"scopes: {extra} is not granted to {caller.user.username} by this session "
                                     "or token")
        # Narrowed whenever the creator itself is: a scoped token never mints a wider one.
        narrowed = scopes if body.scopes is not None or scopes != _all_scopes(caller) else None
        return TokenOut.of(api.svc.create_api_token(caller.user, body.name, scopes=narrowed, lifetime=lifetime))

    return await api.run_as(issue)


def _all_scopes(caller: Caller) -> frozenset[str]:
    return ROLE_SCOPES.get(caller.user.role or "", frozenset())


@router.get("/tokens", response_model=list[TokenInfoOut])
async def list_tokens(api: Authenticated) -> list[TokenInfoOut]:
    return [TokenInfoOut.of(t) for t in await api.run(api.svc.list_tokens)]


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: TokenId, api: Authenticated) -> None:
    await api.run(lambda user: api.svc.revoke_token(user, token_id))
