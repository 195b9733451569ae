"""Log in and out, who am I, and API tokens for scripts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from datatrainer.annotation.types import UserInfo
from datatrainer.server.deps import Authenticated, Service, TokenId
from datatrainer.server.schemas import LoginIn, TokenIn, TokenInfoOut, TokenOut, UserOut
from datatrainer.server.sessions import SESSION_TOKEN_NAME, clear_session, set_session

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
             responses={401: {"description": "Wrong user name or password"}})
async def login(request: Request, response: Response, svc: Service) -> UserOut:
    """Check the password (Argon2, off the event loop) and start a cookie session."""
    credentials = await _credentials(request)
    user = await run_in_threadpool(svc.authenticate, credentials.username, credentials.password)
    if user is None:
        raise HTTPException(401, "wrong user name or password")
    issued = await run_in_threadpool(svc.create_api_token, user, SESSION_TOKEN_NAME)
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


@router.get("/me", response_model=UserOut)
async def me(api: Authenticated) -> UserOut:
    return UserOut.of(await api.run(lambda user: user))


@router.post("/tokens", response_model=TokenOut, status_code=201)
async def create_token(body: TokenIn, api: Authenticated) -> TokenOut:
    """A bearer token for scripts; the token is shown only in this response."""
    issued = await api.run(lambda user: api.svc.create_api_token(user, body.name))
    return TokenOut.of(issued)


@router.get("/tokens", response_model=list[TokenInfoOut])
async def list_tokens(api: Authenticated) -> list[TokenInfoOut]:
    return [TokenInfoOut.of(t) for t in await api.run(api.svc.list_tokens)]


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: TokenId, api: Authenticated) -> None:
    await api.run(lambda user: api.svc.revoke_token(user, token_id))
