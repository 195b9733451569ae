"""server_security: workspace roles, scoped and expiring API tokens, and the login throttle

- `users.role`: one of admin, curator, reviewer, annotator, auditor (`security/roles.py`); administrators
  become `admin`, everyone else `annotator` (what they could do before).
- `api_tokens.scopes` (NULL: every scope of the owner's role) and `api_tokens.expires_at` (web sessions:
  12 hours, enforced whatever header the token arrives in). Web sessions issued before this revision carry no
  expiry, so they are revoked: their users log in again.
- `login_throttle`: failed logins per user name, for the lockout that keeps bad logins from occupying the
  password-hashing threads.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("role", sa.String(20), nullable=False, server_default="annotator"))
    op.execute(sa.text("UPDATE users SET role = 'admin' WHERE is_admin = :yes").bindparams(yes=True))
    with op.batch_alter_table("api_tokens") as tokens:
        tokens.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
        tokens.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE api_tokens SET revoked = :yes WHERE name = 'web session'").bindparams(yes=True))
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    with op.batch_alter_table("api_tokens") as tokens:
        tokens.drop_column("expires_at")
        tokens.drop_column("scopes")
    with op.batch_alter_table("users") as users:
        users.drop_column("role")
