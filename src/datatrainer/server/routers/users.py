"""Accounts and their workspace roles (administrators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from datatrainer.server.deps import AdminOnly
from datatrainer.server.schemas import NO_NUL, RoleIn, UserIn, UserOut

router = APIRouter(prefix="/users", tags=["users"])
Username = Annotated[str, Path(max_length=100, pattern=NO_NUL)]


@router.get("", response_model=list[UserOut])
async def list_users(api: AdminOnly) -> list[UserOut]:
    return [UserOut.of(u) for u in await api.run(api.svc.list_users)]


@router.post("", response_model=UserOut, status_code=201)
async def create_user(body: UserIn, api: AdminOnly) -> UserOut:
    return UserOut.of(await api.run(lambda user: api.svc.create_user(user, body.username, body.password,
                                                                     body.is_admin, body.role)))


@router.put("/{username}/role", response_model=UserOut)
async def set_role(username: Username, body: RoleIn, api: AdminOnly) -> UserOut:
    """Change a user's workspace role (audited); their sessions and tokens follow it at once."""
    return UserOut.of(await api.run(lambda user: api.svc.set_role(user, username, body.role)))
