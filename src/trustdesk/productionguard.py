"""What a long-running Trustdesk refuses to start with in production.

Settings are checked when they are read (``config.Settings``: no demo secret, NCMEC configured); this
module checks what only the database can tell: the demo data of `trustdesk demo`, whose accounts have
passwords, TOTP secrets and API keys anyone with the demo secret can derive, and that `demo` prints.
"""

from trustdesk.app import Container
from trustdesk.config import Environment
from trustdesk.db import unit_of_work
from trustdesk.errors import Forbidden


def demo_data_found(c: Container) -> list[str]:
    """The demo agencies, officers and staff users in the database (see ``demo.leftovers``)."""
    from trustdesk import demo

    with unit_of_work(c.sessions) as session:
        return demo.leftovers(session)


def ensure_fit_for_production(c: Container) -> None:
    """In production, refuse (`Forbidden`, naming every row) while any demo account exists."""
    if c.settings.environment is not Environment.PRODUCTION:
        return
    found = demo_data_found(c)
    if found:
        raise Forbidden(
            "production refuses to start while the database holds the demo data of `trustdesk demo`, "
            "whose credentials are published: remove "
            + ", ".join(found)
            + " (or start from a new database: trustdesk db upgrade, then add your own agencies, officers "
            "and staff)",
            code="demo_data_in_production",
        )
