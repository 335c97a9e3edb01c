"""authority orders on moderation decisions; CyberTipline reports for moderation decisions, submitted
with retries (NCMEC's report id, progress of the files, who viewed them)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("safety_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_reference", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_safety_decisions_order_reference"), ["order_reference"])

    with op.batch_alter_table("safety_ncmec_reports", schema=None) as batch_op:
        batch_op.alter_column("enforcement_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.add_column(sa.Column("decision_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("locator", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("cybertip_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("files", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("file_viewed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_safety_ncmec_reports_decision_id_safety_decisions"),
            "safety_decisions",
            ["decision_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(batch_op.f("uq_safety_ncmec_reports_decision_id"), ["decision_id"])
        batch_op.create_index(batch_op.f("ix_safety_ncmec_reports_next_attempt_at"), ["next_attempt_at"])
    # Reports queued before this revision are due now.
    op.execute("UPDATE safety_ncmec_reports SET next_attempt_at = queued_at WHERE status = 'queued'")


def downgrade() -> None:
    with op.batch_alter_table("safety_ncmec_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_ncmec_reports_next_attempt_at"))
        batch_op.drop_constraint(batch_op.f("uq_safety_ncmec_reports_decision_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_safety_ncmec_reports_decision_id_safety_decisions"), type_="foreignkey"
        )
        for column in (
            "finished_at", "file_viewed", "files", "cybertip_id", "last_error", "next_attempt_at",
            "attempts", "locator", "decision_id",
        ):  # fmt: skip
            batch_op.drop_column(column)
        batch_op.alter_column("enforcement_id", existing_type=sa.String(length=36), nullable=False)

    with op.batch_alter_table("safety_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_decisions_order_reference"))
        batch_op.drop_column("order_reference")
