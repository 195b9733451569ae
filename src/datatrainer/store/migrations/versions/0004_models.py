"""models: the registry of trained models and their evaluations

`models` holds one row per trained model: where its folder is (a storage key under `models/`), what it was
trained from (base model, dataset version) and how (method, config and its hash), with its final metrics and
loss history. `model_evaluations` stores evaluation results keyed by model *name*, not a foreign key, so a
model that was never trained here (a Hugging Face folder, a bundled alias) can be evaluated and compared too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("storage_key", sa.String(64), nullable=False, unique=True),
        sa.Column("base_model", sa.String(500), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=False, index=True),
        sa.Column("dataset_ref", sa.String(220), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "model_evaluations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_name", sa.String(500), nullable=False, index=True),
        sa.Column("suite", sa.String(100), nullable=False),
        sa.Column("dataset_ref", sa.String(220), nullable=True),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_evaluations")
    op.drop_table("models")
