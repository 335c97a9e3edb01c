"""Logging test clients in to the portal and the console, as a person would (password + TOTP code)."""

import re

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit.vocabulary import Actor
from trustdesk.auth.service import set_credentials
from trustdesk.authorities import service as authorities
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.staff import service as staff

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def give_officer_login(sessions: sessionmaker[Session], clock: FrozenClock, email: str) -> str:
    """Set a password and a TOTP secret for an existing officer; returns the secret."""
    secret = pyotp.random_base32()
    with unit_of_work(sessions) as session:
        officer = authorities.find_officer(session, email)
        assert officer is not None, email
        set_credentials(session, clock, Actor.operator(), officer, PASSWORD, secret)
    return secret


def add_staff_login(sessions: sessionmaker[Session], clock: FrozenClock, email: str, *roles: str) -> str:
    """Create a staff user with these roles, a password and a TOTP secret; returns the secret."""
    secret = pyotp.random_base32()
    with unit_of_work(sessions) as session:
        user = staff.add_user(
            session, clock, Actor.operator(), email=email, roles=list(roles), password=PASSWORD
        )
        set_credentials(session, clock, Actor.operator(), user.user, PASSWORD, secret)
    return secret


def log_in(client: TestClient, face: str, email: str, secret: str, clock: FrozenClock) -> str:
    """Log the client in (the session cookie stays in the client); returns the CSRF token of its pages."""
    code = pyotp.TOTP(secret).at(clock.now)
    response = client.post(
        f"/{face}/login", data={"email": email, "password": PASSWORD, "code": code}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    home = client.get(f"/{face}")
    assert home.status_code in (200, 403), home.text  # 403: logged in, but the home needs another role
    match = CSRF.search(home.text)
    assert match, "every logged-in page carries the CSRF token (in the log-out form at least)"
    return match.group(1)
