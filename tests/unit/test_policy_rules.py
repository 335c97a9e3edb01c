"""The policy files: what the shipped policy says, and every malformed file the loader must refuse."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.clock import FrozenClock
from trustdesk.lawful.catalogue import EU_MEMBER_STATES
from trustdesk.lawful.catalogue_file import load_catalogue
from trustdesk.platform.protocol import Period
from trustdesk.platform.reference import ReferencePlatform
from trustdesk.policy.policy_files import load_policies
from trustdesk.policy.rules import (
    DEFAULT_DIRECTORY,
    JURISDICTIONS_FILE,
    POLICY_FILES,
    PRINCIPLES_FILE,
    ContactKind,
    EmergencyWaiver,
    JurisdictionStatus,
    PolicyError,
    PolicySet,
    PrincipleKey,
    policy_version,
)
from trustdesk.vocabulary import DataCategory, InstrumentCode, IssuerKind

CATALOGUE = load_catalogue()
POLICY = load_policies(catalogue=CATALOGUE)
JURISDICTIONS_TEXT = (DEFAULT_DIRECTORY / JURISDICTIONS_FILE).read_text(encoding="utf-8")
PRINCIPLES_TEXT = (DEFAULT_DIRECTORY / PRINCIPLES_FILE).read_text(encoding="utf-8")
EU_INSTRUMENTS = frozenset(
    {
        InstrumentCode.EU_EPOC,
        InstrumentCode.EU_EPOC_PR,
        InstrumentCode.EU_TCO_REMOVAL,
        InstrumentCode.EU_DSA_ART9,
        InstrumentCode.EU_DSA_ART10,
        InstrumentCode.NATIONAL_COURT_ORDER,
    }
)
E_EVIDENCE = frozenset({InstrumentCode.EU_EPOC, InstrumentCode.EU_EPOC_PR})
US_INSTRUMENTS = frozenset(code for code in InstrumentCode if code.startswith("US_"))


def write(
    directory: Path, jurisdictions: str = JURISDICTIONS_TEXT, principles: str = PRINCIPLES_TEXT
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / JURISDICTIONS_FILE).write_text(jurisdictions, encoding="utf-8")
    (directory / PRINCIPLES_FILE).write_text(principles, encoding="utf-8")
    return directory


def edit(text: str, old: str, new: str) -> str:
    """Replace ``old`` exactly once: a test whose edit misses would prove nothing."""
    assert text.count(old) == 1, f"expected exactly one {old!r}"
    return text.replace(old, new)


def section(text: str, header: str) -> tuple[int, int]:
    """Start and end offsets of the TOML table ``header`` (up to the next table header)."""
    start = text.index(f"{header}\n")
    following = re.compile(r"^\[", re.MULTILINE).search(text, start + len(header))
    return start, len(text) if following is None else following.start()


def edit_in(text: str, header: str, old: str, new: str) -> str:
    """Replace ``old`` exactly once inside the table ``header``."""
    start, end = section(text, header)
    return text[:start] + edit(text[start:end], old, new) + text[end:]


# ------------------------------------------------------------------------------------ shipped policy


def test_the_shipped_policy_loads_with_its_content_hash_as_version() -> None:
    raw_j = (DEFAULT_DIRECTORY / JURISDICTIONS_FILE).read_bytes()
    raw_p = (DEFAULT_DIRECTORY / PRINCIPLES_FILE).read_bytes()
    expected = hashlib.sha256(
        b"jurisdictions.toml\0" + str(len(raw_j)).encode() + b"\0" + raw_j
        + b"principles.toml\0" + str(len(raw_p)).encode() + b"\0" + raw_p
    ).hexdigest()  # fmt: skip

    assert POLICY.version == expected == policy_version(raw_j, raw_p)
    assert POLICY_FILES == (JURISDICTIONS_FILE, PRINCIPLES_FILE)
    assert load_policies() == POLICY  # default directory and catalogue
    assert Path(__file__).resolve().parents[2] / "policies" == DEFAULT_DIRECTORY


def test_every_eu_member_state_is_active_with_the_eu_instruments_except_e_evidence_in_denmark() -> None:
    """Protocol No 22: no EPOC in DK; e-Evidence Art. 1(1), 3: none from BE, where the representative sits."""
    for code in EU_MEMBER_STATES:
        jurisdiction = POLICY.jurisdiction(code)
        assert jurisdiction is not None, code
        assert jurisdiction.status is JurisdictionStatus.ACTIVE
        expected = EU_INSTRUMENTS - E_EVIDENCE if code in {"DK", "BE"} else EU_INSTRUMENTS
        assert jurisdiction.instruments == expected, code
        assert "en" in jurisdiction.languages
        assert jurisdiction.contact is not None
        assert jurisdiction.contact.kind is ContactKind.LEGAL_REPRESENTATIVE


def test_the_other_markets() -> None:
    us, gb, india, brazil = (POLICY.jurisdictions[c] for c in ("US", "GB", "IN", "BR"))
    assert us.instruments == US_INSTRUMENTS
    for other in (gb, brazil):
        assert other.instruments == {InstrumentCode.NATIONAL_COURT_ORDER}
    # IT Rules 2021 r. 3(1)(j): information within 72 hours, besides court orders.
    assert india.instruments == {InstrumentCode.IN_IT_RULES_3_1_J, InstrumentCode.NATIONAL_COURT_ORDER}
    assert "GB" not in EU_MEMBER_STATES  # the UK is not EU: no EU instrument
    assert all(j.status is JurisdictionStatus.ACTIVE for j in (us, gb, india, brazil))
    assert brazil.languages[0] == "pt"


@pytest.mark.parametrize("code", ["RU", "IR"])
def test_the_markets_the_platform_left_are_exited_with_date_and_reason(code: str) -> None:
    jurisdiction = POLICY.jurisdiction(code)
    assert jurisdiction is not None
    assert jurisdiction.status is JurisdictionStatus.EXITED
    assert isinstance(jurisdiction.since, date)
    assert jurisdiction.reason
    assert "principles" in jurisdiction.reason
    assert jurisdiction.contact is None
    assert jurisdiction.instruments == frozenset()


def test_the_shipped_policy_has_the_expected_markets_and_nothing_restricted() -> None:
    assert set(POLICY.jurisdictions) == EU_MEMBER_STATES | {"US", "GB", "IN", "BR", "RU", "IR"}
    assert list(POLICY.jurisdictions) == sorted(POLICY.jurisdictions)
    assert not [j for j in POLICY.jurisdictions.values() if j.status is JurisdictionStatus.RESTRICTED]


def test_every_recognised_instrument_applies_there_per_the_catalogue() -> None:
    some_day = datetime(2027, 1, 1, tzinfo=UTC)  # after every applies_from
    for jurisdiction in POLICY.jurisdictions.values():
        for code in jurisdiction.instruments:
            assert CATALOGUE.get(code).applies_in(jurisdiction.code, some_day), (jurisdiction.code, code)


def test_shipped_contacts_are_fictitious() -> None:
    for jurisdiction in POLICY.jurisdictions.values():
        if jurisdiction.contact is not None:
            assert jurisdiction.contact.email.endswith(("@example.org", "@example.net"))
            assert jurisdiction.contact.phone.startswith("+")


def test_lookup_is_case_insensitive_and_unknown_is_none() -> None:
    assert POLICY.jurisdiction("fr") is POLICY.jurisdiction("FR")
    assert POLICY.jurisdiction("CH") is None
    france = POLICY.jurisdiction("FR")
    assert france is not None
    assert france.recognises(InstrumentCode.EU_EPOC)
    assert not france.recognises(InstrumentCode.US_SUBPOENA)


def test_the_default_principles_are_telegrams() -> None:
    p = POLICY.principles
    assert p.disclosable_categories == {DataCategory.SUBSCRIBER, DataCategory.IDENTIFICATION}
    assert p.disclosable_fields == {
        DataCategory.SUBSCRIBER: {"phone"},
        DataCategory.IDENTIFICATION: {"ip", "port", "at"},
    }
    assert p.judicial_issuer_kinds == {
        IssuerKind.COURT,
        IssuerKind.INVESTIGATING_JUDGE,
        IssuerKind.PROSECUTOR,
    }
    assert p.require_suspect_confirmed
    assert p.emergency_waives == {EmergencyWaiver.SUSPECT_CONFIRMATION}
    assert p.voluntary_disclosure_allowed
    assert not p.preservation_limited_by_disclosure
    assert p.removals_allowed
    ids = [p.principle(key).id for key in PrincipleKey]
    assert ids == [f"P{n}" for n in range(1, len(PrincipleKey) + 1)]
    for key in PrincipleKey:
        statement = p.principle(key).statement
        assert statement.endswith(".")
        assert not re.search(r"\.\s+[A-Z]", statement[:-1]), statement


def test_the_disclosable_fields_exist_in_the_reference_platforms_export() -> None:
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    with ReferencePlatform("sqlite://", clock=FrozenClock(end)) as platform:
        platform.create_schema()
        platform.generate(5, seed=1, start=start, end=end)
        export = platform.export("1", DataCategory, Period(start, end))
    for category, fields in POLICY.principles.disclosable_fields.items():
        records = export.of(category)
        assert records, category
        exported = set().union(*(record.fields for record in records))
        assert fields <= exported, (category, fields - exported)


def test_the_policy_set_is_hashable_and_immutable() -> None:
    assert hash(POLICY) == hash(load_policies(catalogue=CATALOGUE))
    with pytest.raises(TypeError):
        POLICY.jurisdictions["XX"] = POLICY.jurisdictions["FR"]  # type: ignore[index]


# ----------------------------------------------------------------------------------------- versions


def test_an_identical_copy_has_the_same_version_and_a_changed_one_does_not(tmp_path: Path) -> None:
    same = load_policies(write(tmp_path / "same"), CATALOGUE)
    changed_j = load_policies(write(tmp_path / "j", jurisdictions=JURISDICTIONS_TEXT + "\n"), CATALOGUE)
    changed_p = load_policies(write(tmp_path / "p", principles=PRINCIPLES_TEXT + "# note\n"), CATALOGUE)

    assert same.version == POLICY.version
    assert same == POLICY
    assert len({POLICY.version, changed_j.version, changed_p.version}) == 3
    assert changed_j.jurisdictions == POLICY.jurisdictions  # same meaning, other bytes: other version


@settings(max_examples=25, deadline=None)
@given(
    which=st.sampled_from(POLICY_FILES),
    comment=st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40),
)
def test_any_edit_of_either_file_changes_the_version(which: str, comment: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        shutil.copy(DEFAULT_DIRECTORY / JURISDICTIONS_FILE, directory / JURISDICTIONS_FILE)
        shutil.copy(DEFAULT_DIRECTORY / PRINCIPLES_FILE, directory / PRINCIPLES_FILE)
        with (directory / which).open("a", encoding="utf-8") as handle:
            handle.write(f"# {comment}\n")
        assert load_policies(directory, CATALOGUE).version != POLICY.version


@given(first=st.binary(max_size=20), second=st.binary(min_size=1, max_size=20))
def test_moving_bytes_between_the_files_changes_the_version(first: bytes, second: bytes) -> None:
    assert policy_version(first, second) != policy_version(first + second[:1], second[1:])
    assert policy_version(first, second) != policy_version(second, first) or first == second


# ------------------------------------------------------------------------------ malformed: jurisdictions

FR = "[jurisdictions.FR]"
DK = "[jurisdictions.DK]"
RU = "[jurisdictions.RU]"
EU_LIST = '"EU_EPOC", "EU_EPOC_PR", "EU_TCO_REMOVAL", "EU_DSA_ART9", "EU_DSA_ART10", "NATIONAL_COURT_ORDER"'
RU_SINCE = "since = 2022-03-15\n"

JurisdictionCase = tuple[Callable[[str], str], str | None, str, str]
"""(edit of jurisdictions.toml, jurisdiction named, key path, message pattern)"""

JURISDICTION_CASES: dict[str, JurisdictionCase] = {
    "unknown instrument": (
        lambda t: edit_in(t, FR, EU_LIST, EU_LIST + ', "EU_EPOCH"'),
        "FR",
        "jurisdictions.FR.instruments",
        r"jurisdiction FR: key 'instruments': unknown instrument 'EU_EPOCH'",
    ),
    "instrument not applicable: e-Evidence in Denmark": (
        lambda t: edit_in(t, DK, '["EU_TCO_REMOVAL"', '["EU_EPOC", "EU_TCO_REMOVAL"'),
        "DK",
        "jurisdictions.DK.instruments",
        r"jurisdiction DK: key 'instruments': EU_EPOC .* does not apply in DK",
    ),
    "instrument not applicable: US subpoena in France": (
        lambda t: edit_in(t, FR, EU_LIST, EU_LIST + ', "US_SUBPOENA"'),
        "FR",
        "jurisdictions.FR.instruments",
        r"jurisdiction FR: key 'instruments': US_SUBPOENA .* does not apply in FR",
    ),
    "instrument not applicable: EU instrument in the UK": (
        lambda t: edit_in(t, "[jurisdictions.GB]", '["NATIONAL_COURT_ORDER"]', '["EU_DSA_ART9"]'),
        "GB",
        "jurisdictions.GB.instruments",
        r"jurisdiction GB: .*EU_DSA_ART9 .* does not apply in GB",
    ),
    "instrument listed twice": (
        lambda t: edit_in(t, FR, EU_LIST, EU_LIST + ', "EU_EPOC"'),
        "FR",
        "jurisdictions.FR.instruments",
        r"jurisdiction FR: key 'instruments': lists 'EU_EPOC' twice",
    ),
    "UK is not an ISO code": (
        lambda t: edit(t, "[jurisdictions.GB]", "[jurisdictions.UK]"),
        "UK",
        "jurisdictions.UK",
        r"jurisdiction UK: 'UK' is not an ISO 3166-1 alpha-2 code; use 'GB'",
    ),
    "EL is not an ISO code": (
        lambda t: edit(t, "[jurisdictions.GR]", "[jurisdictions.EL]"),
        "EL",
        "jurisdictions.EL",
        r"use 'GR'",
    ),
    "unassigned ISO code": (
        lambda t: (
            t
            + '\n[jurisdictions.XX]\nname = "Nowhere"\nstatus = "exited"\nsince = 2020-01-01\nreason = "r"\n'
        ),
        "XX",
        "jurisdictions.XX",
        r"jurisdiction XX: 'XX' is not an assigned ISO 3166-1 alpha-2 code",
    ),
    "lower-case code": (
        lambda t: edit(t, "[jurisdictions.FR]", "[jurisdictions.fr]"),
        "fr",
        "jurisdictions.fr",
        r"jurisdiction fr: 'fr' is not an ISO 3166-1 alpha-2 code",
    ),
    "duplicate code": (
        lambda t: t + '\n[jurisdictions.FR]\nname = "France again"\n',
        None,
        "",
        r"jurisdictions\.toml: not valid TOML: .*'FR'",
    ),
    "e-Evidence from the representative's own State": (
        lambda t: edit_in(t, "[jurisdictions.BE]", '"EU_TCO_REMOVAL", ', '"EU_EPOC", "EU_TCO_REMOVAL", '),
        "BE",
        "jurisdictions.BE.instruments",
        r"jurisdiction BE: key 'instruments': EU_EPOC is an order to another State.*sits in BE",
    ),
    "contact without a country": (
        lambda t: edit(t, 'country = "BE"\n', ""),
        None,
        "contacts.eu.country",
        r"contact eu: key 'country': missing",
    ),
    "contact in no real country": (
        lambda t: edit(t, 'country = "BE"\n', 'country = "XX"\n'),
        None,
        "contacts.eu.country",
        r"contact eu: key 'country': 'XX' is not an assigned ISO 3166-1 alpha-2 code",
    ),
    "contact in an unknown time zone": (
        lambda t: edit(t, 'timezone = "Europe/Brussels"\n', 'timezone = "Europe/Bruxelles"\n'),
        None,
        "contacts.eu.timezone",
        r"contact eu: key 'timezone': 'Europe/Bruxelles' is not an IANA time zone",
    ),
    "exited without reason": (
        lambda t: re.sub(r"(?m)^reason = \"Federal Law.*\n", "", t, count=1),
        "RU",
        "jurisdictions.RU.reason",
        r"jurisdiction RU: key 'reason': missing: a exited jurisdiction needs the reason",
    ),
    "exited without since": (
        lambda t: edit_in(t, RU, RU_SINCE, ""),
        "RU",
        "jurisdictions.RU.since",
        r"jurisdiction RU: key 'since': missing",
    ),
    "restricted without since": (
        lambda t: edit_in(t, FR, 'status = "active"', 'status = "restricted"\nreason = "a dispute"'),
        "FR",
        "jurisdictions.FR.since",
        r"jurisdiction FR: key 'since': missing: a restricted jurisdiction",
    ),
    "active with a reason": (
        lambda t: edit_in(t, FR, 'status = "active"', 'status = "active"\nreason = "left over"'),
        "FR",
        "jurisdictions.FR.reason",
        r"jurisdiction FR: key 'reason': only a restricted or exited jurisdiction has one",
    ),
    "since is not a date": (
        lambda t: edit_in(t, RU, RU_SINCE, 'since = "2022-03-15"\n'),
        "RU",
        "jurisdictions.RU.since",
        r"jurisdiction RU: key 'since': must be a date",
    ),
    "since has a time": (
        lambda t: edit_in(t, RU, RU_SINCE, "since = 2022-03-15T10:00:00Z\n"),
        "RU",
        "jurisdictions.RU.since",
        r"jurisdiction RU: key 'since': must be a date",
    ),
    "unknown status": (
        lambda t: edit_in(t, FR, 'status = "active"', 'status = "suspended"'),
        "FR",
        "jurisdictions.FR.status",
        r"jurisdiction FR: key 'status': unknown JurisdictionStatus 'suspended'",
    ),
    "unknown key": (
        lambda t: edit_in(t, FR, 'name = "France"', 'name = "France"\ncapital = "Paris"'),
        "FR",
        "jurisdictions.FR.capital",
        r"jurisdiction FR: key 'capital': unknown key",
    ),
    "missing name": (
        lambda t: edit_in(t, FR, 'name = "France"\n', ""),
        "FR",
        "jurisdictions.FR.name",
        r"jurisdiction FR: key 'name': missing",
    ),
    "active without instruments": (
        lambda t: edit_in(t, FR, f"instruments = [{EU_LIST}]", "instruments = []"),
        "FR",
        "jurisdictions.FR.instruments",
        r"jurisdiction FR: key 'instruments': must not be empty",
    ),
    "bad language": (
        lambda t: edit_in(t, FR, 'languages = ["fr", "en"]', 'languages = ["fra", "en"]'),
        "FR",
        "jurisdictions.FR.languages",
        r"jurisdiction FR: key 'languages': 'fra' is not an ISO 639-1 code",
    ),
    "unassigned language": (
        lambda t: edit_in(t, FR, 'languages = ["fr", "en"]', 'languages = ["fr", "qq"]'),
        "FR",
        "jurisdictions.FR.languages",
        r"'qq' is not an ISO 639-1 code",
    ),
    "active without contact": (
        lambda t: edit_in(t, FR, 'contact = "eu"\n', ""),
        "FR",
        "jurisdictions.FR.contact",
        r"jurisdiction FR: key 'contact': missing: a active jurisdiction needs a contact",
    ),
    "unknown contact": (
        lambda t: edit_in(t, FR, 'contact = "eu"', 'contact = "france"'),
        "FR",
        "jurisdictions.FR.contact",
        r"jurisdiction FR: key 'contact': unknown contact 'france'",
    ),
    "unused contact": (
        lambda t: edit_in(t, "[jurisdictions.IN]", 'contact = "in"', 'contact = "gb"'),
        None,
        "contacts.in",
        r"contact in: is not the contact of any jurisdiction",
    ),
    "bad e-mail": (
        lambda t: edit(t, 'email = "law-enforcement-us@example.org"', 'email = "law-enforcement at example"'),
        None,
        "contacts.us.email",
        r"contact us: key 'email': 'law-enforcement at example' is not an e-mail address",
    ),
    "bad phone": (
        lambda t: edit(t, 'phone = "+1 202 555 0100"', 'phone = "(202) 555-0100"'),
        None,
        "contacts.us.phone",
        r"contact us: key 'phone': '\(202\) 555-0100' is not an international number",
    ),
    "phone too short": (
        lambda t: edit(t, 'phone = "+1 202 555 0100"', 'phone = "+1 2"'),
        None,
        "contacts.us.phone",
        r"contact us: key 'phone'",
    ),
    "unknown contact kind": (
        lambda t: edit(
            t,
            'kind = "legal_representative"\nname = "Example Messenger Legal',
            'kind = "agent"\nname = "Example Messenger Legal',
        ),
        None,
        "contacts.eu.kind",
        r"contact eu: key 'kind': unknown ContactKind 'agent'",
    ),
    "unknown contact key": (
        lambda t: edit(t, 'phone = "+1 202 555 0100"', 'phone = "+1 202 555 0100"\nfax = "+1 202 555 0101"'),
        None,
        "contacts.us.fax",
        r"contact us: key 'fax': unknown key",
    ),
    "wrong schema version": (
        lambda t: edit(t, "schema_version = 1", "schema_version = 2"),
        None,
        "schema_version",
        r"jurisdictions\.toml: key 'schema_version': must be 1, got 2",
    ),
    "unknown top-level key": (
        lambda t: edit(t, "schema_version = 1", "schema_version = 1\nowner = 'legal'"),
        None,
        "owner",
        r"jurisdictions\.toml: key 'owner': unknown key",
    ),
    "contacts table misspelt": (
        lambda t: t.replace("[contacts.", "[contact."),
        None,
        "contact",
        r"jurisdictions\.toml: key 'contact': unknown key",
    ),
    "no jurisdictions": (
        lambda t: t[: t.index("[jurisdictions.AT]")],
        None,
        "jurisdictions",
        r"jurisdictions\.toml: key 'jurisdictions': missing",
    ),
}


@pytest.mark.parametrize("case", list(JURISDICTION_CASES))
def test_malformed_jurisdictions_are_refused_naming_the_jurisdiction_and_key(
    tmp_path: Path, case: str
) -> None:
    change, jurisdiction, key, message = JURISDICTION_CASES[case]
    directory = write(tmp_path, jurisdictions=change(JURISDICTIONS_TEXT))

    with pytest.raises(PolicyError, match=message) as caught:
        load_policies(directory, CATALOGUE)

    error = caught.value
    assert isinstance(error, ValueError)
    assert str(error).startswith("jurisdictions.toml: ")
    assert error.file == JURISDICTIONS_FILE
    assert error.jurisdiction == jurisdiction
    if key:
        assert error.key == key


def test_a_restricted_jurisdiction_with_date_and_reason_loads(tmp_path: Path) -> None:
    text = edit_in(
        JURISDICTIONS_TEXT, FR, 'status = "active"', 'status = "restricted"\nsince = 2026-01-05\nreason = "r"'
    )
    policy = load_policies(write(tmp_path, jurisdictions=text), CATALOGUE)
    france = policy.jurisdictions["FR"]
    assert france.status is JurisdictionStatus.RESTRICTED
    assert france.since == date(2026, 1, 5)
    assert france.reason == "r"


def test_the_catalogue_decides_what_applies(tmp_path: Path) -> None:
    """Without Denmark's e-Evidence exclusion a catalogue accepts EPOC-PR for DK; the shipped one does not."""
    text = edit_in(JURISDICTIONS_TEXT, DK, '["EU_TCO_REMOVAL"', '["EU_EPOC_PR", "EU_TCO_REMOVAL"')
    catalogue_text = (
        Path(__file__).resolve().parents[2] / "src/trustdesk/lawful/instruments.toml"
    ).read_text(encoding="utf-8")
    without_exclusion = catalogue_text.replace('jurisdictions_except = ["DK"]\n', "")
    assert without_exclusion != catalogue_text
    (tmp_path / "instruments.toml").write_text(without_exclusion, encoding="utf-8")
    loose = load_catalogue(path=tmp_path / "instruments.toml")

    policy = load_policies(write(tmp_path / "p", jurisdictions=text), loose)
    assert InstrumentCode.EU_EPOC_PR in policy.jurisdictions["DK"].instruments
    with pytest.raises(PolicyError, match=r"EU_EPOC_PR .* does not apply in DK"):
        load_policies(write(tmp_path / "q", jurisdictions=text), CATALOGUE)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    directory = write(tmp_path)
    (directory / PRINCIPLES_FILE).unlink()
    with pytest.raises(PolicyError, match=r"^principles\.toml: cannot be read") as caught:
        load_policies(directory, CATALOGUE)
    assert caught.value.file == PRINCIPLES_FILE


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"^principles\.toml: not valid TOML"):
        load_policies(write(tmp_path, principles="[principles\n"), CATALOGUE)
    (tmp_path / PRINCIPLES_FILE).write_bytes(b"\xff\xfe")
    with pytest.raises(PolicyError, match=r"^principles\.toml: not valid TOML"):
        load_policies(tmp_path, CATALOGUE)


# --------------------------------------------------------------------------------- malformed: principles

PrincipleCase = tuple[Callable[[str], str], str, str]
"""(edit of principles.toml, key path, message pattern)"""

PRINCIPLE_CASES: dict[str, PrincipleCase] = {
    "unknown key": (
        lambda t: edit(t, "required = true", "required = true\nstrict = true"),
        "principles.suspect_confirmed.strict",
        r"principle suspect_confirmed: key 'strict': unknown key",
    ),
    "unknown principle": (
        lambda t: t + '\n[principles.notify_users]\nid = "P9"\nstatement = "Users are told."\n',
        "principles.notify_users",
        r"principles\.toml: key 'notify_users': unknown key",
    ),
    "missing principle": (
        lambda t: t[: t.index("[principles.removals]")],
        "principles.removals",
        r"principles\.toml: key 'removals': missing",
    ),
    "unknown category": (
        lambda t: edit(
            t, 'categories = ["subscriber", "identification"]', 'categories = ["subscriber", "metadata"]'
        ),
        "principles.disclosable_categories.categories",
        r"principle disclosable_categories: key 'categories': unknown DataCategory 'metadata'",
    ),
    "fields for a category that is not disclosable": (
        lambda t: edit(
            t,
            'identification = ["ip", "port", "at"]',
            'identification = ["ip", "port", "at"]\ncontent = ["text"]',
        ),
        "principles.disclosable_fields.fields.content",
        r"principle disclosable_fields: key 'content': content is not a disclosable category",
    ),
    "no fields for a disclosable category": (
        lambda t: edit(t, 'identification = ["ip", "port", "at"]\n', ""),
        "principles.disclosable_fields.fields.identification",
        r"key 'identification': missing: every disclosable category needs its list of fields",
    ),
    "empty field list": (
        lambda t: edit(t, 'subscriber = ["phone"]', "subscriber = []"),
        "principles.disclosable_fields.fields.subscriber",
        r"key 'subscriber': must not be empty",
    ),
    "bad field name": (
        lambda t: edit(t, 'subscriber = ["phone"]', 'subscriber = ["Phone Number"]'),
        "principles.disclosable_fields.fields.subscriber",
        r"'Phone Number' is not an export field name",
    ),
    "bad id": (
        lambda t: edit(t, 'id = "P4"', 'id = "suspect"'),
        "principles.suspect_confirmed.id",
        r"principle suspect_confirmed: key 'id': 'suspect' must be 'P' followed by digits",
    ),
    "duplicate id": (
        lambda t: edit(t, 'id = "P4"', 'id = "P3"'),
        "principles.suspect_confirmed.id",
        r"principle suspect_confirmed: key 'id': 'P3' is already the id of judicial_order",
    ),
    "two sentences": (
        lambda t: edit(
            t,
            'in a criminal case."',
            'in a criminal case. Otherwise it asks."',
        ),
        "principles.suspect_confirmed.statement",
        r"principle suspect_confirmed: key 'statement': must be one sentence",
    ),
    "no full stop": (
        lambda t: edit(t, 'in a criminal case."', 'in a criminal case"'),
        "principles.suspect_confirmed.statement",
        r"must be one sentence, ending with a full stop",
    ),
    "unknown waiver": (
        lambda t: edit(
            t, 'waives = ["suspect_confirmation"]', 'waives = ["suspect_confirmation", "everything"]'
        ),
        "principles.emergency.waives",
        r"principle emergency: key 'waives': unknown EmergencyWaiver 'everything'",
    ),
    "no judicial issuer kinds": (
        lambda t: edit(
            t, 'issuer_kinds = ["court", "investigating_judge", "prosecutor"]', "issuer_kinds = []"
        ),
        "principles.judicial_order.issuer_kinds",
        r"principle judicial_order: key 'issuer_kinds': must not be empty",
    ),
    "unknown issuer kind": (
        lambda t: edit(t, '"investigating_judge", "prosecutor"]', '"investigating_judge", "magistrate"]'),
        "principles.judicial_order.issuer_kinds",
        r"unknown IssuerKind 'magistrate'",
    ),
    "flag that is not a boolean": (
        lambda t: edit(t, "disclosure_principles_apply = false", 'disclosure_principles_apply = "no"'),
        "principles.preservation.disclosure_principles_apply",
        r"principle preservation: key 'disclosure_principles_apply': must be true or false",
    ),
    "missing flag": (
        lambda t: edit(t, "required = true\n", ""),
        "principles.suspect_confirmed.required",
        r"principle suspect_confirmed: key 'required': missing",
    ),
    "missing statement": (
        lambda t: re.sub(r'(?m)^statement = "Removal orders.*\n', "", t, count=1),
        "principles.removals.statement",
        r"principle removals: key 'statement': missing",
    ),
}


@pytest.mark.parametrize("case", list(PRINCIPLE_CASES))
def test_malformed_principles_are_refused_naming_the_principle_and_key(tmp_path: Path, case: str) -> None:
    change, key, message = PRINCIPLE_CASES[case]
    changed = change(PRINCIPLES_TEXT)
    assert changed != PRINCIPLES_TEXT
    directory = write(tmp_path, principles=changed)

    with pytest.raises(PolicyError, match=message) as caught:
        load_policies(directory, CATALOGUE)

    assert str(caught.value).startswith("principles.toml: ")
    assert caught.value.file == PRINCIPLES_FILE
    assert caught.value.jurisdiction is None
    assert caught.value.key == key


def test_other_principles_load_as_written(tmp_path: Path) -> None:
    text = edit(
        PRINCIPLES_TEXT,
        'waives = ["suspect_confirmation"]',
        'waives = ["suspect_confirmation", "judicial_order"]',
    )
    text = edit(text, "disclosure_principles_apply = false", "disclosure_principles_apply = true")
    policy = load_policies(write(tmp_path, principles=text), CATALOGUE)
    assert policy.principles.emergency_waives == set(EmergencyWaiver)
    assert policy.principles.preservation_limited_by_disclosure
    assert policy.version != POLICY.version
    assert isinstance(policy, PolicySet)


def test_contacts_say_where_they_sit_and_their_time_zone() -> None:
    """Reg. 1182/71: a protective period ends at the end of the contact's local day."""
    be = POLICY.jurisdictions["BE"].contact
    assert be is not None
    assert (be.country, be.timezone) == ("BE", "Europe/Brussels")
    for jurisdiction in POLICY.jurisdictions.values():
        if jurisdiction.contact is not None:
            assert len(jurisdiction.contact.country) == 2
            assert jurisdiction.contact.timezone


def test_no_epoc_from_the_state_where_the_representative_sits_art_1_1_and_3() -> None:
    """e-Evidence Art. 1(1), 3: an EPOC or EPOC-PR goes to an addressee in ANOTHER Member State."""
    for jurisdiction in POLICY.jurisdictions.values():
        if jurisdiction.contact is not None and jurisdiction.contact.country == jurisdiction.code:
            assert not jurisdiction.instruments & E_EVIDENCE, jurisdiction.code
