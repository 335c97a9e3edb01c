"""The intake's arrivals for tests: the desk's replies to a fixed portal, the test's own addresses, and
paging through the container's pager (a test replaces ``container.pager`` with a recording double)."""

from trustdesk.app import Container
from trustdesk.intake import store, triage
from trustdesk.intake.arrivals import Arrivals
from trustdesk.oncall import paging

DESK = "lawful@trustdesk.example"
EMERGENCY_DESK = "emergency@trustdesk.example"


def replies() -> triage.Replies:
    return triage.Replies(
        mail_from="Trustdesk legal desk <lawful@trustdesk.example>",
        portal_url="https://desk.example",
        channels=(("Authority portal", "https://desk.example/portal"), ("E-mail", DESK)),
        own_addresses=frozenset({DESK, EMERGENCY_DESK}),
    )


def arrivals_for_test(container: Container) -> Arrivals:
    return Arrivals(
        catalogue=container.catalogue,
        replies=replies(),
        emergency_addresses=frozenset({EMERGENCY_DESK}),
        page=lambda message_id: paging.page_inbound_on_arrival(container, message_id),
        titles=store.catalogue_titles(container.catalogue),
    )
