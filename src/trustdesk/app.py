"""Composition root: settings -> engine, clock, catalogue, bus, connector; builds the web app and CLI parts.

Nothing connects at import time; every entry point calls ``build_container`` once.
"""

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.bus.memory import InProcessBus
from trustdesk.bus.protocol import EventBus
from trustdesk.clock import Clock, system_clock
from trustdesk.config import PlatformKind, Settings, SettingsError
from trustdesk.db import make_engine, make_session_factory
from trustdesk.lawful.catalogue import Catalogue, CatalogueError, load_catalogue
from trustdesk.platform.protocol import PlatformConnector
from trustdesk.platform.reference.connector import ReferencePlatform


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    catalogue: Catalogue
    bus: EventBus = field(default_factory=InProcessBus)

    @cached_property
    def connector(self) -> PlatformConnector:
        """The messaging platform, connected on first use."""
        if self.settings.platform is PlatformKind.REFERENCE:
            return ReferencePlatform(self.settings.reference_platform_url, clock=self.clock)
        raise NotImplementedError(self.settings.platform)  # pragma: no cover - the enum has one member


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
    engine = make_engine(settings.database_url)
    return Container(
        settings=settings,
        engine=engine,
        sessions=sessions or make_session_factory(engine),
        clock=clock,
        catalogue=catalogue,
    )
