"""legal obligations: validation, offence facts, enforcing authority, internal target, refusal on receipt,
holds kept until production, legal windows, the principle conflict register, removal complaints

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The closed vocabularies of these columns (lawful/vocabulary.py and trustdesk/vocabulary.py as of this
# revision), spelled once here: a migration never imports application code.
ISSUERKIND = ("police", "prosecutor", "investigating_judge", "court", "regulator", "other")
INSTRUMENTCODE = (
    "EU_EPOC",
    "EU_EPOC_PR",
    "EU_TCO_REMOVAL",
    "EU_DSA_ART9",
    "EU_DSA_ART10",
    "US_SUBPOENA",
    "US_2703D",
    "US_WARRANT",
    "US_PRESERVATION",
    "US_EMERGENCY",
    "NATIONAL_COURT_ORDER",
    "IN_IT_RULES_3_1_J",
)
VALIDATIONSTATUS = ("validated", "pending", "refused")
ENFORCINGANSWER = ("no_grounds", "grounds_raised", "objected")
ENFORCINGGROUND = (
    "immunity_or_privilege",
    "press_freedom",
    "fundamental_rights_breach",
    "ne_bis_in_idem",
    "no_double_criminality",
)
FIRSTORDERNOTICE = ("given", "not_given", "emergency", "not_first")
HOLDEND = ("lapsed", "withdrawn", "no_longer_needed", "delivered")
WINDOWKIND = (
    "validation",
    "objection",
    "enforcing_review",
    "scrutiny_request",
    "scrutiny_decision",
    "complaint",
    "confidentiality",
    "retention",
)
CONFLICTRESOLUTION = ("complied", "refused", "challenged", "withdrawn")
ANNEXIIIGROUND = (
    "incomplete_or_erroneous",
    "de_facto_impossibility",
    "force_majeure",
    "third_country_law_conflict",
    "manifest_charter_breach",
)


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=max(len(v) for v in values) + 8)


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("lawful_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("validation_status", _enum(VALIDATIONSTATUS, "validationstatus")))
        batch_op.add_column(sa.Column("validator_kind", _enum(ISSUERKIND, "issuerkind")))
        batch_op.add_column(sa.Column("validator_name", sa.String(length=200)))
        batch_op.add_column(sa.Column("validated_at", _time()))
        for flag in ("by_information_system", "offence_in_issuing_state", "person_resides_in_issuing_state"):
            batch_op.add_column(sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("sentence_months", sa.Integer()))
        batch_op.add_column(sa.Column("target_at", _time()))
        batch_op.add_column(sa.Column("receipt_ground", sa.String(length=40)))
        batch_op.add_column(sa.Column("enforcing_notification", sa.Boolean()))
        batch_op.add_column(sa.Column("enforcing_answer", _enum(ENFORCINGANSWER, "enforcinganswer")))
        batch_op.add_column(sa.Column("enforcing_ground", _enum(ENFORCINGGROUND, "enforcingground")))
        batch_op.add_column(sa.Column("enforcing_answered_at", _time()))
        batch_op.add_column(sa.Column("use_stopped_at", _time()))
        batch_op.add_column(sa.Column("use_stopped_reason", sa.String(length=40)))
        batch_op.add_column(sa.Column("tco_first_order_notice", _enum(FIRSTORDERNOTICE, "firstordernotice")))

    with op.batch_alter_table("preservation_holds", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=_time(), nullable=True)
        batch_op.add_column(sa.Column("ended", _enum(HOLDEND, "holdend")))
        batch_op.add_column(sa.Column("production_confirmed_at", _time()))
        batch_op.add_column(sa.Column("production_reference", sa.String(length=100)))

    with op.batch_alter_table("removals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reinstated_at", _time()))

    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tco_notice_at", _time()))

    op.create_table(
        "legal_windows",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("kind", _enum(WINDOWKIND, "windowkind"), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("opened_at", _time(), nullable=False),
        sa.Column("due_at", _time(), nullable=True),
        sa.Column("closed_at", _time(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["lawful_requests.id"], name=op.f("fk_legal_windows_request_id_lawful_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_windows")),
    )
    with op.batch_alter_table("legal_windows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_windows_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_legal_windows_request_id"), ["request_id"], unique=False)

    op.create_table(
        "principle_conflicts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("instrument", _enum(INSTRUMENTCODE, "instrumentcode"), nullable=False),
        sa.Column("principle_id", sa.String(length=8), nullable=False),
        sa.Column("principle_key", sa.String(length=32), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("detected_at", _time(), nullable=False),
        sa.Column("resolution", _enum(CONFLICTRESOLUTION, "conflictresolution"), nullable=True),
        sa.Column("legal_ground", _enum(ANNEXIIIGROUND, "annexiiiground"), nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=36), nullable=True),
        sa.Column("resolved_at", _time(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["lawful_requests.id"],
            name=op.f("fk_principle_conflicts_request_id_lawful_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["staff_users.id"], name=op.f("fk_principle_conflicts_resolved_by_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_principle_conflicts")),
    )
    with op.batch_alter_table("principle_conflicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_principle_conflicts_jurisdiction"), ["jurisdiction"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_principle_conflicts_request_id"), ["request_id"], unique=False)

    op.create_table(
        "removal_complaints",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("removal_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", _time(), nullable=False),
        sa.Column("due_at", _time(), nullable=False),
        sa.Column("answered_at", _time(), nullable=True),
        sa.Column("upheld", sa.Boolean(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["staff_users.id"], name=op.f("fk_removal_complaints_answered_by_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["removal_id"], ["removals.id"], name=op.f("fk_removal_complaints_removal_id_removals")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["lawful_requests.id"],
            name=op.f("fk_removal_complaints_request_id_lawful_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_removal_complaints")),
    )
    with op.batch_alter_table("removal_complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_removal_complaints_removal_id"), ["removal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_removal_complaints_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    for table in ("removal_complaints", "principle_conflicts", "legal_windows"):
        op.drop_table(table)
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.drop_column("tco_notice_at")
    with op.batch_alter_table("removals", schema=None) as batch_op:
        batch_op.drop_column("reinstated_at")
    with op.batch_alter_table("preservation_holds", schema=None) as batch_op:
        for column in ("production_reference", "production_confirmed_at", "ended"):
            batch_op.drop_column(column)
        batch_op.alter_column("expires_at", existing_type=_time(), nullable=False)
    with op.batch_alter_table("lawful_requests", schema=None) as batch_op:
        for column in (
            "tco_first_order_notice",
            "use_stopped_reason",
            "use_stopped_at",
            "enforcing_answered_at",
            "enforcing_ground",
            "enforcing_answer",
            "enforcing_notification",
            "receipt_ground",
            "target_at",
            "sentence_months",
            "person_resides_in_issuing_state",
            "offence_in_issuing_state",
            "by_information_system",
            "validated_at",
            "validator_name",
            "validator_kind",
            "validation_status",
        ):
            batch_op.drop_column(column)
