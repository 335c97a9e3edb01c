"""forged-request defences: each request's risk (score, rules fired), its hold for a callback, the kind
it claimed against the agency's verified one, whether it was signed; callbacks on directory numbers;
the networks each credential submitted from

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ISSUER_KINDS = ("police", "prosecutor", "investigating_judge", "court", "regulator", "other")


def upgrade() -> None:
    with op.batch_alter_table("lawful_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "claimed_issuer_kind",
                sa.Enum(*ISSUER_KINDS, name="issuerkind", native_enum=False, length=27),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("signed", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("risk_score", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("risk_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("held_for_callback", sa.Boolean(), server_default="0", nullable=False))
    op.create_table(
        "request_callbacks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("called_by", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("directory", sa.String(length=300), nullable=False),
        sa.Column("person_reached", sa.String(length=200), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["called_by"], ["staff_users.id"], name=op.f("fk_request_callbacks_called_by_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["lawful_requests.id"],
            name=op.f("fk_request_callbacks_request_id_lawful_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_callbacks")),
    )
    with op.batch_alter_table("request_callbacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_callbacks_request_id"), ["request_id"], unique=False)
    op.create_table(
        "credential_networks",
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("credential_id", "network", name=op.f("pk_credential_networks")),
    )


def downgrade() -> None:
    op.drop_table("credential_networks")
    with op.batch_alter_table("request_callbacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_callbacks_request_id"))
    op.drop_table("request_callbacks")
    with op.batch_alter_table("lawful_requests", schema=None) as batch_op:
        for column in ("held_for_callback", "risk_reasons", "risk_score", "signed", "claimed_issuer_kind"):
            batch_op.drop_column(column)
