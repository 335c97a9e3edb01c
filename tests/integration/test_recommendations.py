"""The recommendation for every instrument, lawful and unlawful, from stored requests on both backends."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import officer_key
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk.app import Container
from trustdesk.clock import FrozenClock
from trustdesk.lawful.catalogue_file import load_catalogue
from trustdesk.lawful.models import LawfulRequest
from trustdesk.vocabulary import InstrumentCode, InstrumentKind, IssuerKind

CATALOGUE = load_catalogue()
BASIC = ["identification", "subscriber"]
ALL = ["content", "identification", "subscriber", "traffic"]
LAWFUL: dict[InstrumentCode, tuple[str, IssuerKind, list[str]]] = {
    InstrumentCode.EU_EPOC: ("FR", IssuerKind.INVESTIGATING_JUDGE, BASIC),
    InstrumentCode.EU_EPOC_PR: ("DE", IssuerKind.COURT, ALL),
    InstrumentCode.EU_TCO_REMOVAL: ("BE", IssuerKind.POLICE, []),
    InstrumentCode.EU_DSA_ART9: ("NL", IssuerKind.REGULATOR, []),
    InstrumentCode.EU_DSA_ART10: ("IT", IssuerKind.PROSECUTOR, BASIC),
    InstrumentCode.US_SUBPOENA: ("US", IssuerKind.PROSECUTOR, BASIC),
    InstrumentCode.US_2703D: ("US", IssuerKind.COURT, BASIC),
    InstrumentCode.US_WARRANT: ("US", IssuerKind.COURT, BASIC),
    InstrumentCode.US_PRESERVATION: ("US", IssuerKind.POLICE, ALL),
    InstrumentCode.US_EMERGENCY: ("US", IssuerKind.PROSECUTOR, BASIC),
    InstrumentCode.NATIONAL_COURT_ORDER: ("GB", IssuerKind.COURT, BASIC),
    InstrumentCode.IN_IT_RULES_3_1_J: ("IN", IssuerKind.COURT, BASIC),
}


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def body_for(code: InstrumentCode, world: World, **changes: Any) -> dict[str, Any]:
    """A complete request under ``code``: every field any instrument may require is filled in."""
    country, issuer, categories = LAWFUL[code]
    instrument = CATALOGUE.get(code)
    removal = instrument.kind is InstrumentKind.REMOVAL
    body: dict[str, Any] = {
        "instrument": code.value,
        "reference": f"REF-{code.value}",
        "issuing_authority": {"name": f"Authority of {country}", "kind": issuer.value, "country": country},
        "legal_basis": instrument.legal_basis,
        "statement_of_reasons": "The item is illegal under the cited provision.",
        "redress_information": "Appeal to the competent court within one month.",
        "offence": {"description": "Fraud", "max_penalty_years": 5},
        "targets": [{"type": "content_url", "value": world.message_locator}]
        if removal
        else [{"type": "phone", "value": SUSPECT_PHONE}],
        "data_categories": categories,
        "suspect_confirmed": True,
        "period": {"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
    }
    if "supervisor_contact" in instrument.required_fields | instrument.emergency_required_fields:
        body["supervisor_contact"] = {
            "name": "Sgt. Major",
            "email": "duty@agency.example",
            "phone": "+12025550100",
        }
    if "territorial_scope" in instrument.required_fields:
        body["territorial_scope"] = [country]
    if code is InstrumentCode.US_EMERGENCY:
        body |= {"emergency": True, "emergency_justification": "A hostage situation is ongoing."}
    return body | changes


def recommend(
    world: World,
    sessions: sessionmaker[Session],
    code: InstrumentCode,
    *,
    document: bool = True,
    agency_kind: IssuerKind | None = None,
    **changes: Any,
) -> dict[str, Any]:
    country, issuer, _ = LAWFUL[code]
    key = officer_key(
        sessions, world.clock, country=country, kind=agency_kind or issuer,
        domain=f"{country.lower()}.authority.example",
    )  # fmt: skip
    tracking = world.submit(body_for(code, world, **changes), key, document=document)
    recommendation: dict[str, Any] = world.view(tracking)["review"]["recommendation"]
    return recommendation


@pytest.mark.parametrize("code", list(InstrumentCode))
def test_a_lawful_request_is_recommended_for_compliance(
    world: World, sessions: sessionmaker[Session], code: InstrumentCode
) -> None:
    recommendation = recommend(world, sessions, code)
    assert recommendation["outcome"] == "comply", recommendation["rules_fired"]
    assert recommendation["allowed_categories"] == LAWFUL[code][2]
    assert recommendation["policy_version"] == world.container.policy.version
    assert all(rule["sentence"].endswith(".") for rule in recommendation["rules_fired"])


@pytest.mark.parametrize("code", list(InstrumentCode))
def test_an_issuer_of_the_wrong_kind_is_refused(
    world: World, sessions: sessionmaker[Session], code: InstrumentCode
) -> None:
    country = LAWFUL[code][0]
    recommendation = recommend(
        world, sessions, code, agency_kind=IssuerKind.OTHER,
        issuing_authority={"name": "A ministry", "kind": "other", "country": country},
    )  # fmt: skip
    assert recommendation["outcome"] == "refuse"
    rule = CATALOGUE.get(code).validation
    # e-Evidence Art. 4: a kind that may issue only with a validation lacks one; others are not competent
    needs_validation = rule is not None and IssuerKind.OTHER in rule.issuers
    expected = "validation_missing" if needs_validation else "issuer_not_competent"
    assert expected in recommendation["grounds"]
    assert recommendation["allowed_categories"] == []


@pytest.mark.parametrize("code", [InstrumentCode.EU_EPOC, InstrumentCode.US_WARRANT])
def test_a_claim_to_be_another_kind_of_authority_is_judged_on_the_verified_kind_and_flagged(
    world: World, sessions: sessionmaker[Session], code: InstrumentCode
) -> None:
    """A ministry (kind "other") that claims its order comes from a court is judged as a ministry."""
    country = LAWFUL[code][0]
    claim = {"name": "Tribunal judiciaire", "kind": "court", "country": country}
    recommendation = recommend(world, sessions, code, agency_kind=IssuerKind.OTHER, issuing_authority=claim)
    assert recommendation["outcome"] == "refuse"
    assert recommendation["allowed_categories"] == []
    with sessions() as session:
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.claimed_issuer_kind.is_not(None))
        ).one()
        assert (request.issuer_kind, request.claimed_issuer_kind) == (IssuerKind.OTHER, IssuerKind.COURT)
        assert "kind_claimed" in [r["code"] for r in request.risk_reasons or []]


@pytest.mark.parametrize(
    "code", [c for c in InstrumentCode if CATALOGUE.get(c).kind is not InstrumentKind.REMOVAL]
)
def test_a_target_the_platform_does_not_know_is_refused(
    world: World, sessions: sessionmaker[Session], code: InstrumentCode
) -> None:
    recommendation = recommend(world, sessions, code, targets=[{"type": "phone", "value": "+33600000001"}])
    assert recommendation["outcome"] == "refuse"
    assert "target_not_found" in recommendation["grounds"]


def test_a_category_the_instrument_cannot_compel_is_dropped(
    world: World, sessions: sessionmaker[Session]
) -> None:
    recommendation = recommend(
        world, sessions, InstrumentCode.US_SUBPOENA, data_categories=[*BASIC, "traffic"]
    )
    assert recommendation["outcome"] == "partial"
    assert recommendation["allowed_categories"] == BASIC
    assert "category_not_compellable" in recommendation["grounds"]


def test_an_offence_below_the_threshold_drops_traffic_data(
    world: World, sessions: sessionmaker[Session]
) -> None:
    recommendation = recommend(
        world,
        sessions,
        InstrumentCode.EU_EPOC,
        data_categories=[*BASIC, "traffic"],
        offence={"description": "Insult", "max_penalty_years": 1},
    )
    assert recommendation["outcome"] == "partial"
    assert recommendation["allowed_categories"] == BASIC
    assert "offence_threshold_not_met" in recommendation["grounds"]


def test_a_binding_warrant_for_content_is_a_principle_conflict_for_counsel_not_a_silent_refusal(
    world: World, sessions: sessionmaker[Session]
) -> None:
    """Issue 9 item 10: a US warrant (18 U.S.C. 2703(a)) lawfully compels content that the platform's
    principles never disclose: the recommendation escalates with its own ground and lists the conflict."""
    recommendation = recommend(
        world, sessions, InstrumentCode.US_WARRANT, data_categories=[*BASIC, "content"]
    )
    assert recommendation["outcome"] == "escalate"
    assert recommendation["allowed_categories"] == BASIC
    assert "principle_conflict" in recommendation["grounds"]
    assert [c["categories"] for c in recommendation["conflicts"]] == [["content"]]


def test_a_disclosure_without_a_confirmed_suspect_asks_for_clarification(
    world: World, sessions: sessionmaker[Session]
) -> None:
    recommendation = recommend(world, sessions, InstrumentCode.NATIONAL_COURT_ORDER, suspect_confirmed=False)
    assert recommendation["outcome"] == "clarify"
    assert "suspect_not_confirmed" in recommendation["grounds"]


def test_an_exited_jurisdiction_is_refused_whatever_it_asks(
    world: World, sessions: sessionmaker[Session]
) -> None:
    key = officer_key(
        sessions, world.clock, country="IR", kind=IssuerKind.COURT, domain="ir.authority.example"
    )
    body = body_for(
        InstrumentCode.NATIONAL_COURT_ORDER,
        world,
        issuing_authority={"name": "Tehran court", "kind": "court", "country": "IR"},
    )
    recommendation = world.view(world.submit(body, key))["review"]["recommendation"]
    assert recommendation["outcome"] == "refuse"
    assert recommendation["grounds"] == ["jurisdiction_exited"]


def test_a_missing_signed_order_asks_for_clarification(world: World, sessions: sessionmaker[Session]) -> None:
    recommendation = recommend(world, sessions, InstrumentCode.US_SUBPOENA, document=False)
    assert recommendation["outcome"] == "clarify"
    assert "missing_required_field" in recommendation["grounds"]
