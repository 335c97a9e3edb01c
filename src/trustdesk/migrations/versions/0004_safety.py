"""safety: banks, entries, imports, signals, cases, enforcements, evidence, NCMEC reports, platform tokens, ingest cursors

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:54:12.362877
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The closed vocabularies of these tables (safety/vocabulary.py as of this revision), spelled once here:
# a migration never imports application code, and each column gets its own type object.
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
BANKACTION = (
    "auto_remove",
    "review",
    "report_ncmec",
    "log",
)
CASESTATUS = ("open",)
CONTENTKIND = (
    "text",
    "image",
    "video",
    "file",
)
CHATTYPE = (
    "public",
    "group",
    "private",
)
HASHTYPE = (
    "pdq",
    "md5",
    "sha256",
)


def dsacategory() -> sa.Enum:
    return sa.Enum(*DSACATEGORY, name="dsacategory", native_enum=False, length=75)


def dsakeyword() -> sa.Enum:
    return sa.Enum(*DSAKEYWORD, name="dsakeyword", native_enum=False, length=62)


def bankaction() -> sa.Enum:
    return sa.Enum(*BANKACTION, name="bankaction", native_enum=False, length=20)


def casestatus() -> sa.Enum:
    return sa.Enum(*CASESTATUS, name="casestatus", native_enum=False, length=12)


def contentkind() -> sa.Enum:
    return sa.Enum(*CONTENTKIND, name="contentkind", native_enum=False, length=13)


def chattype() -> sa.Enum:
    return sa.Enum(*CHATTYPE, name="chattype", native_enum=False, length=15)


def hashtype() -> sa.Enum:
    return sa.Enum(*HASHTYPE, name="hashtype", native_enum=False, length=14)


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "platform_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_platform_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_platform_tokens_token_hash")),
    )
    op.create_table(
        "safety_banks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "category",
            dsacategory(),
            nullable=False,
        ),
        sa.Column(
            "keyword",
            dsakeyword(),
            nullable=True,
        ),
        sa.Column(
            "action",
            bankaction(),
            nullable=False,
        ),
        sa.Column("pdq_threshold", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_banks")),
        sa.UniqueConstraint("name", name=op.f("uq_safety_banks_name")),
    )
    op.create_table(
        "safety_cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_key", sa.String(length=300), nullable=False),
        sa.Column("status", casestatus(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            dsacategory(),
            nullable=True,
        ),
        sa.Column(
            "keyword",
            dsakeyword(),
            nullable=True,
        ),
        sa.Column(
            "content_kind",
            contentkind(),
            nullable=False,
        ),
        sa.Column(
            "chat_type",
            chattype(),
            nullable=True,
        ),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("chat_id", sa.String(length=200), nullable=False),
        sa.Column("locator", sa.String(length=500), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("media", sa.JSON(), nullable=True),
        sa.Column("blur", sa.Boolean(), nullable=False),
        sa.Column("auto_removed", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_cases")),
        sa.UniqueConstraint("event_key", name=op.f("uq_safety_cases_event_key")),
    )
    with op.batch_alter_table("safety_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_cases_opened_at"), ["opened_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_cases_priority"), ["priority"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_cases_status"), ["status"], unique=False)

    op.create_table(
        "safety_ingest_cursors",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("cursor", sa.String(length=200), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", name=op.f("pk_safety_ingest_cursors")),
    )
    op.create_table(
        "safety_sequence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_sequence")),
    )
    op.create_table(
        "safety_bank_imports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("contributor", sa.String(length=200), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_added", sa.Integer(), nullable=False),
        sa.Column("rows_present", sa.Integer(), nullable=False),
        sa.Column("rows_bad", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["safety_banks.id"], name=op.f("fk_safety_bank_imports_bank_id_safety_banks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_bank_imports")),
    )
    with op.batch_alter_table("safety_bank_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_bank_imports_bank_id"), ["bank_id"], unique=False)

    op.create_table(
        "safety_enforcements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_key", sa.String(length=300), nullable=False),
        sa.Column(
            "action",
            bankaction(),
            nullable=False,
        ),
        sa.Column("locator", sa.String(length=500), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column(
            "category",
            dsacategory(),
            nullable=True,
        ),
        sa.Column(
            "keyword",
            dsakeyword(),
            nullable=True,
        ),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["safety_cases.id"], name=op.f("fk_safety_enforcements_case_id_safety_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_enforcements")),
        sa.UniqueConstraint("event_key", "action", name=op.f("uq_safety_enforcements_event_key_action")),
    )
    with op.batch_alter_table("safety_enforcements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_enforcements_executed_at"), ["executed_at"], unique=False)

    op.create_table(
        "safety_signals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_key", sa.String(length=300), nullable=False),
        sa.Column("detector", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("matched", sa.String(length=100), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column(
            "action",
            bankaction(),
            nullable=False,
        ),
        sa.Column(
            "category",
            dsacategory(),
            nullable=True,
        ),
        sa.Column(
            "keyword",
            dsakeyword(),
            nullable=True,
        ),
        sa.Column(
            "content_kind",
            contentkind(),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("chat_id", sa.String(length=200), nullable=False),
        sa.Column("locator", sa.String(length=500), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["safety_cases.id"], name=op.f("fk_safety_signals_case_id_safety_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_signals")),
        sa.UniqueConstraint(
            "event_key",
            "detector",
            "source",
            "matched",
            name=op.f("uq_safety_signals_event_key_detector_source_matched"),
        ),
    )
    with op.batch_alter_table("safety_signals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_signals_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_signals_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_signals_detected_at"), ["detected_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_signals_event_key"), ["event_key"], unique=False)

    op.create_table(
        "safety_bank_entries",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column(
            "hash_type",
            hashtype(),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("source_date", sa.String(length=10), nullable=True),
        sa.Column("contributor", sa.String(length=200), nullable=True),
        sa.Column("import_id", sa.String(length=36), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removal_reason", sa.String(length=500), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["safety_banks.id"], name=op.f("fk_safety_bank_entries_bank_id_safety_banks")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["safety_bank_imports.id"],
            name=op.f("fk_safety_bank_entries_import_id_safety_bank_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_bank_entries")),
        sa.UniqueConstraint(
            "bank_id", "hash_type", "value", name=op.f("uq_safety_bank_entries_bank_id_hash_type_value")
        ),
        sa.UniqueConstraint("seq", name=op.f("uq_safety_bank_entries_seq")),
    )
    with op.batch_alter_table("safety_bank_entries", schema=None) as batch_op:
        batch_op.create_index("ix_safety_bank_entries_bank_removed", ["bank_id", "removed_at"], unique=False)

    op.create_table(
        "safety_evidence",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("enforcement_id", sa.String(length=36), nullable=False),
        sa.Column("event_key", sa.String(length=300), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("preserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("legal_basis", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["enforcement_id"],
            ["safety_enforcements.id"],
            name=op.f("fk_safety_evidence_enforcement_id_safety_enforcements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_evidence")),
        sa.UniqueConstraint("enforcement_id", name=op.f("uq_safety_evidence_enforcement_id")),
    )
    with op.batch_alter_table("safety_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_evidence_event_key"), ["event_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_evidence_retain_until"), ["retain_until"], unique=False)

    op.create_table(
        "safety_ncmec_reports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("enforcement_id", sa.String(length=36), nullable=False),
        sa.Column("event_key", sa.String(length=300), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("incident", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enforcement_id"],
            ["safety_enforcements.id"],
            name=op.f("fk_safety_ncmec_reports_enforcement_id_safety_enforcements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_ncmec_reports")),
        sa.UniqueConstraint("enforcement_id", name=op.f("uq_safety_ncmec_reports_enforcement_id")),
    )
    with op.batch_alter_table("safety_ncmec_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_ncmec_reports_status"), ["status"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("safety_ncmec_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_ncmec_reports_status"))

    op.drop_table("safety_ncmec_reports")
    with op.batch_alter_table("safety_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_evidence_retain_until"))
        batch_op.drop_index(batch_op.f("ix_safety_evidence_event_key"))

    op.drop_table("safety_evidence")
    with op.batch_alter_table("safety_bank_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_bank_entries_bank_removed")

    op.drop_table("safety_bank_entries")
    with op.batch_alter_table("safety_signals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_signals_event_key"))
        batch_op.drop_index(batch_op.f("ix_safety_signals_detected_at"))
        batch_op.drop_index(batch_op.f("ix_safety_signals_case_id"))
        batch_op.drop_index(batch_op.f("ix_safety_signals_account_id"))

    op.drop_table("safety_signals")
    with op.batch_alter_table("safety_enforcements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_enforcements_executed_at"))

    op.drop_table("safety_enforcements")
    with op.batch_alter_table("safety_bank_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_bank_imports_bank_id"))

    op.drop_table("safety_bank_imports")
    op.drop_table("safety_sequence")
    op.drop_table("safety_ingest_cursors")
    with op.batch_alter_table("safety_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_cases_status"))
        batch_op.drop_index(batch_op.f("ix_safety_cases_priority"))
        batch_op.drop_index(batch_op.f("ix_safety_cases_opened_at"))

    op.drop_table("safety_cases")
    op.drop_table("safety_banks")
    op.drop_table("platform_tokens")
    # ### end Alembic commands ###
