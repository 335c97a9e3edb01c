"""signed audit: every event carries the platform's Ed25519 signature of its sequence number and hash, so
that a chain rewritten and recomputed by someone with database access, but not the signing key, is found

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature", sa.String(length=128), nullable=True))
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_since", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("since_signature", sa.String(length=128), nullable=True))
    # Events recorded before this revision stay unsigned; signing starts with the next one, and that
    # starting point is itself signed when it is first used (audit/service.py).


def downgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("since_signature")
        batch_op.drop_column("signed_since")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("signature")
