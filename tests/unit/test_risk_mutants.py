"""The forgery-risk rules one by one, at their boundaries (written to kill the mutants of lawful/risk.py).

Each rule is tested alone on a request that fires nothing else, at the value where it starts to fire and
the one just before, with its points, its sentence and the hold threshold.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from trustdesk.lawful.risk import (
    HOLD_AT,
    RULES,
    MailFacts,
    RiskFacts,
    _distance,
    _skeleton,
    acts_cited,
    assess,
    looks_alike,
)
from trustdesk.vocabulary import IssuerKind

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CLEAN = RiskFacts(
    received_at=NOW,
    signed=True,
    officer_created_at=NOW - timedelta(days=400),
    key_created_at=NOW - timedelta(days=90),
    new_network=False,
    agency_kind=IssuerKind.POLICE,
    claimed_kind=IssuerKind.POLICE,
    agency_domains=("police.example.gov",),
    contact_email="chief@police.example.gov",
    officer_requests_last_day=0,
    emergency=False,
    categories=frozenset({"subscriber"}),
    instrument_acts=frozenset({"2023/1543"}),
    other_instruments_acts=frozenset({"18 USC 2702"}),
    legal_basis="Regulation (EU) 2023/1543, Art. 5",
    targets_in_other_emergencies=0,
)


def codes(facts: RiskFacts) -> list[str]:
    return [r.code for r in assess(facts).reasons]


def test_a_routine_request_fires_nothing_and_is_not_held() -> None:
    risk = assess(CLEAN)
    assert risk.reasons == ()
    assert risk.score == 0
    assert risk.hold is False
    assert risk.callback_required_by_law is False


def test_the_law_can_require_a_callback_whatever_the_score() -> None:
    risk = assess(replace(CLEAN, callback_required_by_law=True))
    assert (risk.score, risk.hold, risk.callback_required_by_law) == (0, True, True)


@pytest.mark.parametrize(
    ("change", "code", "sentence"),
    [
        ({"signed": False}, "unsigned", "The request is not signed with the agency's registered key."),
        ({"new_network": True}, "new_network", "This key has never been used from this network before."),
        (
            {"officer_created_at": NOW - timedelta(days=7) + timedelta(seconds=1)},
            "officer_new",
            "The officer's account is less than 7 days old.",
        ),
        (
            {"key_created_at": NOW - timedelta(days=1) + timedelta(seconds=1)},
            "credentials_changed",
            "The API key used was issued less than a day ago.",
        ),
        (
            {"officer_requests_last_day": 5},
            "volume",
            "The officer sent 5 requests in the last 24 hours.",
        ),
        (
            {"emergency": True, "categories": frozenset({"traffic", "content", "subscriber"})},
            "emergency_content",
            "An emergency request asks for content and traffic data.",
        ),
        (
            {"targets_in_other_emergencies": 1},
            "targets_in_other_emergencies",
            "The same targets are in 1 other emergency request(s) this week.",
        ),
        (
            {"claimed_kind": IssuerKind.INVESTIGATING_JUDGE},
            "kind_claimed",
            (
                "The request claims a investigating judge as issuing authority, but the agency is verified "
                "as a police: it is judged as one."
            ),
        ),
        (
            {"contact_email": "chief@gmail.example"},
            "contact_domain_mismatch",
            "The supervisor's e-mail domain gmail.example is not the agency's.",
        ),
        (
            {"contact_email": "chief@POLlCE.example.gov"},
            "contact_domain_look_alike",
            "The supervisor's e-mail domain pollce.example.gov imitates police.example.gov.",
        ),
        (
            {"legal_basis": "18 U.S.C. § 2702 and 2018/1727"},
            "legal_basis_inconsistent",
            "The legal basis does not cite the instrument's act (2023/1543), but cites 18 USC 2702.",
        ),
        (
            {"legal_basis": "the code of criminal procedure"},
            "legal_basis_inconsistent",
            "The legal basis does not cite the instrument's act (2023/1543).",
        ),
    ],
)
def test_each_rule_fires_alone_with_its_points_and_sentence(
    change: dict[str, object], code: str, sentence: str
) -> None:
    risk = assess(replace(CLEAN, **change))  # type: ignore[arg-type]
    assert [(r.code, r.points, r.sentence) for r in risk.reasons] == [(code, RULES[code], sentence)]
    assert risk.score == RULES[code]
    assert risk.hold is (RULES[code] >= HOLD_AT)


@pytest.mark.parametrize(
    "change",
    [
        {"officer_created_at": NOW - timedelta(days=7)},
        {"key_created_at": NOW - timedelta(days=1)},
        {"key_created_at": None},
        {"officer_requests_last_day": 4},
        {"emergency": True, "categories": frozenset({"subscriber"})},
        {"emergency": False, "categories": frozenset({"content", "traffic"})},
        {"contact_email": None},
        {"contact_email": "no-at-sign"},
        {"contact_email": "duty@cyber.police.example.gov"},
        {"contact_email": "Chief@Police.Example.Gov"},
        {"instrument_acts": frozenset(), "legal_basis": "anything at all"},
        {"legal_basis": "Art. 5 of 2023/1543 and 18 USC 2702"},
    ],
)
def test_just_short_of_each_rule_nothing_fires(change: dict[str, object]) -> None:
    assert codes(replace(CLEAN, **change)) == []  # type: ignore[arg-type]


def test_the_points_add_up_and_hold_at_the_threshold() -> None:
    assert HOLD_AT == 40
    assert RULES == {
        "unsigned": 15,
        "unsigned_but_agency_signs": 25,
        "officer_new": 15,
        "credentials_changed": 10,
        "new_network": 15,
        "contact_domain_mismatch": 25,
        "contact_domain_look_alike": 35,
        "volume": 15,
        "legal_basis_inconsistent": 20,
        "emergency_content": 20,
        "targets_in_other_emergencies": 20,
        "kind_claimed": 30,
        "by_email": 10,
        "mail_not_authenticated": 40,
        "mail_lookalike": 40,
        "letter_unverified": 25,
    }
    below = assess(replace(CLEAN, signed=False, key_created_at=NOW))  # 15 + 10
    assert (below.score, below.hold) == (25, False)
    at = assess(
        replace(CLEAN, emergency=True, categories=frozenset({"content"}), targets_in_other_emergencies=2)
    )
    assert (at.score, at.hold) == (40, True)
    impostor = assess(
        replace(
            CLEAN,
            signed=False,
            new_network=True,
            officer_requests_last_day=9,
            contact_email="x@p0lice.example.gov",
        )
    )
    assert codes(replace(CLEAN, signed=False, new_network=True)) == ["unsigned", "new_network"]
    assert [r.code for r in impostor.reasons] == [
        "unsigned",
        "new_network",
        "contact_domain_look_alike",
        "volume",
    ]
    assert impostor.score == 15 + 15 + 35 + 15


def test_acts_are_read_from_eu_and_us_citations() -> None:
    assert acts_cited("Regulation (EU) 2023/1543 and Directive 2000/31") == {"2023/1543", "2000/31"}
    assert acts_cited("18 U.S.C. § 2702(b)(8)") == {"18 USC 2702"}
    assert acts_cited("18 usc sec. 2703D") == {"18 USC 2703d"}
    assert acts_cited("18 USC section 2701") == {"18 USC 2701"}
    assert acts_cited("47 U S C §§ 551") == {"47 USC 551"}
    assert acts_cited("article 12 of the penal code, 20231543") == frozenset()


@pytest.mark.parametrize(
    ("domain", "imitated"),
    [
        ("police.example.gov", None),
        ("POLICE.EXAMPLE.GOV.", None),
        ("cyber.police.example.gov", None),
        ("pollce.example.gov", "police.example.gov"),  # one letter off
        ("p0llce.example.gov", "police.example.gov"),  # homoglyphs
        ("po1ice.exarnple.gov", "police.example.gov"),  # rn for m, 1 for l
        ("police.example.gov.evil.net", "police.example.gov"),  # the same name under another suffix
        ("police-example.gov", "police.example.gov"),  # a hyphen for a dot: two characters off
        ("unrelated.example.org", None),
        ("pol.example.org", None),  # a short first label under another suffix is not a look-alike
    ],
)
def test_look_alike_domains(domain: str, imitated: str | None) -> None:
    assert looks_alike(domain, ["police.example.gov", "other.example.gov"]) == imitated


def test_look_alike_edge_cases() -> None:
    assert looks_alike("abcd.net", ["abcd.org"]) == "abcd.org"  # a four-letter name is enough
    assert looks_alike("abc.museum", ["abc.org"]) is None  # three letters are not
    assert looks_alike("wvvw.example", ["www.example"]) == "www.example"
    assert looks_alike("a-b-c-d-e.example", ["abcde.example"]) == "abcde.example"  # hyphens dropped
    assert looks_alike("police.example.gov", []) is None
    assert (
        looks_alike("xpolice.example.gov", ["police.example.gov"]) == "police.example.gov"
    )  # not a subdomain


def test_the_skeleton_folds_homoglyphs_and_hyphens() -> None:
    assert _skeleton("RN-VV0135i") == "mwolesl"
    assert _skeleton("rnvv") == "mw"


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("abc", "abc", 0),
        ("kitten", "sitting", 3),
        ("abcdef", "abdef", 1),  # a deletion
        ("abdef", "abcdef", 1),  # an insertion
        ("abcd", "abdc", 2),  # a swap is two edits
        ("flaw", "lawn", 2),
    ],
)
def test_the_edit_distance(a: str, b: str, distance: int) -> None:
    assert _distance(a, b) == distance


def test_look_alikes_at_the_distance_limit() -> None:
    assert looks_alike("abcdefxy.gov", ["abcdefgh.gov"]) == "abcdefgh.gov"  # two edits
    assert looks_alike("abcdexyz.gov", ["abcdefgh.gov"]) is None  # three
    assert looks_alike("rnvvrnvv.example.gov", ["mwmw.example.gov"]) == "mwmw.example.gov"  # skeleton only
    # a subdomain of the official domain is official, even when its first label repeats the name
    assert looks_alike("police.police.example.gov", ["police.example.gov"]) is None


def test_the_contact_domain_is_after_the_last_at_sign() -> None:
    assert codes(replace(CLEAN, contact_email="a@b@police.example.gov")) == []
    assert codes(replace(CLEAN, contact_email="a@police.example.gov@b.example")) == [
        "contact_domain_mismatch"
    ]


def test_every_foreign_act_cited_is_named() -> None:
    facts = replace(
        CLEAN,
        legal_basis="18 USC 2703 and 18 USC 2702",
        other_instruments_acts=frozenset({"18 USC 2702", "18 USC 2703", "2000/31"}),
    )
    (reason,) = assess(facts).reasons
    assert reason.sentence == (
        "The legal basis does not cite the instrument's act (2023/1543), but cites 18 USC 2702, 18 USC 2703."
    )


def test_official_domains_are_compared_without_their_trailing_dot() -> None:
    assert looks_alike("police.example.gov", ["Police.Example.Gov."]) is None
    assert looks_alike("pollce.example.gov", ["police.example.gov."]) == "police.example.gov"


def test_every_act_of_the_instrument_is_named() -> None:
    facts = replace(CLEAN, instrument_acts=frozenset({"2023/1543", "2023/1544"}), legal_basis="none")
    (reason,) = assess(facts).reasons
    assert reason.sentence == "The legal basis does not cite the instrument's act (2023/1543, 2023/1544)."


def test_an_unsigned_request_from_an_agency_that_signs_is_held_on_that_alone() -> None:
    unsigned = assess(replace(CLEAN, signed=False, agency_signs=True))
    assert [r.code for r in unsigned.reasons] == ["unsigned", "unsigned_but_agency_signs"]
    assert (unsigned.score, unsigned.hold) == (40, True)
    assert "stolen API key" in unsigned.reasons[1].sentence
    signed = assess(replace(CLEAN, signed=True, agency_signs=True))
    assert (signed.score, signed.reasons) == (0, ())
    assert assess(replace(CLEAN, signed=False, agency_signs=False)).score == 15


def test_how_an_e_mail_or_a_letter_was_authenticated_is_scored() -> None:
    def codes(mail: MailFacts, **changes: object) -> tuple[list[str], int, bool]:
        risk = assess(replace(CLEAN, signed=False, mail=mail, **changes))
        return [r.code for r in risk.reasons], risk.score, risk.hold

    authenticated = MailFacts(channel="email", authenticated=True, from_domain="justice.fr")
    assert codes(authenticated) == (["unsigned", "by_email"], 25, False)
    forged = MailFacts(channel="email", authenticated=False, from_domain="justice.fr")
    assert codes(forged) == (["unsigned", "by_email", "mail_not_authenticated"], 65, True)
    lookalike = MailFacts(
        channel="email", authenticated=False, from_domain="justice-fr.com", lookalike_of="justice.fr"
    )
    reasons, score, hold = codes(lookalike)
    assert (reasons, score, hold) == (["unsigned", "by_email", "mail_lookalike"], 65, True)
    assert (
        "justice-fr.com, which imitates justice.fr"
        in assess(replace(CLEAN, mail=lookalike)).reasons[-1].sentence
    )
    letter = MailFacts(channel="mailroom", authenticated=False)
    assert codes(letter) == (["unsigned", "letter_unverified"], 40, True)
    assert assess(replace(CLEAN, mail=None)).score == 0
