"""due process: notices, trusted flaggers, notifier standing, review decisions, enforcement steps,
statements of reasons, appeals, reviewer exposure; cases gain a source, reach, target time and claim

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 19:54:59.034746
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The closed vocabularies of these columns (safety/vocabulary.py and safety/workflow.py as of this
# revision), spelled once here: a migration never imports application code.
DSACATEGORY = (
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
)
DSAKEYWORD = (
    "KEYWORD_ADULT_SEXUAL_MATERIAL",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
    "KEYWORD_ANIMAL_HARM",
    "KEYWORD_BIOMETRIC_DATA_BREACH",
    "KEYWORD_BULLYING_AGAINST_GIRLS",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
    "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
    "KEYWORD_COORDINATED_HARM",
    "KEYWORD_COPYRIGHT_INFRINGEMENT",
    "KEYWORD_CYBER_BULLYING_INTIMIDATION",
    "KEYWORD_CYBER_HARASSMENT",
    "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
    "KEYWORD_CYBER_INCITEMENT",
    "KEYWORD_CYBER_STALKING",
    "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
    "KEYWORD_DATA_FALSIFICATION",
    "KEYWORD_DEFAMATION",
    "KEYWORD_DESIGN_INFRINGEMENT",
    "KEYWORD_DISCRIMINATION",
    "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
    "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
    "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    "KEYWORD_HATE_SPEECH",
    "KEYWORD_HIDDEN_ADVERTISEMENT",
    "KEYWORD_HUMAN_EXPLOITATION",
    "KEYWORD_HUMAN_TRAFFICKING",
    "KEYWORD_ILLEGAL_ORGANIZATIONS",
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
    "KEYWORD_INAUTHENTIC_ACCOUNTS",
    "KEYWORD_INAUTHENTIC_LISTINGS",
    "KEYWORD_INAUTHENTIC_USER_REVIEWS",
    "KEYWORD_INCITEMENT_AGAINST_WOMEN",
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
    "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
    "KEYWORD_LANGUAGE_REQUIREMENTS",
    "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
    "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
    "KEYWORD_MISSING_PROCESSING_GROUND",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
    "KEYWORD_NONCOMPLIANCE_PRICING",
    "KEYWORD_NUDITY",
    "KEYWORD_PATENT_INFRINGEMENT",
    "KEYWORD_PHISHING",
    "KEYWORD_PROHIBITED_PRODUCTS",
    "KEYWORD_PYRAMID_SCHEMES",
    "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
    "KEYWORD_RISK_PUBLIC_HEALTH",
    "KEYWORD_SELF_MUTILATION",
    "KEYWORD_STALKING",
    "KEYWORD_SUICIDE",
    "KEYWORD_TERRORIST_CONTENT",
    "KEYWORD_TRADE_SECRET_INFRINGEMENT",
    "KEYWORD_TRADEMARK_INFRINGEMENT",
    "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
    "KEYWORD_UNLAWFUL_SALE_ANIMALS",
    "KEYWORD_UNSAFE_CHALLENGES",
    "KEYWORD_UNSAFE_PRODUCTS",
    "KEYWORD_VIOLATION_EU_LAW",
    "KEYWORD_VIOLATION_NATIONAL_LAW",
    "KEYWORD_OTHER",
)
APPEALSTATUS = (
    "open",
    "granted",
    "dismissed",
)
CASESOURCE = (
    "authority_order",
    "trusted_flagger",
    "automated",
    "user",
)
CASESTATUS = (
    "open",
    "awaiting_approval",
    "decided",
    "reversed",
)


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=max(len(v) for v in values) + 8)


def upgrade() -> None:
    op.create_table(
        "safety_notifier_standing",
        sa.Column("notifier_key", sa.String(length=64), nullable=False),
        sa.Column("unfounded", sa.Integer(), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("notifier_key", name=op.f("pk_safety_notifier_standing")),
    )
    op.create_table(
        "safety_trusted_flaggers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("expertise", sa.JSON(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_trusted_flaggers")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_safety_trusted_flaggers_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_safety_trusted_flaggers_name")),
    )
    op.create_table(
        "safety_decisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restrictions", sa.JSON(), nullable=False),
        sa.Column("territorial_scope", sa.JSON(), nullable=True),
        sa.Column("ground", sa.String(length=32), nullable=True),
        sa.Column("legal_ground", sa.Text(), nullable=True),
        sa.Column("tos_ground", sa.Text(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("category", _enum(DSACATEGORY, "dsacategory"), nullable=True),
        sa.Column("keyword", _enum(DSAKEYWORD, "dsakeyword"), nullable=True),
        sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=36), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["safety_cases.id"], name=op.f("fk_safety_decisions_case_id_safety_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_decisions")),
    )
    with op.batch_alter_table("safety_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_decisions_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_decisions_decided_at"), ["decided_at"], unique=False)

    op.create_table(
        "safety_exposures",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("category", _enum(DSACATEGORY, "dsacategory"), nullable=True),
        sa.Column("keyword", _enum(DSAKEYWORD, "dsakeyword"), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["safety_cases.id"], name=op.f("fk_safety_exposures_case_id_safety_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_exposures")),
        sa.UniqueConstraint("user_id", "case_id", name=op.f("uq_safety_exposures_user_id_case_id")),
    )
    with op.batch_alter_table("safety_exposures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_exposures_seen_at"), ["seen_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_exposures_user_id"), ["user_id"], unique=False)

    op.create_table(
        "safety_notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("locator", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("category", _enum(DSACATEGORY, "dsacategory"), nullable=False),
        sa.Column("keyword", _enum(DSAKEYWORD, "dsakeyword"), nullable=True),
        sa.Column("notifier_name", sa.String(length=200), nullable=True),
        sa.Column("notifier_email", sa.String(length=320), nullable=True),
        sa.Column("good_faith", sa.Boolean(), nullable=False),
        sa.Column("trusted_flagger_id", sa.String(length=36), nullable=True),
        sa.Column("notifier_key", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appeal_key_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["safety_cases.id"], name=op.f("fk_safety_notices_case_id_safety_cases")
        ),
        sa.ForeignKeyConstraint(
            ["trusted_flagger_id"],
            ["safety_trusted_flaggers.id"],
            name=op.f("fk_safety_notices_trusted_flagger_id_safety_trusted_flaggers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_notices")),
        sa.UniqueConstraint("reference", name=op.f("uq_safety_notices_reference")),
        sa.UniqueConstraint("appeal_key_hash", name=op.f("uq_safety_notices_appeal_key_hash")),
    )
    with op.batch_alter_table("safety_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_notices_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_notices_locator"), ["locator"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_notices_notifier_key"), ["notifier_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_notices_received_at"), ["received_at"], unique=False)

    op.create_table(
        "safety_case_actions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["safety_decisions.id"],
            name=op.f("fk_safety_case_actions_decision_id_safety_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_case_actions")),
        sa.UniqueConstraint(
            "decision_id", "kind", "target", name=op.f("uq_safety_case_actions_decision_id_kind_target")
        ),
    )
    with op.batch_alter_table("safety_case_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_case_actions_decision_id"), ["decision_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_safety_case_actions_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_safety_case_actions_status"), ["status"], unique=False)

    op.create_table(
        "safety_statements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("puid", sa.String(length=500), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("appeal_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_id", sa.String(length=200), nullable=True),
        sa.Column("appeal_key_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["safety_decisions.id"],
            name=op.f("fk_safety_statements_decision_id_safety_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_statements")),
        sa.UniqueConstraint(
            "decision_id", "account_id", name=op.f("uq_safety_statements_decision_id_account_id")
        ),
        sa.UniqueConstraint("puid", name=op.f("uq_safety_statements_puid")),
        sa.UniqueConstraint("appeal_key_hash", name=op.f("uq_safety_statements_appeal_key_hash")),
    )
    with op.batch_alter_table("safety_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_statements_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_statements_decision_id"), ["decision_id"], unique=False)

    op.create_table(
        "safety_appeals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("appellant", sa.String(length=16), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=True),
        sa.Column("notice_id", sa.String(length=36), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", _enum(APPEALSTATUS, "appealstatus"), nullable=False),
        sa.Column("claimed_by", sa.String(length=36), nullable=True),
        sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["safety_decisions.id"],
            name=op.f("fk_safety_appeals_decision_id_safety_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["safety_notices.id"], name=op.f("fk_safety_appeals_notice_id_safety_notices")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["safety_statements.id"],
            name=op.f("fk_safety_appeals_statement_id_safety_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_appeals")),
        sa.UniqueConstraint("reference", name=op.f("uq_safety_appeals_reference")),
    )
    with op.batch_alter_table("safety_appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_appeals_decision_id"), ["decision_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_appeals_filed_at"), ["filed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_appeals_status"), ["status"], unique=False)

    op.create_table(
        "threat_notifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("locator", sa.String(length=500), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threat_notifications")),
        sa.UniqueConstraint("reference", name=op.f("uq_threat_notifications_reference")),
    )
    with op.batch_alter_table("threat_notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_threat_notifications_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_threat_notifications_created_at"), ["created_at"], unique=False)

    with op.batch_alter_table("safety_evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_id", sa.String(length=36), nullable=True))
        batch_op.alter_column("enforcement_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_safety_evidence_decision_id"), ["decision_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_safety_evidence_decision_id_safety_decisions"),
            "safety_decisions",
            ["decision_id"],
            ["id"],
        )

    with op.batch_alter_table("safety_cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", _enum(CASESOURCE, "casesource"), server_default="automated", nullable=False)
        )
        batch_op.add_column(sa.Column("audience", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("target_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column(
            "status",
            existing_type=sa.VARCHAR(length=12),
            type_=_enum(CASESTATUS, "casestatus"),
            existing_nullable=False,
        )
        batch_op.create_index(batch_op.f("ix_safety_cases_locator"), ["locator"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_cases_target_at"), ["target_at"], unique=False)


def downgrade() -> None:
    op.drop_table("threat_notifications")
    with op.batch_alter_table("safety_evidence", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_safety_evidence_decision_id_safety_decisions"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_safety_evidence_decision_id"), type_="unique")
        batch_op.alter_column("enforcement_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_column("decision_id")
    with op.batch_alter_table("safety_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_cases_target_at"))
        batch_op.drop_index(batch_op.f("ix_safety_cases_locator"))
        batch_op.alter_column(
            "status",
            existing_type=_enum(CASESTATUS, "casestatus"),
            type_=sa.VARCHAR(length=12),
            existing_nullable=False,
        )
        batch_op.drop_column("decided_at")
        batch_op.drop_column("claim_expires_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("target_at")
        batch_op.drop_column("audience")
        batch_op.drop_column("source")

    with op.batch_alter_table("safety_appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_appeals_status"))
        batch_op.drop_index(batch_op.f("ix_safety_appeals_filed_at"))
        batch_op.drop_index(batch_op.f("ix_safety_appeals_decision_id"))

    op.drop_table("safety_appeals")
    with op.batch_alter_table("safety_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_statements_decision_id"))
        batch_op.drop_index(batch_op.f("ix_safety_statements_created_at"))

    op.drop_table("safety_statements")
    with op.batch_alter_table("safety_case_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_case_actions_status"))
        batch_op.drop_index(batch_op.f("ix_safety_case_actions_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_safety_case_actions_decision_id"))

    op.drop_table("safety_case_actions")
    with op.batch_alter_table("safety_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_notices_received_at"))
        batch_op.drop_index(batch_op.f("ix_safety_notices_notifier_key"))
        batch_op.drop_index(batch_op.f("ix_safety_notices_locator"))
        batch_op.drop_index(batch_op.f("ix_safety_notices_case_id"))

    op.drop_table("safety_notices")
    with op.batch_alter_table("safety_exposures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_exposures_user_id"))
        batch_op.drop_index(batch_op.f("ix_safety_exposures_seen_at"))

    op.drop_table("safety_exposures")
    with op.batch_alter_table("safety_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_decisions_decided_at"))
        batch_op.drop_index(batch_op.f("ix_safety_decisions_case_id"))

    op.drop_table("safety_decisions")
    op.drop_table("safety_trusted_flaggers")
    op.drop_table("safety_notifier_standing")
