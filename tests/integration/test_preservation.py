"""Preserved data is never released by a production alone (Reg. 2023/1543 Art. 11(1), Annex V), and every
EPOC is preserved on receipt (Art. 10(1)); on SQLite and PostgreSQL."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import bearer, epoc, tco
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import Actor
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.lawful import holds
from trustdesk.lawful.models import LawfulRequest
from trustdesk.platform.reference.store import holds as platform_holds
from trustdesk.vocabulary import DataCategory

ALL = ["subscriber", "identification", "traffic", "content"]


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def preservation(categories: list[str]) -> dict[str, Any]:
    """A non-emergency EPOC-PR from a French prosecutor."""
    return epoc(
        instrument="EU_EPOC_PR",
        emergency=False,
        emergency_justification=None,
        issuing_authority={"name": "Parquet de Paris", "kind": "prosecutor", "country": "FR"},
        targets=[{"type": "phone", "value": SUSPECT_PHONE}],
        data_categories=categories,
        period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
    )


def production(categories: list[str]) -> dict[str, Any]:
    """An EPOC from a French investigating judge (same agency, same target, same period)."""
    return epoc(
        emergency=False,
        emergency_justification=None,
        targets=[{"type": "phone", "value": SUSPECT_PHONE}],
        data_categories=categories,
        period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
        suspect_confirmed=True,
    )


def preserve(world: World, categories: list[str]) -> tuple[str, dict[str, Any]]:
    tracking = world.submit(preservation(categories))
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    (hold,) = world.act(world.reviewer, tracking, "execute")["review"]["holds"]
    assert sorted(hold["categories"]) == sorted(categories), hold
    return tracking, hold


def produce(world: World, tracking: str) -> dict[str, Any]:
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    status = world.view(tracking)["request"]["status"]
    if status == "awaiting_approval":
        world.act(world.approver, tracking, "approve")
    executed = world.act(world.reviewer, tracking, "execute")
    assert executed["review"]["production"] is not None
    return executed


def confirm(world: World, preserved: str, reference: str) -> list[dict[str, Any]]:
    response = world.client.post(
        f"/api/v1/requests/{preserved}/holds/confirm-production",
        json={"production_reference": reference},
        headers=bearer(world.fr_key),
    )
    assert response.status_code == 200, response.text
    confirmed: list[dict[str, Any]] = response.json()
    return confirmed


def hold_of(world: World, tracking: str) -> dict[str, Any]:
    response = world.client.get(f"/api/v1/requests/{tracking}/holds", headers=bearer(world.fr_key))
    assert response.status_code == 200, response.text
    (hold,) = response.json()
    result: dict[str, Any] = hold
    return result


def on_platform(world: World, hold_id: str) -> bool:
    with world.platform.engine.connect() as conn:
        found = conn.execute(select(platform_holds.c.hold_id).where(platform_holds.c.hold_id == hold_id))
        return found.first() is not None


def test_art_11_1_a_production_of_identification_keeps_the_preserved_traffic_and_content(
    world: World,
) -> None:
    preserved, hold = preserve(world, ALL)
    produced = world.submit(production(["identification"]))

    confirmed = confirm(world, preserved, produced)
    assert [h["production_reference"] for h in confirmed] == [produced]
    assert confirmed[0]["expires_at"] is None  # kept as long as needed to produce (Art. 11(1))

    produce(world, produced)

    kept = hold_of(world, preserved)
    assert kept["released_at"] is None
    assert kept["ended"] is None
    assert on_platform(world, hold["id"])


def test_annex_v_a_confirmed_production_delivered_in_full_ends_the_hold(world: World) -> None:
    preserved, hold = preserve(world, ["identification"])
    produced = world.submit(production(["identification"]))
    confirm(world, preserved, produced)

    produce(world, produced)

    ended = hold_of(world, preserved)
    assert ended["ended"] == "delivered"
    assert ended["released_at"] is not None
    assert not on_platform(world, hold["id"])


def test_art_11_1_a_production_without_a_confirmation_never_touches_the_hold(world: World) -> None:
    preserved, hold = preserve(world, ["identification"])
    produce(world, world.submit(production(["identification"])))

    assert hold_of(world, preserved)["released_at"] is None
    assert on_platform(world, hold["id"])


def test_the_issuing_authority_withdraws_the_preservation(
    world: World, sessions: sessionmaker[Session]
) -> None:
    preserved, hold = preserve(world, ALL)
    path = f"/api/v1/requests/{preserved}/holds/end"
    body = {"reason": "withdrawn", "note": "the investigation was closed"}

    assert world.client.post(path, json=body, headers=bearer(world.de_key)).status_code == 404
    response = world.client.post(path, json=body, headers=bearer(world.fr_key))
    assert response.status_code == 200, response.text
    assert [h["ended"] for h in response.json()] == ["withdrawn"]
    assert not on_platform(world, hold["id"])
    with sessions() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.action == "lawful:hold:release")).all()
    assert actions == ["lawful:hold:release"]


def test_the_authority_says_the_data_is_no_longer_needed(world: World) -> None:
    preserved, _ = preserve(world, ["identification"])
    response = world.client.post(
        f"/api/v1/requests/{preserved}/holds/end",
        json={"reason": "no_longer_needed"},
        headers=bearer(world.fr_key),
    )
    assert response.status_code == 200, response.text
    assert hold_of(world, preserved)["ended"] == "no_longer_needed"


def test_art_11_1_a_hold_lapses_after_60_days_and_one_extension_of_30(
    world: World, sessions: sessionmaker[Session]
) -> None:
    preserved, hold = preserve(world, ["identification"])
    path = f"/api/v1/requests/{preserved}/holds/extend"
    extended = world.client.post(path, headers=bearer(world.fr_key))
    assert extended.status_code == 200, extended.text
    assert extended.json()[0]["extensions"] == 1
    assert world.client.post(path, headers=bearer(world.fr_key)).status_code == 422  # only once

    world.clock.advance(timedelta(days=89))
    with unit_of_work(sessions) as s:
        assert holds.lapse_holds(s, world.clock, world.platform) == []
    world.clock.advance(timedelta(days=1))
    with unit_of_work(sessions) as s:
        assert holds.lapse_holds(s, world.clock, world.platform) == [hold["id"]]
    assert hold_of(world, preserved)["ended"] == "lapsed"


def test_a_production_for_another_agency_never_touches_the_hold(
    world: World, sessions: sessionmaker[Session]
) -> None:
    preserved, hold = preserve(world, ["identification"])
    other = world.submit(tco(targets=[{"type": "content_url", "value": world.message_locator}]), world.de_key)
    confirm(world, preserved, other)  # even naming another agency's tracking number
    with unit_of_work(sessions) as s:
        request = s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == other)).one()
        ended = holds.settle_holds_after_production(
            s,
            world.clock,
            Actor.system(),
            request,
            [world.suspect],
            [DataCategory.IDENTIFICATION],
            world.platform,
        )
    assert ended == []
    assert hold_of(world, preserved)["released_at"] is None
    assert on_platform(world, hold["id"])


def test_art_10_1_an_epoc_is_preserved_on_receipt_and_its_own_full_production_ends_that(
    world: World,
) -> None:
    tracking = world.submit(production(["subscriber", "identification"]))
    arrived = hold_of(world, tracking)
    assert arrived["reason"] == "on_receipt"
    assert on_platform(world, arrived["id"])

    produce(world, tracking)

    assert hold_of(world, tracking)["ended"] == "delivered"
