"""What the desk can read from an inbound message before a person looks at it: the authority's reference,
the instruments it names, phone numbers, user names, links, e-mail addresses, a tracking number it replies
to, and whether it sounds like an emergency. These are *prefills* a legal reviewer confirms or corrects,
never decisions.

Pure: text in, a dict of lists out (no ORM, no web, no clock). PDF text extraction is bounded (pages and
characters) so a hostile PDF cannot make triage slow.
"""

import io
import re
from collections.abc import Iterable
from typing import Any, Final

from pypdf import PdfReader
from pypdf.errors import PdfReadError

__all__ = [
    "MAX_CHARS",
    "MAX_PAGES",
    "extract",
    "instrument_names",
    "is_emergency",
    "pdf_text",
    "tracking_numbers",
]

MAX_PAGES: Final = 20
"""Pages of a PDF read for prefills (an order is a few pages; annexes are read by people)."""
MAX_CHARS: Final = 100_000
"""Characters of text (body and PDFs together) read for prefills."""
MAX_ITEMS: Final = 50
"""At most this many values per field (a mail listing thousands of links is read by people)."""

_CROCKFORD = "0-9A-HJKMNP-TV-Z"
TRACKING = re.compile(rf"\bTD-(20\d\d)-([{_CROCKFORD}]{{4}})-([{_CROCKFORD}]{{4}})\b", re.IGNORECASE)
"""A tracking number the desk issued (``trustdesk.references``), as quoted in a reply."""

_REFERENCE = re.compile(
    r"(?:\bR[ée]f(?:[ée]rence)?\.?|\bAz\.|\bAktenzeichen|\bCase\s+(?:No\.?|number)|\bFile\s+No\.?|"
    r"\bOur\s+ref(?:erence)?\.?|\bN[°º]\s*(?:de\s+)?(?:proc[ée]dure|dossier)|\bReference)"
    r"\s*[:#]?\s*(?P<id>\d{1,4}\s[A-Z][A-Za-z]{0,3}\s\d{1,6}/\d{2,4}|[A-Za-z0-9][A-Za-z0-9./_-]{2,60}[A-Za-z0-9])",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w+])\+[1-9](?:[ \u00a0.-]?\d){6,14}(?!\d)")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}\b")
_URL = re.compile(r"\bhttps?://[^\s<>\"')\]]{1,2000}|\bt\.me/[A-Za-z0-9_+/-]{1,200}", re.IGNORECASE)
_USERNAME = re.compile(r"(?<![\w@.])@([A-Za-z][A-Za-z0-9_]{3,31})\b")

_DSA = r"(?:of\s+the\s+)?(?:DSA|Digital\s+Services\s+Act|\(?EU\)?\s*2022/2065)"
# Words that name an instrument in the wild, beside the catalogue's own titles and codes: (pattern, code).
_ALIASES: Final[tuple[tuple[str, str], ...]] = (
    (r"\bEPOC[- ]PR\b", "EU_EPOC_PR"),
    (r"\bEuropean\s+Preservation\s+Order\b", "EU_EPOC_PR"),
    (r"\bEPOC\b(?![- ]PR)", "EU_EPOC"),
    (r"\bEuropean\s+Production\s+Order\b", "EU_EPOC"),
    (r"\b2023/1543\b", "EU_EPOC"),
    (r"\bTCO\b", "EU_TCO_REMOVAL"),
    (r"\b2021/784\b", "EU_TCO_REMOVAL"),
    (r"\bremoval\s+order\b", "EU_TCO_REMOVAL"),
    (rf"\bArt(?:icle|\.)?\s*9\s+{_DSA}", "EU_DSA_ART9"),
    (rf"\bArt(?:icle|\.)?\s*10\s+{_DSA}", "EU_DSA_ART10"),
    (r"\b18\s*U\.?S\.?C\.?\s*(?:§+\s*)?2703\s*\(\s*d\s*\)", "US_2703D"),
    (r"\b18\s*U\.?S\.?C\.?\s*(?:§+\s*)?2703\s*\(\s*f\s*\)", "US_PRESERVATION"),
    (r"\b18\s*U\.?S\.?C\.?\s*(?:§+\s*)?2703(?!\s*\(\s*[df]\s*\))", "US_2703D"),
    (r"\b18\s*U\.?S\.?C\.?\s*(?:§+\s*)?2702\s*\(\s*[bc]\s*\)", "US_EMERGENCY"),
    (r"\bsubpoena\b", "US_SUBPOENA"),
    (r"\bsearch\s+warrant\b", "US_WARRANT"),
    (r"\bIT\s+Rules(?:,)?\s+2021\b", "IN_IT_RULES_3_1_J"),
    (r"\bRule\s+3\s*\(\s*1\s*\)\s*\(\s*j\s*\)", "IN_IT_RULES_3_1_J"),
)
_ALIAS_PATTERNS = tuple((re.compile(p, re.IGNORECASE), code) for p, code in _ALIASES)

_EMERGENCY = re.compile(
    r"\b(?:urgent|urgence|emergency|imminent|threat\s+to\s+life|risk\s+to\s+life|danger\s+to\s+life|"
    r"danger\s+de\s+mort|p[ée]ril\s+imminent|menace\s+de\s+mort|Gefahr\s+f[üu]r\s+Leib\s+und\s+Leben|"
    r"Lebensgefahr|dringend|eilt|pericolo\s+di\s+vita|peligro\s+de\s+muerte|suicid\w*|kidnapp\w*|"
    r"enl[èe]vement|Entf[üu]hrung)\b",
    re.IGNORECASE,
)


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value not in seen:
            seen[value] = None
            if len(seen) >= MAX_ITEMS:
                break
    return list(seen)


def tracking_numbers(text: str) -> list[str]:
    """The desk's tracking numbers quoted in ``text``, upper-cased, in order of appearance."""
    return _unique(m.group(0).upper() for m in TRACKING.finditer(text))


def references(text: str) -> list[str]:
    """The authority's own file references: "Réf. PJ-2026-114", "Az. 3 Js 1234/26" (a German file number
    keeps its spaces), "Case No. 26-cr-7"."""
    found = []
    for match in _REFERENCE.finditer(text):
        value = match.group("id").rstrip(".")
        if not TRACKING.fullmatch(value):
            found.append(value)
    return _unique(found)


def phone_numbers(text: str) -> list[str]:
    """Numbers written in international form (E.164: "+", country code, up to 15 digits), digits only."""
    found = []
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 8 <= len(digits) <= 15:
            found.append("+" + digits)
    return _unique(found)


def emails(text: str) -> list[str]:
    return _unique(m.group(0).lower() for m in _EMAIL.finditer(text))


def links(text: str) -> list[str]:
    """Web addresses and t.me links, without trailing punctuation."""
    return _unique(m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text))


def usernames(text: str) -> list[str]:
    """``@name`` handles (not the domain of an e-mail address), with their ``@``."""
    return _unique("@" + m.group(1) for m in _USERNAME.finditer(text))


def instrument_names(text: str, titles: Iterable[tuple[str, str]] = ()) -> list[str]:
    """The instrument codes ``text`` names: by a catalogue code or title (``titles``: (code, title) pairs) or
    a common way of naming it ("EPOC", "18 U.S.C. 2703(d)", "removal order")."""
    found = []
    upper = text.upper()
    for code, title in titles:
        if re.search(rf"\b{re.escape(code)}\b", upper) or title.lower() in text.lower():
            found.append(code)
    for pattern, code in _ALIAS_PATTERNS:
        if pattern.search(text):
            found.append(code)
    return _unique(found)


def is_emergency(text: str) -> list[str]:
    """The words that make ``text`` sound like an emergency ("urgent", "danger de mort", ...); empty: none."""
    return _unique(m.group(0).lower() for m in _EMERGENCY.finditer(text))


def pdf_text(content: bytes, *, max_pages: int = MAX_PAGES, max_chars: int = MAX_CHARS) -> str:
    """The text of a PDF's first ``max_pages`` pages, at most ``max_chars`` characters; "" when it cannot be
    read (the attachment's ``problem`` says why, from ``lawful.service.pdf_problem``)."""
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            return ""
        parts: list[str] = []
        total = 0
        for page in reader.pages[:max_pages]:
            text = page.extract_text() or ""
            parts.append(text)
            total += len(text)
            if total >= max_chars:
                break
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError, AttributeError, IndexError):
        return ""
    return "\n".join(parts)[:max_chars]


def extract(
    text: str, titles: Iterable[tuple[str, str]] = (), *, max_chars: int = MAX_CHARS
) -> dict[str, Any]:
    """Every prefill from ``text`` (the subject, the body and the PDFs' text, at most ``max_chars``)."""
    text = text[:max_chars]
    hints = is_emergency(text)
    return {
        "references": references(text),
        "instruments": instrument_names(text, titles),
        "phone_numbers": phone_numbers(text),
        "usernames": usernames(text),
        "links": links(text),
        "emails": emails(text),
        "tracking_numbers": tracking_numbers(text),
        "emergency": bool(hints),
        "emergency_words": hints,
    }
