"""FastAPI dependencies: the container and the authenticated caller."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trustdesk.app import Container
from trustdesk.authorities import service as authorities
from trustdesk.db import unit_of_work
from trustdesk.errors import Unauthenticated
from trustdesk.staff import service as staff
from trustdesk.staff.roles import Permission


async def get_container(request: Request) -> Container:  # async: no thread-pool hop per request
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
_bearer = HTTPBearer(auto_error=False, description="An officer's API key")


@dataclass(frozen=True)
class OfficerPrincipal:
    officer_id: str
    agency_id: str
    credential_id: str | None = None
    """The API key's id (a portal login has none)."""


def current_officer(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> OfficerPrincipal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send an officer's API key as 'Authorization: Bearer <key>'")
    with unit_of_work(container.sessions) as session:
        key = authorities.authenticate_key(session, credentials.credentials)
        return OfficerPrincipal(key.officer.id, key.officer.agency_id, key.id)


OfficerDep = Annotated[OfficerPrincipal, Depends(current_officer)]


@dataclass(frozen=True)
class StaffPrincipal:
    user_id: str


def staff_with(permission: Permission) -> Callable[..., StaffPrincipal]:
    """A dependency: the authenticated staff caller, refused unless their token may use ``permission``.

    What a token may do is its scope intersected with its user's roles at the time of the call: an
    unknown, revoked or expired token (or one of a deactivated user) gets 401; a permission the roles do
    not grant gets 403 ``permission_denied``, one outside the token's scope 403 ``token_scope``.
    """

    def dependency(
        container: ContainerDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> StaffPrincipal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthenticated("send a staff API token as 'Authorization: Bearer <token>'")
        with unit_of_work(container.sessions) as session:
            user = staff.authorise_token(session, container.clock, credentials.credentials, permission)
            return StaffPrincipal(user.id)

    return dependency
