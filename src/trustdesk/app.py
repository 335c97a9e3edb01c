"""Composition root: settings -> engine, clock, catalogue, policy, bus, connector, signer, notifier.

Nothing connects at import time; every entry point calls ``build_container`` once.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.bus.memory import InProcessBus
from trustdesk.bus.protocol import EventBus, Payload, Subject
from trustdesk.clock import Clock, system_clock
from trustdesk.config import PlatformKind, Settings, SettingsError
from trustdesk.db import make_engine, make_session_factory, unit_of_work
from trustdesk.lawful.catalogue import Catalogue, CatalogueError, load_catalogue
from trustdesk.lawful.execution import ExecutionPolicy
from trustdesk.lawful.notifiers import Notifier, notifier_from_settings
from trustdesk.platform.protocol import PlatformConnector
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.policy.rules import PolicyError, PolicySet, load_policies
from trustdesk.signing.ed25519 import load_or_create
from trustdesk.signing.protocol import Signer

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
    def notifier(self) -> Notifier:
        secret = self.settings.alert_webhook_secret
        return notifier_from_settings(
            self.settings.alert_webhook_url, secret.get_secret_value() if secret else None
        )

    @cached_property
    def execution(self) -> ExecutionPolicy:
        return ExecutionPolicy(production_link_ttl=timedelta(days=self.settings.production_link_days))


def on_request_received(container: Container) -> None:
    """What happens at once when a request arrives, after its acknowledgement committed."""
    from trustdesk.lawful import monitor
    from trustdesk.lawful.execution import preserve_on_arrival
    from trustdesk.lawful.models import LawfulRequest

    def handle(_: str, payload: Payload) -> None:
        with unit_of_work(container.sessions) as session:
            request = session.get_one(LawfulRequest, payload["request_id"])
            if not request.emergency:
                return
            preserve_on_arrival(session, container.clock, request, container.connector, container.execution)
        monitor.tick(container.sessions, container.clock, container.notifier)  # emergencies alert on arrival

    container.bus.subscribe(Subject.REQUEST_RECEIVED, handle)


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
    container = Container(
        settings=settings,
        engine=engine,
        sessions=sessions or make_session_factory(engine),
        clock=clock,
        catalogue=catalogue,
        policy=policy,
    )
    on_request_received(container)
    return container
