"""The console's agency pages: the list, adding an agency, verifying it, its production recipient, its
signing keys (RFC 9421) and its supervisors (called back on directory numbers)."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor, ActorKind
from trustdesk.authorities import keys
from trustdesk.authorities import service as authorities
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, InvalidInput
from trustdesk.staff.roles import Permission
from trustdesk.vocabulary import IssuerKind
from trustdesk.web.browser import ConsoleVisitor, Visitor, page
from trustdesk.web.console.common import (
    Csrf,
    Text,
    flash_for,
    frame,
    refused,
    too_long,
)
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)

# --- agencies -------------------------------------------------------------------------------------------


def agencies_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    *,
    flash: str | None = None,
    error: DomainError | None = None,
    target: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    with unit_of_work(container.sessions) as session:
        agencies = authorities.list_agencies(session)
        signing_keys: dict[str, list[Any]] = {a.id: [] for a in agencies}
        supervisors: dict[str, list[Any]] = {a.id: [] for a in agencies}
        for agency in agencies:
            signing_keys[agency.id] = keys.list_keys(session, agency.id)
            supervisors[agency.id] = keys.list_supervisors(session, agency.id)
        return page(
            request,
            "console/agencies.html",
            frame(
                visitor,
                "agencies",
                agencies=agencies,
                signing_keys=signing_keys,
                supervisors=supervisors,
                kinds=[kind.value for kind in IssuerKind],
                flash=flash,
                error=error,
                target=target,
                form=form or {},
            ),
            status_code=error.status if error else 200,
        )


def staff_actor(visitor: Visitor) -> Actor:
    return Actor(ActorKind.STAFF, visitor.principal.id)


def change_agency(
    request: Request,
    container: Container,
    visitor: Visitor,
    change: Callable[[Session], object],
    *,
    done: str,
    target: str,
    form: dict[str, Any] | None = None,
) -> Response:
    try:
        with unit_of_work(container.sessions) as session:
            change(session)
    except DomainError as exc:
        return agencies_page(request, container, visitor, error=exc, target=target, form=form)
    return RedirectResponse(f"/console/agencies?done={done}", status_code=303)


@router.get("/agencies")
def agencies(
    request: Request, container: ContainerDep, visitor: ConsoleVisitor, done: str | None = None
) -> HTMLResponse:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, post=False)) is not None:
        return stop
    return agencies_page(request, container, visitor, flash=DONE.get(done or "") or flash_for(done))


@router.post("/agencies")
def add_agency(
    request: Request,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    name: Text = "",
    country: Text = "",
    kind: Text = "",
    domains: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, csrf_token, post=True)) is not None:
        return stop
    names = [d for d in domains.replace(",", " ").split() if d]

    def change(session: Session) -> object:
        too_long(name, 200, "name")
        return authorities.create_agency(
            session,
            container.clock,
            staff_actor(visitor),
            name=name,
            country=country,
            kind=kind,
            domains=names,
        )

    form = {"name": name, "country": country, "kind": kind, "domains": domains}
    return change_agency(request, container, visitor, change, done="added", target="new", form=form)


@router.post("/agencies/{agency_id}/verify")
def verify_agency(
    request: Request,
    agency_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    verified: Text = "",
    number: Text = "",
    directory: Text = "",
    person_reached: Text = "",
    note: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, csrf_token, post=True)) is not None:
        return stop
    form = {"number": number, "directory": directory, "person_reached": person_reached, "note": note}

    def change(session: Session) -> object:
        actor = staff_actor(visitor)
        if verified == "false":
            return authorities.unverify_agency(session, container.clock, actor, agency_id, note)
        if verified != "true":
            raise InvalidInput("say whether the agency is verified (true or false)", field="verified")
        check = authorities.AgencyCheck(
            number=number, directory=directory, person_reached=person_reached, note=note
        )
        return authorities.verify_agency(session, container.clock, actor, agency_id, check)

    done = "verified" if verified == "true" else "unverified"
    return change_agency(request, container, visitor, change, done=done, target=agency_id, form=form)


@router.post("/agencies/{agency_id}/recipient")
def set_recipient(
    request: Request,
    agency_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    recipient: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, csrf_token, post=True)) is not None:
        return stop

    def change(session: Session) -> object:
        too_long(recipient, 100, "recipient")
        return authorities.set_recipient(session, container.clock, staff_actor(visitor), agency_id, recipient)

    return change_agency(
        request,
        container,
        visitor,
        change,
        done="recipient",
        target=agency_id,
        form={"recipient": recipient},
    )


# --- signing keys and supervisors: each change lapses the verification (the service audits it) ----------

DONE = {
    "key_added": "Signing key registered. The agency's verification lapsed: verify it again.",
    "key_revoked": "Signing key revoked: requests signed with it are refused. Verify the agency again.",
    "supervisor_added": "Supervisor added. The agency's verification lapsed: verify it again.",
    "supervisor_removed": "Supervisor removed. The agency's verification lapsed: verify it again.",
}


@router.post("/agencies/{agency_id}/keys")
def add_key(
    request: Request,
    agency_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    key_id: Text = "",
    public_key: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, csrf_token, post=True)) is not None:
        return stop

    def change(session: Session) -> object:
        too_long(key_id, 100, "key_id")
        too_long(public_key, 2000, "public_key")
        return keys.register_key(
            session, container.clock, staff_actor(visitor), agency_id, key_id, public_key
        )

    form = {"key_id": key_id, "public_key": public_key}
    return change_agency(
        request, container, visitor, change, done="key_added", target=f"keys-{agency_id}", form=form
    )


@router.post("/agencies/{agency_id}/keys/revoke")
def revoke_key(
    request: Request,
    agency_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    key_id: Text = "",
    reason: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, csrf_token, post=True)) is not None:
        return stop

    def change(session: Session) -> object:
        if not key_id.strip():
            raise InvalidInput("choose the key to revoke", field="key_id")
        too_long(reason, 500, "reason")
        if key_id.strip() not in {k.key_id for k in keys.list_keys(session, agency_id)}:
            raise InvalidInput(f"{key_id} is not a signing key of this agency", field="key_id")
        return keys.revoke_key(session, container.clock, staff_actor(visitor), key_id, reason)

    return change_agency(
        request, container, visitor, change, done="key_revoked", target=f"keys-{agency_id}",
        form={"reason": reason},
    )  # fmt: skip


@router.post("/agencies/{agency_id}/supervisors")
def add_supervisor(
    request: Request,
    agency_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    name: Text = "",
    title: Text = "",
    phone: Text = "",
    directory: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, csrf_token, post=True)) is not None:
        return stop

    def change(session: Session) -> object:
        return keys.add_supervisor(
            session, container.clock, staff_actor(visitor), agency_id,
            name=name, title=title, phone=phone, directory=directory,
        )  # fmt: skip

    form = {"name": name, "title": title, "phone": phone, "directory": directory}
    return change_agency(
        request, container, visitor, change, done="supervisor_added", target=f"supervisors-{agency_id}",
        form=form,
    )  # fmt: skip


@router.post("/agencies/{agency_id}/supervisors/remove")
def remove_supervisor(
    request: Request,
    agency_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    supervisor_id: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, csrf_token, post=True)) is not None:
        return stop

    def change(session: Session) -> object:
        if not supervisor_id.strip():
            raise InvalidInput("choose the supervisor to remove", field="supervisor_id")
        if supervisor_id.strip() not in {s.id for s in keys.list_supervisors(session, agency_id)}:
            raise InvalidInput("this is not a current supervisor of this agency", field="supervisor_id")
        return keys.remove_supervisor(session, container.clock, staff_actor(visitor), supervisor_id)

    return change_agency(
        request, container, visitor, change, done="supervisor_removed", target=f"supervisors-{agency_id}"
    )
