"""What `trustdesk demo` (and so `make run`) publishes for the demo data: the transparency log's first
signed head, with every demo request's receipt in it, and the global reports of the current half-year
and quarter, so that `/transparency` has something true to show from the first minute."""

from dataclasses import dataclass

from sqlalchemy import select

from trustdesk.app import Container
from trustdesk.config import public_url
from trustdesk.db import unit_of_work
from trustdesk.transparency import reports
from trustdesk.transparency.metrics import parse_scope
from trustdesk.transparency.models import Report
from trustdesk.transparency.periods import Period, PeriodKind
from trustdesk.transparency.protection import Protection
from trustdesk.transparency.tlog.service import tick

__all__ = ["Published", "publish_demo"]


@dataclass(frozen=True)
class Published:
    tree_size: int
    reports: tuple[str, ...]
    """The labels of the reports published now (none when they were published before)."""
    page: str

    def as_dict(self) -> dict[str, object]:
        return {"tree_size": self.tree_size, "reports": list(self.reports), "page": self.page}

    def describe(self) -> str:
        published = ", ".join(self.reports) or "already published"
        return f"Transparency: log signed at {self.tree_size} leaves; reports {published}; {self.page}"


def publish_demo(c: Container) -> Published:
    """Sequence the log, then build and publish each report that has no published version yet."""
    now = c.clock()
    half = Period(now.year, PeriodKind.HALF_YEAR, 1 if now.month <= 6 else 2)
    quarter = Period(now.year, PeriodKind.QUARTER, (now.month - 1) // 3 + 1)
    scope = parse_scope("global")
    done: list[str] = []
    for period in (half, quarter):
        with unit_of_work(c.sessions) as session:
            published = session.scalar(
                select(Report.id).where(
                    Report.period == period.label,
                    Report.scope == scope.code,
                    Report.published_at.is_not(None),
                )
            )
            if published is not None:
                continue
        tick(c)  # the report includes the head that holds every receipt so far
        with unit_of_work(c.sessions) as session:
            reports.build(
                session, c.clock, c.signer, c.catalogue, period, scope, provider=c.settings.platform_name,
                protection=Protection.from_settings(c.settings), amar=c.settings.report_amar,
            )  # fmt: skip
            reports.publish(session, c.clock, period, scope)
        done.append(period.label)
    page = f"{public_url(c.settings)}/transparency"
    return Published(tick(c).tree_size, tuple(done), page)  # the last tick anchors the reports' audit events
