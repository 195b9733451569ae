"""jobs: jobs recorded in the catalog with progress, state and a lease

Reserved in the migration chain; this revision changes nothing until its tables land.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
