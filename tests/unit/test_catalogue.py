"""The instrument catalogue: the facts it must carry, and the files it must refuse."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.lawful.catalogue import (
    EU_MEMBER_STATES,
    Catalogue,
    CatalogueError,
    Instrument,
    PauseRule,
    RequestField,
    UnknownInstrument,
    UserNoticeRule,
)
from trustdesk.lawful.catalogue_file import load_catalogue
from trustdesk.legaltime import CalendarPeriod
from trustdesk.strictfile import parse_duration
from trustdesk.vocabulary import DataCategory, InstrumentCode, InstrumentKind, IssuerKind, TargetType

CATALOGUE = load_catalogue()
TOML_BYTES = resources.files("trustdesk.lawful").joinpath("instruments.toml").read_bytes()
ALL_CATEGORIES = frozenset(DataCategory)
ACCOUNT_TARGETS = frozenset({TargetType.PHONE, TargetType.USERNAME, TargetType.USER_ID})
CONFIGURABLE = [i.code for i in CATALOGUE if i.deadline.configurable]
FIXED = [i.code for i in CATALOGUE if not i.deadline.configurable]


def day(n: float) -> timedelta:
    return timedelta(days=n)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# --------------------------------------------------------------------------------- what it holds


def test_every_instrument_code_is_in_the_catalogue_once() -> None:
    assert len(CATALOGUE) == len(InstrumentCode)
    assert [i.code for i in CATALOGUE] == list(InstrumentCode)
    for code in InstrumentCode:
        assert CATALOGUE.get(code).code is code
        assert CATALOGUE.get(code.value) is CATALOGUE.get(code)
        assert code in CATALOGUE


def test_an_unknown_code_is_a_clear_key_error() -> None:
    with pytest.raises(UnknownInstrument, match=r"unknown instrument 'EU_EPOCH'.*EU_EPOC") as caught:
        CATALOGUE.get("EU_EPOCH")
    assert isinstance(caught.value, KeyError)
    assert "EU_EPOCH" not in CATALOGUE


@pytest.mark.parametrize("instrument", list(CATALOGUE), ids=lambda i: i.code)
def test_kind_decides_categories_targets_and_hold(instrument: Any) -> None:
    if instrument.kind is InstrumentKind.REMOVAL:
        assert instrument.categories == {}
        assert instrument.target_types == {TargetType.CONTENT_URL}
    else:
        assert len(instrument.categories) >= 1
        assert instrument.target_types <= ACCOUNT_TARGETS
        assert RequestField.DATA_CATEGORIES in instrument.required_fields
    assert (instrument.hold is not None) == (
        instrument.kind is InstrumentKind.PRESERVATION or instrument.code is InstrumentCode.EU_TCO_REMOVAL
    )
    assert RequestField.TARGETS in instrument.required_fields
    assert instrument.title.strip()
    assert instrument.legal_basis.strip()
    for rule in instrument.categories.values():
        assert rule.issuers <= instrument.issuers


def test_epoc_prosecutor_may_ask_subscriber_data_but_not_traffic_or_content() -> None:
    epoc = CATALOGUE.get(InstrumentCode.EU_EPOC)
    assert set(epoc.categories) == ALL_CATEGORIES
    for category in (DataCategory.SUBSCRIBER, DataCategory.IDENTIFICATION):
        rule = epoc.categories[category]
        assert rule.issuers == {IssuerKind.PROSECUTOR, IssuerKind.INVESTIGATING_JUDGE, IssuerKind.COURT}
        assert rule.min_penalty_years is None
    for category in (DataCategory.TRAFFIC, DataCategory.CONTENT):
        rule = epoc.categories[category]
        assert IssuerKind.PROSECUTOR not in rule.issuers
        assert rule.issuers == {IssuerKind.INVESTIGATING_JUDGE, IssuerKind.COURT}
        assert rule.min_penalty_years == 3
        assert rule.listed_offences == {
            "fraud_non_cash_payment",
            "child_sexual_abuse",
            "attacks_information_systems",
            "terrorism",
        }
    assert epoc.enforcing_notification == {DataCategory.TRAFFIC, DataCategory.CONTENT}
    assert {RequestField.OFFENCE, RequestField.OFFENCE_MAX_PENALTY_YEARS} <= epoc.required_fields
    assert epoc.emergency_required_fields == {RequestField.EMERGENCY_JUSTIFICATION}
    assert epoc.notice is UserNoticeRule.ISSUING_AUTHORITY_INFORMS


def test_us_tiers_are_nested() -> None:
    subpoena, order, warrant = (
        set(CATALOGUE.get(code).categories)
        for code in (InstrumentCode.US_SUBPOENA, InstrumentCode.US_2703D, InstrumentCode.US_WARRANT)
    )
    assert subpoena == {DataCategory.SUBSCRIBER, DataCategory.IDENTIFICATION}
    assert order == subpoena | {DataCategory.TRAFFIC}
    assert warrant == order | {DataCategory.CONTENT}
    assert subpoena < order < warrant


@pytest.mark.parametrize("code", [InstrumentCode.US_PRESERVATION, InstrumentCode.US_EMERGENCY])
def test_us_preservation_and_emergency_reach_every_category(code: InstrumentCode) -> None:
    assert set(CATALOGUE.get(code).categories) == ALL_CATEGORIES


def test_us_emergency_needs_a_justification_and_a_callback() -> None:
    emergency = CATALOGUE.get(InstrumentCode.US_EMERGENCY)
    assert {
        RequestField.EMERGENCY_JUSTIFICATION,
        RequestField.SUPERVISOR_CONTACT,
    } <= emergency.required_fields
    assert emergency.callback_verification
    assert emergency.voluntary
    assert emergency.supports_emergency


@pytest.mark.parametrize(
    ("code", "duration", "extension", "max_extensions"),
    [
        (InstrumentCode.EU_EPOC_PR, CalendarPeriod(0, day(60)), CalendarPeriod(0, day(30)), 1),
        (InstrumentCode.US_PRESERVATION, CalendarPeriod(0, day(90)), CalendarPeriod(0, day(90)), 1),
        (InstrumentCode.EU_TCO_REMOVAL, CalendarPeriod(6), None, 0),
    ],
)
def test_hold_rules_are_the_laws(
    code: InstrumentCode,
    duration: CalendarPeriod,
    extension: CalendarPeriod | None,
    max_extensions: int,
) -> None:
    """EPOC-PR Art. 11(1): 60 days + 30; 18 U.S.C. 2703(f)(2): 90 + 90; TCO Art. 6(2): six calendar months."""
    hold = CATALOGUE.get(code).hold
    assert hold is not None
    assert (hold.duration, hold.extension, hold.max_extensions) == (duration, extension, max_extensions)


def test_deadline_rules_are_the_laws() -> None:
    epoc = CATALOGUE.get(InstrumentCode.EU_EPOC).deadline
    assert (epoc.standard, epoc.emergency, epoc.configurable, epoc.as_ordered, epoc.pause) == (
        day(10),
        hours(8),
        False,
        False,
        PauseRule.SUSPEND,
    )
    tco = CATALOGUE.get(InstrumentCode.EU_TCO_REMOVAL).deadline
    assert (tco.standard, tco.emergency, tco.configurable, tco.pause) == (
        hours(1),
        None,
        False,
        PauseRule.RESTART,
    )
    preservation = CATALOGUE.get(InstrumentCode.EU_EPOC_PR).deadline
    assert preservation.configurable
    assert preservation.pause is PauseRule.SUSPEND
    assert preservation.emergency is not None
    assert preservation.emergency < preservation.standard
    for code in (InstrumentCode.US_SUBPOENA, InstrumentCode.US_2703D, InstrumentCode.US_WARRANT):
        rule = CATALOGUE.get(code).deadline
        assert (rule.standard, rule.configurable, rule.as_ordered) == (day(14), True, True)
    court = CATALOGUE.get(InstrumentCode.NATIONAL_COURT_ORDER)
    assert (court.deadline.standard, court.deadline.configurable, court.deadline.as_ordered) == (
        day(14),
        True,
        True,
    )
    assert court.notice is UserNoticeRule.PER_ORDER
    for code in (InstrumentCode.EU_DSA_ART9, InstrumentCode.EU_DSA_ART10, InstrumentCode.US_PRESERVATION):
        assert CATALOGUE.get(code).deadline.configurable


@pytest.mark.parametrize("instrument", list(CATALOGUE), ids=lambda i: i.code)
def test_emergency_track_is_never_slower(instrument: Any) -> None:
    rule = instrument.deadline
    assert instrument.supports_emergency == (rule.emergency is not None)
    if rule.emergency is not None:
        assert rule.emergency <= rule.standard


def test_user_notice_rules() -> None:
    expected = {
        InstrumentCode.EU_EPOC: UserNoticeRule.ISSUING_AUTHORITY_INFORMS,
        InstrumentCode.EU_EPOC_PR: UserNoticeRule.ISSUING_AUTHORITY_INFORMS,
        InstrumentCode.EU_TCO_REMOVAL: UserNoticeRule.INFORM_CONTENT_PROVIDER_UNLESS_CONFIDENTIAL,
        InstrumentCode.EU_DSA_ART9: UserNoticeRule.INFORM_CONTENT_PROVIDER_UNLESS_CONFIDENTIAL,
        InstrumentCode.US_SUBPOENA: UserNoticeRule.BEFORE_DISCLOSURE_UNLESS_BARRED,
        InstrumentCode.US_EMERGENCY: UserNoticeRule.AFTER_DISCLOSURE_UNLESS_BARRED,
        InstrumentCode.US_PRESERVATION: UserNoticeRule.NONE_REQUIRED,
        InstrumentCode.NATIONAL_COURT_ORDER: UserNoticeRule.PER_ORDER,
    }
    assert {code: CATALOGUE.get(code).notice for code in expected} == expected
    for rule in UserNoticeRule:
        assert rule.__doc__  # every value is documented in the source next to it
    assert len({rule.value for rule in UserNoticeRule}) == len(UserNoticeRule)


# ------------------------------------------------------------------------------------ applies_in


def test_epoc_applies_from_18_august_2026() -> None:
    epoc = CATALOGUE.get(InstrumentCode.EU_EPOC)
    assert epoc.applies_from == date(2026, 8, 18)
    assert not epoc.applies_in("DE", datetime(2026, 8, 17, 23, 59, 59, tzinfo=UTC))
    assert not epoc.applies_in("DE", datetime(2026, 8, 17, 12, tzinfo=UTC))
    assert epoc.applies_in("DE", datetime(2026, 8, 18, tzinfo=UTC))
    assert epoc.applies_in("DE", datetime(2030, 1, 1, tzinfo=UTC))
    # The UTC date decides: 01:00 on the 18th in Berlin is still the 17th in UTC.
    assert not epoc.applies_in("DE", datetime(2026, 8, 18, 1, tzinfo=timezone(hours(2))))


def test_jurisdictions() -> None:
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    epoc = CATALOGUE.get(InstrumentCode.EU_EPOC)
    tco = CATALOGUE.get(InstrumentCode.EU_TCO_REMOVAL)
    court = CATALOGUE.get(InstrumentCode.NATIONAL_COURT_ORDER)
    subpoena = CATALOGUE.get(InstrumentCode.US_SUBPOENA)
    assert not epoc.applies_in("US", at)
    assert epoc.applies_in("FR", at)
    assert epoc.applies_in("fr", at)
    assert not epoc.applies_in("DK", at)  # Denmark is not bound by the e-Evidence Regulation
    assert tco.applies_in("DE", at)
    assert tco.applies_in("DK", at)
    assert tco.jurisdictions == EU_MEMBER_STATES
    assert not tco.applies_in("GB", at)
    assert subpoena.applies_in("US", at)
    assert not subpoena.applies_in("DE", at)
    assert court.any_jurisdiction
    assert court.jurisdictions == frozenset()
    assert court.applies_in("BR", at)
    assert court.applies_in("US", datetime(1990, 1, 1, tzinfo=UTC))


def test_applies_in_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        CATALOGUE.get(InstrumentCode.EU_EPOC).applies_in("DE", datetime(2026, 9, 1))  # noqa: DTZ001


def test_eu_member_states() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert {"DE", "FR", "GR", "IE", "DK", "HR"} <= EU_MEMBER_STATES
    assert not {"EL", "GB", "UK", "CH", "NO", "US"} & EU_MEMBER_STATES
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in EU_MEMBER_STATES)


# --------------------------------------------------------------------------------- immutability


def test_instruments_are_frozen_and_hashable() -> None:
    epoc = CATALOGUE.get(InstrumentCode.EU_EPOC)
    with pytest.raises(dataclasses.FrozenInstanceError):
        epoc.title = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        epoc.categories[DataCategory.CONTENT] = epoc.categories[DataCategory.SUBSCRIBER]  # type: ignore[index]
    assert len({hash(i) for i in CATALOGUE}) == len(CATALOGUE)
    assert load_catalogue().get(InstrumentCode.EU_EPOC) == epoc


# ------------------------------------------------------------------------------------ versioning


def test_version_is_the_sha256_of_the_file() -> None:
    assert CATALOGUE.version == hashlib.sha256(TOML_BYTES).hexdigest()
    assert load_catalogue().version == CATALOGUE.version
    assert load_catalogue({InstrumentCode.US_SUBPOENA: day(7)}).version == CATALOGUE.version


def test_version_changes_with_the_content(tmp_path: Path) -> None:
    same = tmp_path / "same.toml"
    same.write_bytes(TOML_BYTES)
    changed = tmp_path / "changed.toml"
    changed.write_bytes(TOML_BYTES + b"\n# a comment is a change too\n")
    assert load_catalogue(path=same).version == CATALOGUE.version
    assert load_catalogue(path=changed).version != CATALOGUE.version
    assert load_catalogue(path=changed).version == hashlib.sha256(changed.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------- overrides


@pytest.mark.parametrize("code", CONFIGURABLE)
def test_overrides_are_accepted_for_configurable_deadlines(code: InstrumentCode) -> None:
    catalogue = load_catalogue({code.value: hours(3)})
    assert catalogue.get(code).deadline.standard == hours(3)
    assert catalogue.overrides == {code: hours(3)}
    untouched = [i for i in catalogue if i.code is not code]
    assert untouched == [i for i in CATALOGUE if i.code is not code]


@pytest.mark.parametrize("code", FIXED)
def test_overrides_are_refused_where_the_law_fixes_the_deadline(code: InstrumentCode) -> None:
    with pytest.raises(CatalogueError, match="the law fixes this deadline") as caught:
        load_catalogue({code: hours(48)})
    assert code in str(caught.value)
    assert caught.value.instrument == code


def test_fixed_deadlines_include_epoc_and_tco() -> None:
    assert set(FIXED) == {
        InstrumentCode.EU_EPOC,
        InstrumentCode.EU_TCO_REMOVAL,
        InstrumentCode.IN_IT_RULES_3_1_J,
    }


@pytest.mark.parametrize("bad", [timedelta(0), -hours(1)])
def test_overrides_must_be_positive(bad: timedelta) -> None:
    with pytest.raises(CatalogueError, match=r"US_SUBPOENA.*positive"):
        load_catalogue({"US_SUBPOENA": bad})


def test_overrides_must_name_a_known_instrument() -> None:
    with pytest.raises(CatalogueError, match="unknown instrument 'US_NSL'"):
        load_catalogue({"US_NSL": day(1)})


def test_a_shorter_target_shortens_the_emergency_target_too() -> None:
    catalogue = load_catalogue({InstrumentCode.EU_EPOC_PR: hours(2)})
    rule = catalogue.get(InstrumentCode.EU_EPOC_PR).deadline
    assert (rule.standard, rule.emergency) == (hours(2), hours(2))


@settings(deadline=None, max_examples=50)
@given(
    code=st.sampled_from(CONFIGURABLE),
    standard=st.timedeltas(min_value=timedelta(seconds=1), max_value=day(90)),
)
def test_any_positive_override_keeps_the_rules_consistent(code: InstrumentCode, standard: timedelta) -> None:
    rule = load_catalogue({code: standard}).get(code).deadline
    assert rule.standard == standard
    assert rule.emergency is None or rule.emergency <= rule.standard


# ------------------------------------------------------------------------------- malformed files


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def dump_toml(document: dict[str, Any]) -> str:
    """Just enough of a TOML writer for the catalogue's shape (tables, strings, lists, dates)."""
    lines: list[str] = []

    def table(prefix: str, content: dict[str, Any]) -> None:
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{key} = {_toml_value(v)}" for key, v in content.items() if not isinstance(v, dict))
        for key, value in content.items():
            if isinstance(value, dict):
                table(f"{prefix}.{key}" if prefix else key, value)

    table("", document)
    return "\n".join(lines) + "\n"


def _write(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> Path:
    document = tomllib.loads(TOML_BYTES.decode())
    mutate(document)
    path = tmp_path / "instruments.toml"
    path.write_text(dump_toml(document), encoding="utf-8")
    return path


def test_the_test_writer_round_trips(tmp_path: Path) -> None:
    catalogue = load_catalogue(path=_write(tmp_path, lambda doc: None))
    assert list(catalogue) == list(CATALOGUE)


def _ins(doc: dict[str, Any], code: str) -> dict[str, Any]:
    instrument: dict[str, Any] = doc["instruments"][code]
    return instrument


def _set(code: str, path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        table = _ins(doc, code)
        for parent in parents:
            table = table[parent]
        table[leaf] = value

    return mutate


def _delete(code: str, path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        table = _ins(doc, code)
        for parent in parents:
            table = table[parent]
        del table[leaf]

    return mutate


def _rename_instrument(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc["instruments"][new] = doc["instruments"].pop(old)

    return mutate


MALFORMED = [
    # (id, mutation, instrument named, key named, words in the message)
    ("bad kind", _set("EU_EPOC", "kind", "disclosure"), "EU_EPOC", "kind", "unknown InstrumentKind"),
    (
        "unknown category",
        _set("US_WARRANT", "categories.metadata", {"issuers": ["court"]}),
        "US_WARRANT",
        "categories.metadata",
        "unknown DataCategory",
    ),
    ("missing deadline", _delete("EU_TCO_REMOVAL", "deadline"), "EU_TCO_REMOVAL", "deadline", "missing"),
    (
        "missing standard",
        _delete("US_2703D", "deadline.standard"),
        "US_2703D",
        "deadline.standard",
        "missing",
    ),
    (
        "duration in words",
        _set("EU_EPOC", "deadline.standard", "10 days"),
        "EU_EPOC",
        "deadline.standard",
        "not a duration",
    ),
    (
        "deadline in months",
        _set("EU_EPOC", "deadline.standard", "P2M"),
        "EU_EPOC",
        "deadline.standard",
        "not a duration",
    ),
    (
        "hold period in words",
        _set("EU_EPOC_PR", "hold.duration", "two months"),
        "EU_EPOC_PR",
        "hold.duration",
        "not a period",
    ),
    (
        "duration as a number",
        _set("EU_EPOC", "deadline.standard", 10),
        "EU_EPOC",
        "deadline.standard",
        "must be a duration",
    ),
    (
        "emergency slower than standard",
        _set("EU_EPOC", "deadline.emergency", "P11D"),
        "EU_EPOC",
        "deadline",
        "longer than standard",
    ),
    ("typo in a key", _set("US_SUBPOENA", "notise", "per_order"), "US_SUBPOENA", "notise", "unknown key"),
    (
        "typo in a nested key",
        _set("EU_EPOC", "deadline.pauses", "suspend"),
        "EU_EPOC",
        "deadline.pauses",
        "unknown key",
    ),
    (
        "unknown pause rule",
        _set("EU_EPOC", "deadline.pause", "freeze"),
        "EU_EPOC",
        "deadline.pause",
        "unknown PauseRule",
    ),
    (
        "flag as a string",
        _set("EU_EPOC", "deadline.configurable", "no"),
        "EU_EPOC",
        "deadline.configurable",
        "true or false",
    ),
    (
        "unknown issuer",
        _set("EU_EPOC", "categories.content.issuers", ["judge"]),
        "EU_EPOC",
        "categories.content.issuers",
        "unknown IssuerKind",
    ),
    (
        "category issuer who may not issue the instrument",
        _set("US_WARRANT", "categories.content.issuers", ["court", "police"]),
        "US_WARRANT",
        "categories.content.issuers",
        "may not issue",
    ),
    (
        "threshold of zero years",
        _set("EU_EPOC", "categories.traffic.min_penalty_years", 0),
        "EU_EPOC",
        "categories.traffic.min_penalty_years",
        "at least 1",
    ),
    (
        "threshold as a flag",
        _set("EU_EPOC", "categories.traffic.min_penalty_years", True),
        "EU_EPOC",
        "categories.traffic.min_penalty_years",
        "an integer",
    ),
    (
        "listed offences without a threshold",
        _delete("EU_EPOC", "categories.content.min_penalty_years"),
        "EU_EPOC",
        "categories.content.listed_offences",
        "threshold",
    ),
    (
        "removal order that compels data",
        _set("EU_TCO_REMOVAL", "categories", {"content": {"issuers": ["court"]}}),
        "EU_TCO_REMOVAL",
        "categories",
        "compels no data",
    ),
    (
        "production order without categories",
        _delete("US_SUBPOENA", "categories"),
        "US_SUBPOENA",
        "categories",
        "needs a category",
    ),
    (
        "removal of an account",
        _set("EU_DSA_ART9", "target_types", ["content_url", "user_id"]),
        "EU_DSA_ART9",
        "target_types",
        "cannot be the target",
    ),
    (
        "preservation without a hold",
        _delete("US_PRESERVATION", "hold"),
        "US_PRESERVATION",
        "hold",
        "needs a hold rule",
    ),
    (
        "extensions without an extension length",
        _delete("EU_EPOC_PR", "hold.extension"),
        "EU_EPOC_PR",
        "hold.extension",
        "missing",
    ),
    (
        "negative extensions",
        _set("EU_EPOC_PR", "hold.max_extensions", -1),
        "EU_EPOC_PR",
        "hold.max_extensions",
        "at least 0",
    ),
    (
        "an issuer listed twice",
        _set("US_WARRANT", "issuers", ["court", "court"]),
        "US_WARRANT",
        "issuers",
        "lists 'court' twice",
    ),
    (
        "a table where a list is needed",
        _set("US_WARRANT", "target_types", {"phone": True}),
        "US_WARRANT",
        "target_types",
        "must be a list",
    ),
    (
        "a hold period in days where calendar months are allowed",
        _set("EU_TCO_REMOVAL", "hold.duration", 183),
        "EU_TCO_REMOVAL",
        "hold.duration",
        "must be a period like 'P6M'",
    ),
    (
        "unknown request field",
        _set("EU_EPOC", "required_fields", ["targets", "data_categories", "offense"]),
        "EU_EPOC",
        "required_fields",
        "unknown RequestField",
    ),
    (
        "threshold without the penalty field",
        _set("EU_EPOC", "required_fields", ["targets", "data_categories", "offence"]),
        "EU_EPOC",
        "required_fields",
        "offence.max_penalty_years",
    ),
    (
        "emergency fields without an emergency track",
        _set("US_SUBPOENA", "emergency_required_fields", ["emergency_justification"]),
        "US_SUBPOENA",
        "emergency_required_fields",
        "no emergency track",
    ),
    (
        "unknown jurisdiction",
        _set("EU_TCO_REMOVAL", "jurisdictions", ["Europe"]),
        "EU_TCO_REMOVAL",
        "jurisdictions",
        "ISO 3166-1",
    ),
    (
        "any jurisdiction among others",
        _set("NATIONAL_COURT_ORDER", "jurisdictions", ["*", "US"]),
        "NATIONAL_COURT_ORDER",
        "jurisdictions",
        "alone",
    ),
    (
        "excluding a country that is not included",
        _set("EU_EPOC", "jurisdictions_except", ["US"]),
        "EU_EPOC",
        "jurisdictions_except",
        "not among",
    ),
    (
        "applies_from with a time",
        _set("EU_EPOC", "applies_from", datetime(2026, 8, 18, tzinfo=UTC)),
        "EU_EPOC",
        "applies_from",
        "without a time",
    ),
    (
        "applies_from as text",
        _set("EU_EPOC", "applies_from", "2026-08-18"),
        "EU_EPOC",
        "applies_from",
        "a date",
    ),
    ("empty title", _set("US_WARRANT", "title", "  "), "US_WARRANT", "title", "empty"),
    (
        "enforcing notification for a category not compelled",
        _set("US_SUBPOENA", "enforcing_notification", ["content"]),
        "US_SUBPOENA",
        "enforcing_notification",
        "not compelled",
    ),
    (
        "validator that cannot issue",
        _set("EU_EPOC", "validation.validators", ["prosecutor", "regulator"]),
        "EU_EPOC",
        "validation.validators",
        "cannot both need and give",
    ),
    (
        "validation without an emergency period",
        _delete("EU_EPOC", "validation.emergency_after"),
        "EU_EPOC",
        "validation.emergency_after",
        "missing",
    ),
    (
        "information-system offence not listed",
        _set("EU_EPOC", "information_system_offences", ["drug_trafficking"]),
        "EU_EPOC",
        "information_system_offences",
        "not a listed offence",
    ),
    (
        "sentence threshold of zero months",
        _set("EU_EPOC", "sentence_execution_min_months", 0),
        "EU_EPOC",
        "sentence_execution_min_months",
        "at least 1",
    ),
    (
        "objection window without an emergency track",
        _set("US_SUBPOENA", "objection_window", "PT96H"),
        "US_SUBPOENA",
        "objection_window",
        "emergency",
    ),
    (
        "preserve on receipt of a removal",
        _set("EU_DSA_ART9", "preserve_on_receipt", True),
        "EU_DSA_ART9",
        "preserve_on_receipt",
        "nothing to preserve",
    ),
    (
        "confidentiality on a production order",
        _set("US_WARRANT", "confidentiality", {"max": "P6W", "extension": "P6W", "max_extensions": 1}),
        "US_WARRANT",
        "confidentiality",
        "removal orders only",
    ),
    (
        "scrutiny with an unknown key",
        _set("EU_TCO_REMOVAL", "cross_border_scrutiny.request_after", "PT48H"),
        "EU_TCO_REMOVAL",
        "cross_border_scrutiny.request_after",
        "unknown key",
    ),
    (
        "territorial scope required where refused",
        _set(
            "EU_TCO_REMOVAL",
            "required_fields",
            ["issuing_authority", "legal_basis", "statement_of_reasons", "targets", "territorial_scope"],
        ),
        "EU_TCO_REMOVAL",
        "required_fields",
        "territorial_scope",
    ),
    (
        "hold extension without extensions",
        _set("EU_TCO_REMOVAL", "hold.extension", "P1M"),
        "EU_TCO_REMOVAL",
        "hold",
        "needs max_extensions",
    ),
    ("unknown instrument", _rename_instrument("US_WARRANT", "US_NSL"), "US_NSL", None, "unknown instrument"),
    (
        "missing instrument",
        lambda doc: doc["instruments"].pop("US_EMERGENCY"),
        "US_EMERGENCY",
        None,
        "missing",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "instrument", "key", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in MALFORMED],
)
def test_a_malformed_catalogue_is_refused_naming_instrument_and_key(
    tmp_path: Path,
    mutate: Callable[[dict[str, Any]], None],
    instrument: str,
    key: str | None,
    words: str,
) -> None:
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path=_write(tmp_path, mutate))
    message = str(caught.value)
    assert f"instrument {instrument}" in message
    assert words in message
    assert caught.value.instrument == instrument
    if key is not None:
        assert f"key {key!r}" in message
        assert caught.value.key == key


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("schema_version = 2\n", "schema_version must be 1"),
        ("schema_version = 1\n[instruments\n", "not valid TOML"),
        ("schema_version = 1\ninstruments = 3\n", "[instruments.<CODE>]"),
        ("schema_version = 1\nextra = 1\n[instruments]\n", "unknown top-level key 'extra'"),
    ],
)
def test_a_malformed_file_is_refused(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path=path)
    assert words in str(caught.value)


def test_a_missing_file_is_a_catalogue_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot be read"):
        load_catalogue(path=tmp_path / "absent.toml")


def test_catalogue_needs_every_instrument() -> None:
    with pytest.raises(CatalogueError, match="missing from the catalogue"):
        Catalogue([i for i in CATALOGUE if i.code is not InstrumentCode.EU_EPOC], "v")
    with pytest.raises(CatalogueError, match="listed twice"):
        Catalogue([*CATALOGUE, CATALOGUE.get(InstrumentCode.EU_EPOC)], "v")


# -------------------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P10D", day(10)),
        ("PT8H", hours(8)),
        ("PT1H", hours(1)),
        ("P2W", day(14)),
        ("P1DT12H30M15S", timedelta(days=1, hours=12, minutes=30, seconds=15)),
        ("PT90M", timedelta(minutes=90)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "10 days", "P1M", "P1Y", "p10d", "P-1D", "PT1.5H"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


# --- the law as it is (issue 9) -----------------------------------------------------------------------

EPOC_ = CATALOGUE.get(InstrumentCode.EU_EPOC)
EPOC_PR_ = CATALOGUE.get(InstrumentCode.EU_EPOC_PR)
TCO_ = CATALOGUE.get(InstrumentCode.EU_TCO_REMOVAL)
JUDICIAL = {IssuerKind.PROSECUTOR, IssuerKind.INVESTIGATING_JUDGE, IssuerKind.COURT}


def test_epoc_pr_prosecutor_may_preserve_every_category_art_4_3() -> None:
    """e-Evidence Art. 4(3), 6(3): every category, from a judge, court or prosecutor, for any offence."""
    assert set(EPOC_PR_.categories) == ALL_CATEGORIES
    for rule in EPOC_PR_.categories.values():
        assert rule.issuers == JUDICIAL
        assert rule.min_penalty_years is None
        assert not rule.listed_offences


def test_epoc_pr_hold_lasts_until_production_once_confirmed_art_11_1() -> None:
    """e-Evidence Art. 11(1): after a confirmed production request (Annex V), kept as long as needed."""
    assert EPOC_PR_.hold is not None
    assert EPOC_PR_.hold.until_production_confirmed
    assert not EPOC_PR_.hold.extension_as_required


@pytest.mark.parametrize("instrument", [EPOC_, EPOC_PR_], ids=lambda i: i.code)
def test_epoc_and_epoc_pr_are_cross_border_and_may_be_validated_art_1_3_4(instrument: Instrument) -> None:
    """Art. 1(1), 3: to another Member State; Art. 4(1)(b)-(3)(b): validated orders; Art. 4(5): 48 hours."""
    assert instrument.cross_border_only
    assert instrument.validation is not None
    assert instrument.validation.issuers == {IssuerKind.POLICE, IssuerKind.REGULATOR, IssuerKind.OTHER}
    assert instrument.validation.validators == JUDICIAL
    assert instrument.validation.validators <= instrument.issuers
    assert instrument.validation.emergency_after == hours(48)


def test_every_epoc_is_preserved_on_receipt_art_10_1() -> None:
    assert EPOC_.preserve_on_receipt
    assert not EPOC_PR_.preserve_on_receipt
    assert not any(i.preserve_on_receipt for i in CATALOGUE if i.code is not InstrumentCode.EU_EPOC)


def test_epoc_listed_offences_and_information_systems_art_5_4() -> None:
    """Art. 5(4)(b), (c): three listed offences count only when committed by an information system."""
    assert EPOC_.information_system_offences == {
        "fraud_non_cash_payment",
        "child_sexual_abuse",
        "attacks_information_systems",
    }
    for category in (DataCategory.TRAFFIC, DataCategory.CONTENT):
        assert EPOC_.information_system_offences < EPOC_.categories[category].listed_offences
        assert "terrorism" in EPOC_.categories[category].listed_offences


def test_epoc_sentence_execution_needs_four_months_art_5_3() -> None:
    assert EPOC_.sentence_execution_min_months == 4
    assert all(i.sentence_execution_min_months is None for i in CATALOGUE if i is not EPOC_)


def test_epoc_emergency_delivery_opens_a_96_hour_objection_window_art_10_4() -> None:
    assert EPOC_.objection_window == hours(96)
    assert all(i.objection_window is None for i in CATALOGUE if i is not EPOC_)


def test_tco_removal_covers_every_member_state_art_3_3() -> None:
    assert not TCO_.territorial_scope_allowed
    assert RequestField.TERRITORIAL_SCOPE not in TCO_.required_fields
    assert all(i.territorial_scope_allowed for i in CATALOGUE if i is not TCO_)


def test_tco_keeps_removed_content_six_calendar_months_and_longer_as_required_art_6_2() -> None:
    assert TCO_.hold is not None
    assert TCO_.hold.duration == CalendarPeriod(6)
    assert str(TCO_.hold.duration) == "P6M"
    assert TCO_.hold.extension_as_required
    assert TCO_.hold.max_extensions == 0


def test_tco_confidentiality_is_six_weeks_plus_one_extension_art_11_3() -> None:
    assert TCO_.confidentiality is not None
    conf = TCO_.confidentiality
    assert (conf.max, conf.extension, conf.max_extensions) == (day(42), day(42), 1)


def test_tco_cross_border_scrutiny_48_and_72_hours_art_4_2_4() -> None:
    assert TCO_.cross_border_scrutiny is not None
    assert TCO_.cross_border_scrutiny.request_within == hours(48)
    assert TCO_.cross_border_scrutiny.decision_within == hours(72)


def test_tco_complaints_within_two_weeks_art_10_2_and_first_order_notice_art_3_2() -> None:
    assert TCO_.complaint_answer_within == day(14)
    assert TCO_.first_order_notice == hours(12)


def test_dsa_art_10_leaves_the_categories_to_the_principles() -> None:
    """DSA Art. 10 does not limit the categories; principle P1 does, in the policy files."""
    assert set(CATALOGUE.get(InstrumentCode.EU_DSA_ART10).categories) == ALL_CATEGORIES


def test_national_court_orders_have_an_emergency_track() -> None:
    """Threats to life (UK, India, Brazil): 8 hours unless the order says otherwise."""
    order = CATALOGUE.get(InstrumentCode.NATIONAL_COURT_ORDER)
    assert order.deadline.emergency == hours(8)
    assert order.deadline.configurable
    assert order.deadline.as_ordered
    assert order.emergency_required_fields == {RequestField.EMERGENCY_JUSTIFICATION}


def test_india_it_rules_3_1_j_is_72_hours_fixed() -> None:
    """IT Rules 2021 r. 3(1)(j): information not later than 72 hours after the order."""
    rules = CATALOGUE.get(InstrumentCode.IN_IT_RULES_3_1_J)
    assert rules.kind is InstrumentKind.INFORMATION
    assert rules.jurisdictions == {"IN"}
    assert rules.issuers == {IssuerKind.POLICE, IssuerKind.PROSECUTOR, IssuerKind.COURT, IssuerKind.REGULATOR}
    assert set(rules.categories) == ALL_CATEGORIES
    assert (rules.deadline.standard, rules.deadline.configurable, rules.deadline.pause) == (
        hours(72),
        False,
        PauseRule.SUSPEND,
    )
    assert rules.notice is UserNoticeRule.PER_ORDER
    assert rules.required_fields == {
        RequestField.ISSUING_AUTHORITY,
        RequestField.LEGAL_BASIS,
        RequestField.STATEMENT_OF_REASONS,
        RequestField.TARGETS,
        RequestField.DATA_CATEGORIES,
    }
    with pytest.raises(CatalogueError, match="the law fixes this deadline"):
        load_catalogue({"IN_IT_RULES_3_1_J": hours(96)})
