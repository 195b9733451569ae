"""Accounts (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter

from datatrainer.server.deps import Admin, Service
from datatrainer.server.schemas import UserIn, UserOut

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserOut])
def list_users(user: Admin, svc: Service) -> list[UserOut]:
    return [UserOut.of(u) for u in svc.list_users(user)]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, user: Admin, svc: Service) -> UserOut:
    return UserOut.of(svc.create_user(user, body.username, body.password, body.is_admin))
