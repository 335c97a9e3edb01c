"""Typed settings, read once from the environment (``TRUSTDESK_*``) in the composition root."""

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, IPvAnyNetwork, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET = "demo-secret-do-not-use-in-production"  # noqa: S105 - the demo value production refuses


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class PlatformKind(StrEnum):
    REFERENCE = "reference"
    MATRIX = "matrix"


class BusKind(StrEnum):
    MEMORY = "memory"
    NATS = "nats"


class SmallCountRule(StrEnum):
    """How transparency reports protect small counts (docs/transparency-reports.md)."""

    NONE = "none"  # every figure as counted (what the EU templates ask for)
    SUPPRESS = "suppress"  # a count from 1 to threshold-1 is published as "<threshold"
    BAND = "band"  # every count is published as its band of threshold width: "0-249", "250-499", ...


class SettingsError(ValueError):
    """Settings that cannot run Trustdesk; the message says which and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRUSTDESK_", extra="forbid", frozen=True)

    environment: Environment = Field(
        default=Environment.PRODUCTION,
        description="production unless told otherwise: `make run` and the tests say development",
    )
    database_url: str = "sqlite:///var/trustdesk.db"
    secret_key: SecretStr = SecretStr(DEMO_SECRET)
    platform: PlatformKind = PlatformKind.REFERENCE
    reference_platform_url: str = "sqlite:///var/reference-platform.db"
    matrix_base_url: str | None = Field(
        default=None, description="The Synapse homeserver, e.g. https://matrix.example.org"
    )
    matrix_admin_token: SecretStr | None = None
    matrix_server_name: str | None = None
    matrix_module_secret: SecretStr | None = None
    matrix_state_dir: Path = Path("var/matrix")
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    public_url: str | None = Field(
        default=None,
        description="The address users reach Trustdesk's public pages at (appeal links in statements of "
        "reasons, the enrolment links of new accounts); default http://HOST:PORT",
    )
    tlog_interval_seconds: Annotated[float, Field(gt=0, le=86400)] = 300.0
    """How often `trustdesk serve` sequences the transparency log and signs a new head (when the audit chain
    moved, each round adds an audit-head leaf)."""
    tlog_origin: str | None = Field(
        default=None,
        pattern=r"^[^\s+]{1,200}$",
        description="The transparency log's origin, the first line of its checkpoints and its key name "
        "(C2SP tlog-checkpoint), e.g. trustdesk.example/tlog; default: the public URL's host + /tlog. Set "
        "it once in production: verifiers pin it",
    )
    max_json_body_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    max_document_bytes: Annotated[int, Field(ge=1024)] = 20 * 1_048_576
    policy_dir: Path | None = Field(
        default=None,
        description="Folder of jurisdiction and principle files (default: the shipped policies/)",
    )
    signing_key_path: Path = Field(
        default=Path("var/signing-key.pem"),
        description="The platform's Ed25519 key that signs productions (created on first use, mode 0600)",
    )
    alert_webhook_url: str | None = None
    alert_webhook_secret: SecretStr | None = None
    monitor_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    oncall_escalate_minutes: Annotated[int, Field(ge=1, le=240)] = 15
    oncall_fallback_email: str | None = Field(
        default=None,
        description="Where an e-mail page goes when nobody (or nobody left) is on call: a team address read "
        "around the clock (pages go by e-mail when TRUSTDESK_SMTP_HOST is set and no alert webhook is)",
    )
    production_link_days: Annotated[int, Field(ge=1, le=90)] = 14
    exposure_cap: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=40,
        description="Cases of the most harmful categories a reviewer is shown a day before the console "
        "stops offering them more (reviewer wellness)",
    )
    ncmec_base_url: str | None = Field(
        default=None,
        description="NCMEC's CyberTipline Reporting API (https://report.cybertip.org/ispws); unset: reports "
        "go to the local test double, which production refuses",
    )
    ncmec_username: str | None = None
    ncmec_password: SecretStr | None = None
    ncmec_reporter_email: str = Field(
        default="trust-and-safety@platform.example",
        description="The reporting person at the platform NCMEC writes to (reporter.reportingPerson.email)",
    )
    ncmec_reporter_name: str = "Trust and Safety"
    ncmec_contact_email: str | None = Field(
        default=None, description="Whom law enforcement contacts about a report (reporter.contactPerson)"
    )
    tdb_base_url: str | None = Field(
        default=None,
        description="The EU Transparency Database (https://transparency.dsa.ec.europa.eu, or its sandbox) "
        "that statements of reasons are submitted to (DSA Art. 24(5)); unset: submission is off",
    )
    tdb_token: SecretStr | None = None
    platform_name: str = Field(
        default="Reference platform", description="The service's name in reports to NCMEC (espService)"
    )
    cookie_secure: bool = Field(
        default=True,
        description="Session cookies only over HTTPS (browsers treat http://localhost as secure)",
    )
    deadline_overrides: dict[str, timedelta] = Field(
        default_factory=dict,
        description="Instrument code -> standard deadline, for instruments whose deadline the law "
        'leaves to the platform (\'without undue delay\'); e.g. {"EU_DSA_ART9": "PT24H"}',
    )

    bus: BusKind = Field(
        default=BusKind.MEMORY,
        description="memory: in-process (one machine, the scanner runs inside serve); nats: NATS JetStream",
    )
    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_-]*$",
        description="Prefix of the stream names (one NATS, many Trustdesks)",
    )
    index_dir: Path = Field(
        default=Path("var/index"),
        description="Folder of the memory-mapped PDQ index, shared by every process of the machine",
    )
    rules_paths: list[Path] = Field(
        default_factory=list,
        description="Text rule files or folders (default: the shipped starter rules)",
    )
    nats_stream_max_mib: Annotated[int | None, Field(ge=1)] = Field(
        default=None,
        description="Cap every stream at this size (JetStream reserves each stream's limit on its disk); "
        "default: the limits of the stream map (bus/streams.py)",
    )
    bus_max_deliver: Annotated[int, Field(ge=1, le=100)] = 5
    bus_ack_wait_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    bus_max_in_flight: Annotated[int, Field(ge=1, le=100_000)] = 256
    matcher_refresh_seconds: Annotated[float, Field(gt=0, le=60)] = 0.5
    max_media_bytes: Annotated[int, Field(ge=1024, le=256 * 1_048_576)] = 20 * 1_048_576

    # transparency reports (docs/transparency-reports.md)
    report_small_counts: SmallCountRule = Field(
        default=SmallCountRule.NONE,
        description="none: figures as counted; suppress: counts below the threshold shown as <threshold; "
        "band: every count shown as its band (0-249, 250-499, ... for a threshold of 250); applied to every "
        "file and the signed document alike",
    )
    report_small_count_threshold: Annotated[int, Field(ge=2, le=1_000_000)] = Field(
        default=30, description="The suppression threshold, or the band width (e.g. 250: bands 0-249, ...)"
    )
    report_amar: dict[str, int] = Field(
        default_factory=dict,
        description="Average monthly active recipients for 10_AMAR: TOTAL and/or Member State code -> "
        'number, e.g. {"TOTAL": 1200000, "FR": 310000}; never estimated by Trustdesk ('
        "`trustdesk report build --amar FILE` overrides it per report)",
    )

    # web login hardening
    totp_key_path: Path = Field(
        default=Path("var/totp-key"),
        description="The AES-256 key that encrypts TOTP secrets in the database (created on first use, "
        "mode 0600); keep it outside the database's backups",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Reverse proxies (IPs or CIDRs) whose X-Forwarded-For is believed: the client is the "
        'right-most address not in this list; e.g. ["10.0.0.0/8"]. Empty: the direct peer is the client',
    )

    # e-mail intake (issue 13, docs/mail-intake.md)
    mail_max_bytes: Annotated[int, Field(ge=1024, le=512 * 1_048_576)] = Field(
        default=25 * 1_048_576, description="The largest message accepted (SMTP SIZE); larger: 552"
    )
    imap_host: str | None = Field(default=None, description="The mailbox `trustdesk mail poll` reads")
    imap_port: Annotated[int, Field(ge=1, le=65535)] = 993
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_ssl: bool = Field(default=True, description="IMAP over TLS (IMAP4_SSL); false only on loopback")
    imap_poll_seconds: Annotated[float, Field(ge=5, le=3600)] = 60.0
    smtp_listen: str | None = Field(
        default=None,
        description="HOST:PORT where `trustdesk serve` runs the SMTP intake (behind the MX); unset: none",
    )
    # outgoing mail (acknowledgements, questions, answers pointing to the portal, e-mail pages)
    smtp_host: str | None = Field(
        default=None, description="The relay for outgoing mail; unset: mail stays queued in the outbox"
    )
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="STARTTLS (587), implicit TLS (465), or none (loopback only)"
    )
    mail_from: str = Field(
        default="Trustdesk legal desk <lawful@trustdesk.example>",
        description="The From: of the desk's mail; its domain names the Message-IDs",
    )
    channels_file: Path | None = Field(
        default=None,
        description="The channel directory (TOML): every address on which requests are accepted; unset: the "
        "packaged example (docs/channels.md)",
    )

    @field_validator("smtp_listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        host, sep, port = (value or "").rpartition(":")
        if value is not None and not (sep and host and port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:2525)")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        return value

    @model_validator(mode="after")
    def _platform_is_configured(self) -> Self:
        if self.platform is PlatformKind.MATRIX and not (self.matrix_base_url and self.matrix_admin_token):
            raise ValueError(
                "TRUSTDESK_PLATFORM=matrix needs TRUSTDESK_MATRIX_BASE_URL and TRUSTDESK_MATRIX_ADMIN_TOKEN"
            )
        return self

    @model_validator(mode="after")
    def _production_is_configured(self) -> Self:
        """Production is the default, so a first start without settings says at once all it needs, and how
        to try Trustdesk instead (``_no_demo_secrets_in_production`` below keeps each rule on its own)."""
        if self.environment is not Environment.PRODUCTION:
            return self
        missing = []
        secret = self.secret_key.get_secret_value()
        if secret == DEMO_SECRET or len(secret) < 32:
            missing.append("TRUSTDESK_SECRET_KEY (at least 32 random characters; not the demo secret)")
        ncmec = {
            "TRUSTDESK_NCMEC_BASE_URL": self.ncmec_base_url,
            "TRUSTDESK_NCMEC_USERNAME": self.ncmec_username,
            "TRUSTDESK_NCMEC_PASSWORD": self.ncmec_password,
        }
        if unset := [name for name, value in ncmec.items() if not value]:
            missing.append(
                f"{', '.join(unset)} (production reports child sexual abuse material to NCMEC, "
                "18 U.S.C. 2258A)"
            )
        if self.tdb_base_url and not self.tdb_token:
            missing.append(
                "TRUSTDESK_TDB_TOKEN (TRUSTDESK_TDB_BASE_URL turns on submitting statements of reasons to "
                "the EU Transparency Database, DSA Art. 24(5), which needs the platform's API token)"
            )
        if (self.smtp_listen or self.imap_host) and not self.smtp_host:
            missing.append(
                "TRUSTDESK_SMTP_HOST (the mail intake is on, and an agency's mail is acknowledged by e-mail "
                "at once: without a relay the acknowledgements would only wait in the outbox)"
            )
        if missing:
            raise ValueError(
                "Trustdesk runs in production unless TRUSTDESK_ENVIRONMENT says otherwise, and production "
                f"needs {'; '.join(missing)}. To try Trustdesk with its demo data instead: `make run` "
                "(it sets TRUSTDESK_ENVIRONMENT=development)"
            )
        return self

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> Self:
        if self.environment is Environment.PRODUCTION:
            if self.secret_key.get_secret_value() == DEMO_SECRET:
                raise ValueError("production refuses the demo secret: set TRUSTDESK_SECRET_KEY")
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("TRUSTDESK_SECRET_KEY must be at least 32 characters in production")
            if not (self.ncmec_base_url and self.ncmec_username and self.ncmec_password):
                raise ValueError(
                    "production reports child sexual abuse material to NCMEC (18 U.S.C. 2258A): set "
                    "TRUSTDESK_NCMEC_BASE_URL, TRUSTDESK_NCMEC_USERNAME and TRUSTDESK_NCMEC_PASSWORD"
                )
            if self.tdb_base_url and not self.tdb_token:
                raise ValueError(
                    "TRUSTDESK_TDB_BASE_URL submits statements of reasons to the EU Transparency Database: "
                    "set TRUSTDESK_TDB_TOKEN (the platform's API token) too"
                )
        return self

    @property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and len(self.database_url) > len(prefix):
            return Path(self.database_url.removeprefix(prefix))
        return None


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, failing fast with one readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"TRUSTDESK_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from exc


def public_url(settings: Settings) -> str:
    """Where the public pages are: ``public_url``, else the address served."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
