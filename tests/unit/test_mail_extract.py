"""The prefills read from an inbound mail or letter: each field, its limits, and PDF text (bounded)."""

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from trustdesk.intake import extract as ex

TITLES = [("EU_EPOC", "European Production Order Certificate (EPOC)"), ("US_WARRANT", "Search warrant")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Réf. PJ-2026-114", ["PJ-2026-114"]),
        ("Notre référence : 2026/0042/BRI.", ["2026/0042/BRI"]),
        ("Az. 3 Js 1234/26", ["3 Js 1234/26"]),
        ("Aktenzeichen: 61-AR-77/26", ["61-AR-77/26"]),
        ("Case No. 26-cr-0007", ["26-cr-0007"]),
        ("Case number 26-mj-118", ["26-mj-118"]),
        ("see TD-2026-7K3M-Q9XF", []),
        ("nothing to see", []),
    ],
)
def test_references(text: str, expected: list[str]) -> None:
    assert ex.references(text) == expected


def test_a_tracking_number_is_not_taken_for_the_authoritys_reference() -> None:
    assert ex.references("Reference TD-2026-7K3M-Q9XF") == []
    assert ex.tracking_numbers("Re: td-2026-7k3m-q9xf and TD-2026-7K3M-Q9XF") == ["TD-2026-7K3M-Q9XF"]
    assert ex.tracking_numbers("TD-2026-7K3M-Q9XI") == []  # I is not Crockford base 32


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("an EPOC under Regulation (EU) 2023/1543", ["EU_EPOC"]),
        ("European Production Order Certificate (EPOC)", ["EU_EPOC"]),
        ("EPOC-PR: a European Preservation Order", ["EU_EPOC_PR"]),
        ("a TCO removal order (Regulation 2021/784)", ["EU_TCO_REMOVAL"]),
        ("pursuant to 18 U.S.C. § 2703(d)", ["US_2703D"]),
        ("preserve under 18 USC 2703(f)", ["US_PRESERVATION"]),
        ("emergency disclosure, 18 U.S.C. 2702(b)(8)", ["US_EMERGENCY"]),
        ("a Search Warrant signed by the judge", ["US_WARRANT"]),
        ("Art. 10 of the DSA", ["EU_DSA_ART10"]),
        ("order EU_EPOC", ["EU_EPOC"]),
        ("a friendly letter", []),
    ],
)
def test_instruments(text: str, codes: list[str]) -> None:
    assert ex.instrument_names(text, TITLES) == codes


def test_phone_numbers_in_international_form_only() -> None:
    assert ex.phone_numbers("Tel. +33 1 40 20 50 50, +49-30-1234567, fax 01 40 20 50 51") == [
        "+33140205050",
        "+49301234567",
    ]
    assert ex.phone_numbers("+1 2") == []


def test_usernames_links_and_emails() -> None:
    text = (
        "User @evil_user (not bob@police.fr) posted https://t.me/evilchannel, see t.me/joinchat/AbC and "
        "http://x.example/a?b=1."
    )
    assert ex.usernames(text) == ["@evil_user"]
    assert ex.emails(text) == ["bob@police.fr"]
    assert ex.links(text) == ["https://t.me/evilchannel", "t.me/joinchat/AbC", "http://x.example/a?b=1"]


@pytest.mark.parametrize(
    "text",
    ["URGENT", "danger de mort", "threat to life", "Gefahr für Leib und Leben", "es besteht Lebensgefahr"],
)
def test_emergency_words(text: str) -> None:
    found = ex.extract(f"Bonjour, {text}.")
    assert found["emergency"] is True
    assert found["emergency_words"]


def test_no_emergency_in_an_ordinary_request() -> None:
    assert ex.extract("Please produce the subscriber data.")["emergency"] is False


def test_each_field_is_capped() -> None:
    text = " ".join(f"+331402050{i:02d}" for i in range(100))
    assert len(ex.phone_numbers(text)) == ex.MAX_ITEMS


def test_the_text_read_is_bounded() -> None:
    assert ex.extract("x" * 10 + " URGENT", max_chars=10)["emergency"] is False


@given(st.text(max_size=500))
def test_extract_never_fails_and_returns_every_field(text: str) -> None:
    found = ex.extract(text, TITLES)
    assert set(found) == {
        "references", "instruments", "phone_numbers", "usernames", "links", "emails", "tracking_numbers",
        "emergency", "emergency_words",
    }  # fmt: skip


def pdf_with_text(*pages: str) -> bytes:
    """A real PDF whose pages carry ``pages`` as text (Helvetica), built with pypdf."""
    writer = PdfWriter()
    for text in pages:
        page = writer.add_blank_page(width=595, height=842)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
        )
        stream = DecodedStreamObject()
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream.set_data(f"BT /F1 12 Tf 72 770 Td ({escaped}) Tj ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_text_is_read_and_bounded_by_pages_and_characters() -> None:
    pdf = pdf_with_text("Case No. 26-cr-0007 EPOC", "second page +33140205050", "third page")
    assert "26-cr-0007" in ex.pdf_text(pdf)
    assert "third" not in ex.pdf_text(pdf, max_pages=2)
    assert len(ex.pdf_text(pdf, max_chars=5)) == 5
    found = ex.extract(ex.pdf_text(pdf), TITLES)
    assert found["references"] == ["26-cr-0007"]
    assert found["instruments"] == ["EU_EPOC"]
    assert found["phone_numbers"] == ["+33140205050"]


def test_a_broken_pdf_reads_as_no_text() -> None:
    assert ex.pdf_text(b"%PDF-1.7 not really") == ""
    assert ex.pdf_text(b"") == ""
