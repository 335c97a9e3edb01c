"""Composition root: settings -> engine, clock, catalogue, policy, bus, connector, signer, notifier.

Nothing connects at import time; every entry point calls ``build_container`` once.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit import service as audit
from trustdesk.bus.memory import InProcessBus
from trustdesk.bus.protocol import EventBus, Payload, Subject
from trustdesk.clock import Clock, system_clock
from trustdesk.config import BusKind, PlatformKind, Settings, SettingsError
from trustdesk.db import make_engine, make_session_factory, unit_of_work
from trustdesk.lawful.catalogue import Catalogue, CatalogueError
from trustdesk.lawful.catalogue_file import load_catalogue
from trustdesk.lawful.execution import ExecutionPolicy
from trustdesk.lawful.notifiers import Notifier, notifier_from_settings
from trustdesk.platform.protocol import PlatformConnector
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.policy.policy_files import load_policies
from trustdesk.policy.rules import PolicyError, PolicySet
from trustdesk.signing.ed25519 import load_or_create
from trustdesk.signing.protocol import Signer

if TYPE_CHECKING:
    from trustdesk.intake.arrivals import Arrivals
    from trustdesk.intake.channels import Directory
    from trustdesk.oncall.paging import Pager
    from trustdesk.safety.classifiers import Classifier
    from trustdesk.safety.cybertipline_clients import CyberTiplineClient
    from trustdesk.safety.events import ContentItem
    from trustdesk.safety.matcher import LiveMatcher
    from trustdesk.safety.ncmec import ReporterDetails
    from trustdesk.safety.rules import RuleSet
    from trustdesk.safety.scanner import Scanner
    from trustdesk.safety.tokens import TokenCache

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    catalogue: Catalogue
    policy: PolicySet
    bus: EventBus = field(default_factory=InProcessBus)

    @cached_property
    def connector(self) -> PlatformConnector:
        """The messaging platform, connected on first use."""
        s = self.settings
        if s.platform is PlatformKind.MATRIX and s.matrix_base_url and s.matrix_admin_token:
            from trustdesk.platform.matrix.connector import MatrixConnector

            secret = s.matrix_module_secret.get_secret_value() if s.matrix_module_secret else None
            return MatrixConnector(
                s.matrix_base_url,
                s.matrix_admin_token.get_secret_value(),
                clock=self.clock,
                server_name=s.matrix_server_name,
                module_secret=secret,
                state_dir=s.matrix_state_dir,
            )
        platform = ReferencePlatform(s.reference_platform_url, clock=self.clock)
        platform.create_schema()
        return platform

    @cached_property
    def signer(self) -> Signer:
        """The platform's signing key, created on first use."""
        return load_or_create(self.settings.signing_key_path)

    @cached_property
    def channels(self) -> "Directory":
        """The channel directory (``TRUSTDESK_CHANNELS_FILE``, else the packaged example): every address on
        which requests are accepted. A bad file is a ``SettingsError`` naming the file and the key."""
        from trustdesk.intake.channels import ChannelError, load_directory

        try:
            return load_directory(self.settings.channels_file)
        except ChannelError as exc:
            raise SettingsError(f"invalid channel directory: {exc}") from exc

    @cached_property
    def notifier(self) -> Notifier:
        secret = self.settings.alert_webhook_secret
        return notifier_from_settings(
            self.settings.alert_webhook_url, secret.get_secret_value() if secret else None
        )

    @cached_property
    def pager(self) -> "Pager":
        """Where the person on call is paged (``trustdesk.oncall.paging``): the alert webhook, or the log."""
        from trustdesk.oncall.paging import pager_from_settings

        return pager_from_settings(self.settings)

    @cached_property
    def arrivals(self) -> "Arrivals":
        """What happens to each e-mail and letter that arrives (``trustdesk.intake.arrivals``)."""
        from trustdesk.intake.arrivals import arrivals_for

        return arrivals_for(self)

    @cached_property
    def execution(self) -> ExecutionPolicy:
        return ExecutionPolicy(production_link_ttl=timedelta(days=self.settings.production_link_days))

    # ------------------------------------------------------------------ content safety

    @cached_property
    def matcher(self) -> "LiveMatcher":
        """The banks in memory (memory-mapped PDQ index), loaded on first use, refreshed as they change."""
        from trustdesk.safety.matcher import LiveMatcher

        return LiveMatcher(self.sessions, self.settings.index_dir, self.settings.matcher_refresh_seconds)

    @cached_property
    def rules(self) -> "RuleSet":
        from trustdesk.safety.rules import RuleFileError, load_rules

        try:
            return load_rules(self.settings.rules_paths or None)
        except RuleFileError as exc:
            raise SettingsError(f"invalid rule files: {exc}") from exc

    @cached_property
    def classifiers(self) -> "Sequence[Classifier]":
        from trustdesk.safety.classifiers import load_classifiers

        return load_classifiers()

    @cached_property
    def platform_tokens(self) -> "TokenCache":
        from trustdesk.safety.tokens import TokenCache

        return TokenCache(self.sessions)

    @cached_property
    def scanner(self) -> "Scanner":
        from trustdesk.safety.detectors import Detectors
        from trustdesk.safety.scanner import Scanner

        detectors = Detectors(self.matcher, self.rules, self.classifiers)
        return Scanner(detectors, self.sessions, self.clock, self.connector, self.bus)

    @cached_property
    def cybertipline(self) -> "CyberTiplineClient":
        """NCMEC's CyberTipline Reporting API when configured; else the local test double (development
        only: production refuses to start without NCMEC's credentials)."""
        from trustdesk.safety.cybertipline_clients import HttpCyberTiplineClient, InMemoryCyberTiplineClient

        s = self.settings
        if s.ncmec_base_url and s.ncmec_username and s.ncmec_password:
            return HttpCyberTiplineClient(
                base_url=s.ncmec_base_url,
                username=s.ncmec_username,
                password=s.ncmec_password.get_secret_value(),
            )
        return InMemoryCyberTiplineClient()

    @cached_property
    def ncmec_reporter(self) -> "ReporterDetails":
        from trustdesk.safety.ncmec import ReporterDetails

        s = self.settings
        return ReporterDetails(
            platform=s.platform_name,
            email=s.ncmec_reporter_email,
            name=s.ncmec_reporter_name,
            contact_email=s.ncmec_contact_email,
        )

    def warm_up(self) -> None:
        """Load the banks, the rules and the classifiers and compile the index's loops before taking work,
        so that a fresh process answers its first lookup as fast as its thousandth."""
        self.matcher.get().match_pdq(["0" * 64])
        _ = self.scanner

    def publish_content(self, item: "ContentItem") -> None:
        """Hand a content event to the scanner through the bus (at once, in-process)."""
        self.bus.publish(Subject.CONTENT_POSTED, item.to_payload(), msg_id=item.key)

    def banks_changed(self) -> None:
        """After a bank change committed: every matcher (this process's at once) catches up."""
        self.bus.publish(Subject.BANKS_CHANGED, {})


def on_request_received(container: Container) -> None:
    """What happens at once when a request arrives, after its acknowledgement committed."""
    from trustdesk.lawful import monitor
    from trustdesk.lawful.facts import legal_representative_country
    from trustdesk.lawful.holds import preserve_on_arrival
    from trustdesk.lawful.models import LawfulRequest
    from trustdesk.lawful.removals import open_scrutiny_window
    from trustdesk.oncall import paging

    def handle(_: str, payload: Payload) -> None:
        with unit_of_work(container.sessions) as session:
            emergency = session.get_one(LawfulRequest, payload["request_id"]).emergency
        try:
            with unit_of_work(container.sessions) as session:
                request = session.get_one(LawfulRequest, payload["request_id"])
                instrument = container.catalogue.get(request.instrument)
                # Emergencies, and every EPOC (Reg. 2023/1543 Art. 10(1)), are preserved on receipt.
                preserve_on_arrival(
                    session, container.clock, request, container.connector, container.execution, instrument
                )
                # A cross-border TCO removal order may be scrutinised within 48 hours of receipt (Art. 4).
                legal_country = legal_representative_country(container.policy, request.issuer_country)
                open_scrutiny_window(session, container.clock, request, instrument, legal_country)
        finally:
            # An emergency is alerted on arrival even when the platform failed its preservation (which the
            # bus then retries): the people on duty must know at once, and a failure is one more reason.
            if emergency:
                try:
                    # The person on call is paged in a unit of work of its own (once per request).
                    paging.page_on_arrival(container, payload["request_id"])
                finally:
                    monitor.tick(container.sessions, container.clock, container.notifier)

    # A queue group: on NATS one process of all (web or worker) acts on each arrival, not every one.
    container.bus.subscribe(Subject.REQUEST_RECEIVED, handle, group="lawful-arrival")


def on_content_posted(container: Container) -> None:
    """The one-machine setup: the scanner consumes content events inside the serving process."""
    from trustdesk.safety.events import ContentItem

    def scan(_: str, payload: Payload) -> None:
        container.scanner.scan([ContentItem.from_payload(payload)])

    container.bus.subscribe(Subject.CONTENT_POSTED, scan, group="scanner")


def on_banks_changed(container: Container) -> None:
    """Every process catches up with the banks at once when told they changed (polling is the backstop)."""

    def refresh(_: str, __: Payload) -> None:
        if "matcher" in container.__dict__:  # only a matcher this process uses
            container.matcher.refresh()

    container.bus.subscribe(Subject.BANKS_CHANGED, refresh)


def build_container(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    sessions: sessionmaker[Session] | None = None,
) -> Container:
    try:
        catalogue = load_catalogue(settings.deadline_overrides)
    except CatalogueError as exc:
        raise SettingsError(f"invalid settings: TRUSTDESK_DEADLINE_OVERRIDES: {exc}") from exc
    try:
        policy = load_policies(settings.policy_dir, catalogue)
    except PolicyError as exc:
        raise SettingsError(f"invalid policy files: {exc}") from exc
    engine = make_engine(settings.database_url)
    bus: EventBus = InProcessBus(max_deliver=settings.bus_max_deliver)
    if settings.bus is BusKind.NATS:
        from trustdesk.bus.jetstream import JetStreamBus
        from trustdesk.bus.streams import MIB, STREAMS, capped

        cap = settings.nats_stream_max_mib
        bus = JetStreamBus(
            settings.nats_url,
            prefix=settings.nats_stream_prefix,
            max_deliver=settings.bus_max_deliver,
            ack_wait=settings.bus_ack_wait_seconds,
            max_in_flight=settings.bus_max_in_flight,
            streams=STREAMS if cap is None else capped(STREAMS, cap * MIB),
        )
    container = Container(
        settings=settings,
        engine=engine,
        sessions=sessions or make_session_factory(engine),
        clock=clock,
        catalogue=catalogue,
        policy=policy,
        bus=bus,
    )
    try:
        _ = container.channels  # a bad channel directory stops every entry point at start
    except SettingsError:
        engine.dispose()
        raise
    audit.sign_with(container.sessions, lambda: container.signer)  # every audit event signed as recorded
    on_request_received(container)
    on_banks_changed(container)
    if settings.bus is BusKind.MEMORY:
        on_content_posted(container)
    return container
