"""encryption_keys: the workspace's master-key settings and the wrapped data keys of encrypted files

`workspace_keys` has at most one row (id 1): which key provider holds the master key (passphrase, key file or
a team's KMS), its non-secret settings (scrypt salt and cost, key file path, KMS key id), a check value (a
random key wrapped by the master key, so a wrong passphrase is told apart from corrupt data) and the key
generation, raised by every rotation. `data_keys` holds one data key per encrypted dataset version (keyed by
its storage key) and per score or embedding cache folder, each wrapped by the master key; rotation re-wraps
these rows and never touches the files. Deleting a row crypto-shreds what its key encrypted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("check_wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "data_keys",
        sa.Column("key_id", sa.String(300), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("data_keys")
    op.drop_table("workspace_keys")
