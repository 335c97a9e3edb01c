"""Normalisation of text before rule matching: the two forms, evasions, keyword expressions."""

# Look-alike characters are what these tests are about:
# ruff: noqa: RUF001

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.safety.rules.normalise import Form, keyword_regex, normalise_basic, normalise_full

INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u202e",
    "\u2066",
    "\ufe0f",
    "\U000e0041",
]


@pytest.mark.parametrize(
    ("text", "basic", "full"),
    [
        ("Hello World", "hello world", "hello world"),
        ("Dоublе yоur Bіtcоіn!!", "double your bitcoin!!", "double your bitcoin"),  # Cyrillic
        ("ΚΟΡΑ ροοl", "kopa pool", "kopa pool"),  # Greek
        ("ＦＲＥＥ　ｍｏｎｅｙ", "free money", "free money"),  # full-width, ideographic space
        ("fr\u200bee mo\u00adney", "free money", "free money"),
        ("b1tc0in wa11et", "b1tc0in wa11et", "bitcoin waiiet"),
        ("fr@ud c@$h", "fr@ud c@$h", "fraud cash"),
        ("@support $100 wow!!", "@support $100 wow!!", "support ioo wow"),
        ("F.R.E.E money", "f.r.e.e money", "free money"),
        ("f r e e money", "f r e e money", "free money"),
        ("f-r-e-e", "f-r-e-e", "free"),
        ("a b", "a b", "a b"),  # two single letters are left alone
        ("Café crème", "café crème", "cafe creme"),
        ("Z̸a̸l̸g̸o̸", "z̸a̸l̸g̸o̸", "zalgo"),
        ("call +44 7700 900123", "call +44 7700 900123", "call aa ttoo 9ooi2e"),
        ("٠١٢ ۳۴", "012 34", "oi2 ea"),  # Arabic-Indic digits
        ("tabs\tand\nnew  lines\r\n", "tabs and new lines", "tabs and new lines"),
        ("«bitcoin» — 🚀moon", "«bitcoin» — 🚀moon", "bitcoin moon"),
        ("Straße", "strasse", "strasse"),
        ("", "", ""),
    ],
)
def test_forms(text: str, basic: str, full: str) -> None:
    assert normalise_basic(text) == basic
    assert normalise_full(text) == full


def test_composition_is_not_split_by_an_invisible_character() -> None:
    assert normalise_basic("e\u200b\u0301") == normalise_basic("e\u0301") == "é"


@given(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.lists(st.tuples(st.integers(0, 40), st.sampled_from(INVISIBLE)), max_size=5),
)
def test_invisible_characters_anywhere_change_nothing(text: str, inserts: list[tuple[int, str]]) -> None:
    spoiled = text
    for at, ch in inserts:
        spoiled = spoiled[:at] + ch + spoiled[at:]
    assert normalise_basic(spoiled) == normalise_basic(text)
    assert normalise_full(spoiled) == normalise_full(text)


@given(st.text(max_size=60))
def test_forms_are_trimmed_single_spaced_and_lower_case(text: str) -> None:
    for form in (normalise_basic(text), normalise_full(text)):
        assert form == " ".join(form.split())
        assert form == form.casefold() or not form.isascii()


@pytest.mark.parametrize(
    ("keyword", "form", "regex"),
    [
        ("Free Bitcoin", Form.FULL, " (free ?b[il]tco[il]n) "),
        ("t.me/", Form.BASIC, r"[^a-z0-9\x{80}-\x{10ffff}](t\.me/)"),
        ("t.me/", Form.FULL, " (t ?me) "),
        ("比特币", Form.FULL, "(比特币)"),  # no word boundaries in scripts without spaces
    ],
)
def test_keyword_regex(keyword: str, form: Form, regex: str) -> None:
    assert keyword_regex(keyword, form) == regex


def test_a_keyword_that_normalises_to_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="empty once normalised"):
        keyword_regex("\u200b!!", Form.FULL)
