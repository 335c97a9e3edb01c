"""login hardening: single-use TOTP codes (the last accepted time step per account), room for encrypted
TOTP secrets, and login attempts counted per account and client address

TOTP secrets are encrypted with a key file the database never sees (auth/totp.py), so this migration
cannot encrypt the existing plaintext secrets: the service accepts a secret without the ``v1:`` prefix
once and stores it encrypted at that account's next successful login.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCOUNTS = ("officers", "staff_users")


def upgrade() -> None:
    for table in ACCOUNTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "totp_secret",
                existing_type=sa.String(length=64),
                type_=sa.String(length=200),
                existing_nullable=True,
            )
            batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("throttled", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index("ix_login_attempts_email_client_at", ["email", "client", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_email_client_at")
        batch_op.drop_column("throttled")
    for table in reversed(ACCOUNTS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("totp_last_step")
            # Encrypted secrets do not fit the old column: downgrading needs the secrets re-enrolled.
            batch_op.execute(sa.text(f"UPDATE {table} SET totp_secret = NULL WHERE length(totp_secret) > 64"))  # noqa: S608 - constant table names
            batch_op.alter_column(
                "totp_secret",
                existing_type=sa.String(length=200),
                type_=sa.String(length=64),
                existing_nullable=True,
            )
