"""Logging test clients in to the portal and the console, as a person would (password + TOTP code)."""

import re
from datetime import timedelta
from pathlib import Path

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit.vocabulary import Actor
from trustdesk.auth.service import set_credentials
from trustdesk.auth.totp import TotpKey, key_at
from trustdesk.authorities import service as authorities
from trustdesk.clock import FrozenClock
from trustdesk.config import Settings
from trustdesk.db import unit_of_work
from trustdesk.staff import service as staff

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_last_steps: dict[str, int] = {}
"""The last TOTP step each secret logged in with: a code is accepted once, so the next login needs a newer
one (the secrets are random, so tests never share an entry)."""


def totp_key() -> TotpKey:
    """The key the test app encrypts TOTP secrets with: the default path, in the test's own folder."""
    default = Settings.model_fields["totp_key_path"].default
    assert isinstance(default, Path)
    return key_at(default)


def fresh_code(secret: str, clock: FrozenClock) -> str:
    """A code of ``secret`` the desk has not accepted yet: the current step's, else the next one's (the
    desk accepts one step of drift), else the clock moves on to a step that is new."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(clock.now)
    step = max(now, _last_steps.get(secret, now - 1) + 1)
    if step > now + 1:
        clock.advance(timedelta(seconds=totp.interval * (step - now - 1)))
    _last_steps[secret] = step
    return totp.generate_otp(step)


def give_officer_login(sessions: sessionmaker[Session], clock: FrozenClock, email: str) -> str:
    """Set a password and a TOTP secret for an existing officer; returns the secret."""
    secret = pyotp.random_base32()
    with unit_of_work(sessions) as session:
        officer = authorities.find_officer(session, email)
        assert officer is not None, email
        set_credentials(session, clock, Actor.operator(), officer, PASSWORD, secret, key=totp_key())
    return secret


def add_staff_login(sessions: sessionmaker[Session], clock: FrozenClock, email: str, *roles: str) -> str:
    """Create a staff user with these roles, a password and a TOTP secret; returns the secret."""
    secret = pyotp.random_base32()
    with unit_of_work(sessions) as session:
        user = staff.add_user(
            session, clock, Actor.operator(), email=email, roles=list(roles), password=PASSWORD
        )
        set_credentials(session, clock, Actor.operator(), user.user, PASSWORD, secret, key=totp_key())
    return secret


def log_in(client: TestClient, face: str, email: str, secret: str, clock: FrozenClock) -> str:
    """Log the client in (the session cookie stays in the client); returns the CSRF token of its pages."""
    code = fresh_code(secret, clock)
    response = client.post(
        f"/{face}/login", data={"email": email, "password": PASSWORD, "code": code}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    home = client.get(f"/{face}")
    assert home.status_code in (200, 403), home.text  # 403: logged in, but the home needs another role
    match = CSRF.search(home.text)
    assert match, "every logged-in page carries the CSRF token (in the log-out form at least)"
    return match.group(1)
