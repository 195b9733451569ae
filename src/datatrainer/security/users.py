"""Users, passwords and API tokens, with every change audited in the same transaction."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from datatrainer.annotation.errors import ConflictError
from datatrainer.annotation.types import IssuedToken, TokenInfo, UserInfo
from datatrainer.errors import DatatrainerError, NotFoundError
from datatrainer.security.errors import PermissionDenied
from datatrainer.security.models import ApiTokenRow, UserRow
from datatrainer.security.passwords import hash_password, needs_rehash, verify_password
from datatrainer.security.prepared import PreparedFor
from datatrainer.security.roles import DEFAULT_ROLE, check_role, check_scopes
from datatrainer.security.throttle import LoginThrottle
from datatrainer.security.tokens import new_token, token_digest
from datatrainer.security.transactions import Transactions
from datatrainer.store.models import Base

LAST_USED_RESOLUTION = timedelta(minutes=1)
_TOKENS, _USERS = Base.metadata.tables[ApiTokenRow.__tablename__], Base.metadata.tables[UserRow.__tablename__]
# Every API request runs this lookup: prepared once and run on the DBAPI cursor (see `prepared`).
_TOKEN_OWNER = PreparedFor(
    select(_TOKENS.c.id.label("token_id"), _TOKENS.c.name.label("token_name"), _TOKENS.c.revoked, _TOKENS.c.last_used,
           _TOKENS.c.scopes, _TOKENS.c.expires_at, _USERS.c.id, _USERS.c.username, _USERS.c.is_admin, _USERS.c.role,
           _USERS.c.disabled)
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id).where(_TOKENS.c.token_sha256 == bindparam("digest")))
_TOKEN_USED = update(_TOKENS).where(_TOKENS.c.id == bindparam("token")).values(last_used=bindparam("now"))
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


def user_info(row: UserRow) -> UserInfo:
    return UserInfo(id=row.id, username=row.username, is_admin=row.is_admin, disabled=row.disabled, role=row.role)


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TokenOwner:
    """A live token and its owner as stored now: what the server needs to authorise one request."""

    user: UserInfo
    token_id: int
    token_name: str
    scopes: tuple[str, ...] | None
    expires_at: datetime | None


def require_admin(actor: UserInfo, action: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"{action}: only administrators may do this ({actor.username} is not one)")


def user_gone(actor: UserInfo) -> PermissionDenied:
    return PermissionDenied(f"user {actor.username!r} is disabled or no longer exists")


def current_user(session: Session, actor: UserInfo) -> UserInfo:
    """The actor as stored now: a user disabled after logging in loses access at once."""
    if actor.id is None:
        return actor
    row = session.get(UserRow, actor.id)
    if row is None or row.disabled:
        raise user_gone(actor)
    return user_info(row)


def user_row(session: Session, username: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    if row is None:
        raise NotFoundError(f"no user named {username!r} (see `datatrainer users list`)")
    return row


class UserDirectory(Transactions):
    """Accounts and credentials. Only administrators create users; anyone may manage their own tokens."""

    def create_user(self, actor: UserInfo, username: str, password: str, is_admin: bool = False,
                    role: str | None = None) -> UserInfo:
        """A new account with a workspace role (`is_admin` is the same as `role="admin"`)."""
        if not _USERNAME_RE.match(username):
            raise DatatrainerError(f"invalid username {username!r}: use letters, digits, '.', '_', '@' or '-'")
        chosen = check_role(role or ("admin" if is_admin else DEFAULT_ROLE))
        password_hash = hash_password(password)
        with self.write() as session:
            require_admin(current_user(session, actor), "create user")
            if session.scalar(select(func.count()).where(UserRow.username == username)):
                raise ConflictError(f"a user named {username!r} already exists")
            row = UserRow(username=username, password_hash=password_hash, is_admin=chosen == "admin", role=chosen,
                          disabled=False, created_at=datetime.now(UTC))
            session.add(row)
            session.flush()
            self.audit.append(session, actor=actor.username, action="user.create", entity="user",
                              entity_id=row.id, after={"username": username, "role": chosen})
            return user_info(row)

    def set_role(self, actor: UserInfo, username: str, role: str) -> UserInfo:
        """Change a user's workspace role (administrators only); their tokens narrow or widen with it at once."""
        chosen = check_role(role)
        with self.write() as session:
            acting = current_user(session, actor)
            require_admin(acting, "change a user's role")
            row = user_row(session, username)
            if row.id == acting.id and chosen != "admin":
                raise ConflictError("role: an administrator cannot demote themselves (ask another administrator)")
            before = row.role
            row.role, row.is_admin = chosen, chosen == "admin"
            self.audit.append(session, actor=actor.username, action="user.role", entity="user", entity_id=row.id,
                              before={"role": before}, after={"role": chosen})
            return user_info(row)

    def get_user(self, username: str) -> UserInfo:
        with self.read() as session:
            return user_info(user_row(session, username))

    def list_users(self, actor: UserInfo) -> list[UserInfo]:
        with self.read() as session:
            require_admin(current_user(session, actor), "list users")
            return [user_info(row) for row in session.scalars(select(UserRow).order_by(UserRow.username))]

    def set_password(self, actor: UserInfo, username: str, password: str) -> None:
        password_hash = hash_password(password)
        with self.write() as session:
            acting = current_user(session, actor)
            if acting.username != username:
                require_admin(acting, "set another user's password")
            row = user_row(session, username)
            row.password_hash = password_hash
            # A changed password ends every session and token: whoever knew the old one is locked out now.
            live = list(session.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == row.id,
                                                                  ApiTokenRow.revoked.is_(False))))
            for token in live:
                token.revoked = True
            revoked = len(live)
            self.audit.append(session, actor=actor.username, action="user.password", entity="user", entity_id=row.id,
                              after={"revoked_tokens": revoked})

    def set_disabled(self, actor: UserInfo, username: str, disabled: bool = True) -> UserInfo:
        with self.write() as session:
            require_admin(current_user(session, actor), "disable user")
            row = user_row(session, username)
            before = row.disabled
            row.disabled = disabled
            self.audit.append(session, actor=actor.username, action="user.disable" if disabled else "user.enable",
                              entity="user", entity_id=row.id, before={"disabled": before},
                              after={"disabled": disabled})
            return user_info(row)

    def authenticate(self, username: str, password: str) -> UserInfo | None:
        """The user, or None for a wrong name, wrong password or disabled account (indistinguishable in time).

        A name with too many recent failures raises `LoginLocked` before any password is hashed (see
        `security/throttle.py`), so guessing costs the server nothing while the name is locked.
        """
        throttle = LoginThrottle(self)
        throttle.check(username)
        with self.read() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username))
        ok = verify_password(row.password_hash if row is not None else None, password)
        if not ok or row is None or row.disabled:
            throttle.failed(username, row.id if row is not None else None)
            return None
        throttle.succeeded(username)
        if needs_rehash(row.password_hash):
            with self.write() as session:
                stored = session.get(UserRow, row.id)
                if stored is not None:
                    stored.password_hash = hash_password(password)
        return user_info(row)

    def create_api_token(self, actor: UserInfo, name: str, username: str | None = None,
                         scopes: Iterable[str] | None = None, lifetime: timedelta | None = None) -> IssuedToken:
        """A new bearer token for `username` (default: the actor); the clear token is returned only here.

        `scopes` narrows the token to some of the owner's role's scopes (None: all of them); `lifetime` makes
        it expire (web sessions: 12 hours).
        """
        chosen = sorted(check_scopes(scopes)) if scopes is not None else None
        token, now = new_token(), datetime.now(UTC)
        with self.write() as session:
            owner = _token_owner(session, actor, username, "create a token for another user")
            row = ApiTokenRow(user_id=owner.id, token_sha256=token_digest(token), name=name, created_at=now,
                              last_used=None, revoked=False, scopes=chosen,
                              expires_at=now + lifetime if lifetime is not None else None)
            session.add(row)
            session.flush()
            self.audit.append(session, actor=actor.username, action="token.create", entity="api_token",
                              entity_id=row.id, after={"user": owner.username, "name": name, "scopes": chosen})
            return IssuedToken(id=row.id, name=name, username=owner.username, token=token)

    def user_for_token(self, token: str) -> UserInfo | None:
        """The owner of a live token (and records its use), or None for unknown, revoked, expired or disabled."""
        owner = self.token_owner(token)
        return owner.user if owner is not None else None

    def token_owner(self, token: str) -> TokenOwner | None:
        """The live token and its owner (recording its use), or None for unknown, revoked, expired or disabled."""
        # A bare connection, not an ORM session: this runs on every API request, and a session's bookkeeping
        # (begin, close, snapshot) cost twice the query. Read at once, in no transaction: a token revoked,
        # expired or disabled a moment ago is refused on the next request.
        with self._engine.connect() as connection:
            rows = _TOKEN_OWNER.execute(connection, {"digest": token_digest(token)})
        if not rows:
            return None
        (token_id, token_name, revoked, last, scopes, expires_at, user_id, username, is_admin, role,
         disabled), = rows
        if revoked or disabled:
            return None
        now = datetime.now(UTC)
        expires = _utc(expires_at) if expires_at is not None else None
        if expires is not None and now >= expires:
            return None
        # Record use at most once a minute: a write per request would queue every request behind the writers.
        if last is None or now - _utc(last) > LAST_USED_RESOLUTION:
            with self.write() as session:
                session.connection().execute(_TOKEN_USED, {"token": token_id, "now": now})
        user = UserInfo(id=user_id, username=username, is_admin=is_admin, disabled=False, role=role)
        return TokenOwner(user, token_id, token_name, tuple(scopes) if scopes is not None else None, expires)

    def list_tokens(self, actor: UserInfo, username: str | None = None) -> list[TokenInfo]:
        with self.read() as session:
            owner = _token_owner(session, actor, username, "list another user's tokens")
            rows = session.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == owner.id).order_by(ApiTokenRow.id))
            return [TokenInfo(id=r.id, name=r.name, username=owner.username, created_at=r.created_at,
                              last_used=r.last_used, revoked=r.revoked,
                              scopes=tuple(r.scopes) if r.scopes is not None else None, expires_at=r.expires_at)
                    for r in rows]

    def revoke_token(self, actor: UserInfo, token_id: int) -> None:
        with self.write() as session:
            acting = current_user(session, actor)
            row = session.get(ApiTokenRow, token_id)
            if row is None:
                raise NotFoundError(f"no API token with id {token_id}")
            if row.user_id != acting.id:
                require_admin(acting, "revoke another user's token")
            row.revoked = True
            self.audit.append(session, actor=actor.username, action="token.revoke", entity="api_token",
                              entity_id=row.id, before={"revoked": False}, after={"revoked": True})


def _token_owner(session: Session, actor: UserInfo, username: str | None, what: str) -> UserRow:
    """The user whose tokens are meant: the actor by default; another user only for an administrator."""
    acting = current_user(session, actor)
    owner_name = username or acting.username
    if owner_name != acting.username:
        require_admin(acting, what)
    return user_row(session, owner_name)
