"""audit_payloads: audit payloads kept apart from the hash chain, so erasure can reach them

Reserved in the migration chain; this revision changes nothing until its tables land.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
