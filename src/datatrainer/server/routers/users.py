"""Accounts (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter

from datatrainer.server.deps import AdminOnly
from datatrainer.server.schemas import UserIn, UserOut

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserOut])
async def list_users(api: AdminOnly) -> list[UserOut]:
    return [UserOut.of(u) for u in await api.run(api.svc.list_users)]


@router.post("", response_model=UserOut, status_code=201)
async def create_user(body: UserIn, api: AdminOnly) -> UserOut:
    return UserOut.of(await api.run(lambda user: api.svc.create_user(user, body.username, body.password,
                                                                     body.is_admin)))
