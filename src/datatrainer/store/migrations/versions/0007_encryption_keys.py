"""encryption_keys: wrapped data keys for encrypted dataset versions and stores

Reserved in the migration chain; this revision changes nothing until its tables land.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
