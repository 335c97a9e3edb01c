"""Text normalisation before rule matching: two forms, built from precomputed ``str.translate`` tables.

``basic``
    Unicode NFKC (full-width, ligatures, mathematical letters and digits, compatibility spaces), case
    folding, invisible characters removed (zero-width space/joiners, word joiner, BOM, soft hyphen, bidi
    controls, variation selectors, tag characters, Hangul fillers…), every kind of white space turned into
    one space, every Unicode decimal digit turned into its ASCII digit, and Cyrillic/Greek look-alikes
    folded to the Latin letter they imitate (``раураl`` → ``paypal``). Digits, punctuation and
    diacritics are kept, so phone numbers, addresses and URLs keep their shape.

``full`` (the default for rules): words only
    ``basic``, then: leetspeak symbols between two letters or digits folded (``fr@ud`` → ``fraud``,
    ``ca$h`` → ``cash``: ``@``→a ``$``→s ``!``→i ``|``→i ``€``→e), diacritics removed (``é`` → ``e``,
    combining marks dropped, so Zalgo text folds too), leetspeak digits folded (``0``→o ``1``→i ``3``→e
    ``4``→a ``5``→s ``7``→t; 2, 6, 8 and 9 stay), every other character that is not a letter or a digit
    turned into a space, and runs of at least three single letters collapsed (``f.r.e.e``, ``f r e e``,
    ``f-r-e-e`` → ``free``). ``1`` folds to ``i`` although it also imitates ``l``: keywords are compiled
    so that ``i`` and ``l`` match each other (see :func:`keyword_regex`), so ``wa11et`` hits ``wallet``.

The matchers see each form with one space added before and after it (see :func:`pad`), so that in
``full`` form every word is bounded by spaces: ``' word '``.

Why two forms: leetspeak folding destroys numbers (``+44 7700`` becomes ``+aa tsoo``), so a rule about
phone numbers, amounts or codes says ``normalise = "basic"``; a rule about words keeps ``full``, which
sees through the common evasions. Each event is normalised once per form in use: one NFKC call, then
translate tables (ASCII text skips NFKC and the look-alike table, which cannot change it).

Spans are reported in the normalised text, which is not the original text's indexing.
"""

# The look-alike table and its documentation are made of look-alikes, on purpose:
# ruff: noqa: RUF001, RUF002

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Final

__all__ = ["Form", "fold_full", "keyword_regex", "normalise", "normalise_basic", "normalise_full"]


class Form(StrEnum):
    """Which normalisation a rule's patterns are matched against."""

    FULL = "full"
    BASIC = "basic"


_INVISIBLE_RANGES: Final = (
    (0x0000, 0x0008),  # C0 controls (tab, newlines and the like are white space, below)
    (0x000E, 0x001B),
    (0x007F, 0x0084),
    (0x0086, 0x009F),  # C1 controls (U+0085 is a line break)
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, ZWNJ, ZWJ, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x206F),  # bidi isolates, deprecated format characters
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors 1-16
    (0xFEFF, 0xFEFF),  # byte order mark / zero-width no-break space
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0x1D173, 0x1D17A),  # musical formatting controls
    (0xE0000, 0xE007F),  # tag characters
    (0xE0100, 0xE01EF),  # variation selectors 17-256
)
_COMBINING_RANGES: Final = (
    (0x0300, 0x036F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)
_DIACRITIC_RANGES: Final = ((0x00C0, 0x024F), (0x0370, 0x04FF), (0x1E00, 0x1FFF))
"""Where precomposed letters live (Latin-1, Latin Extended A/B, Greek, Cyrillic, Latin/Greek extended)."""

# Look-alikes, after case folding (upper-case look-alikes fold to these lower-case letters first).
_HOMOGLYPHS: Final = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h",
    "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ь": "b", "ѕ": "s", "і": "i",
    "ї": "i", "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ɡ": "g", "ү": "y", "ҁ": "c",
    # Greek
    "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v",
    "ο": "o", "ρ": "p", "σ": "o", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Latin and others that NFKC leaves alone
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɩ": "i", "ɪ": "i", "ʏ": "y", "ᴀ": "a", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e",
    "ᴋ": "k", "ᴍ": "m", "ᴏ": "o", "ᴘ": "p", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ƅ": "b",
}  # fmt: skip
_FULL_LETTERS: Final = {
    "ø": "o", "æ": "ae", "œ": "oe", "ð": "d", "þ": "p", "ł": "l", "đ": "d", "ħ": "h", "з": "e", "ŀ": "l",
}  # fmt: skip
"""Letters without a decomposition that ``full`` form folds like diacritics (``з`` imitates ``3``)."""
_DIGIT_LEET: Final = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"}
_SYMBOL_LEET: Final = {"@": "a", "$": "s", "!": "i", "|": "i", "€": "e"}
"""Folded only between two letters or digits (``fr@ud``, ``ca$h``), never alone or at a word's edge
(``@support``, ``wow!!``, ``$100``)."""
_SYMBOL_RANGES: Final = (
    (0x00A0, 0x00BF),
    (0x2000, 0x2BFF),
    (0x3000, 0x303F),
    (0xFE30, 0xFE4F),
    (0x1F000, 0x1FAFF),
)
"""Where non-ASCII punctuation, symbols and emoji live (full form turns those that are not letters or
digits into spaces)."""


def _basic_table() -> dict[int, str | None]:
    table: dict[int, str | None] = dict.fromkeys(_INVISIBLE)
    for cp in range(0x3100):
        if chr(cp).isspace():
            table[cp] = " "
    for cp in range(0x80, 0x20000):
        ch = chr(cp)
        if ch.isdecimal():
            table[cp] = str(unicodedata.decimal(ch))
    table.update({ord(k): v for k, v in _HOMOGLYPHS.items()})
    return table


def _full_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for cp in range(0x80):
        if not chr(cp).isalnum():
            table[cp] = " "
    for low, high in _SYMBOL_RANGES:
        for cp in range(low, high + 1):
            if not chr(cp).isalnum():
                table[cp] = " "
    for low, high in _COMBINING_RANGES:
        table.update(dict.fromkeys(range(low, high + 1)))
    for low, high in _DIACRITIC_RANGES:
        for cp in range(low, high + 1):
            decomposed = unicodedata.normalize("NFD", chr(cp))
            base = decomposed[0]
            if len(decomposed) > 1 and all(unicodedata.combining(c) for c in decomposed[1:]):
                base = base.casefold()
                table[cp] = _HOMOGLYPHS.get(base, base)
            elif not chr(cp).isalnum():
                table[cp] = " "
    table.update({ord(k): v for k, v in (_FULL_LETTERS | _DIGIT_LEET).items()})
    return table


_INVISIBLE: Final = {cp: None for low, high in _INVISIBLE_RANGES for cp in range(low, high + 1)}
_BASIC: Final = _basic_table()
_FULL: Final = _full_table()
# ASCII text takes a bytes fast path: upper case to lower, ASCII white space to " ", controls deleted.
_ASCII_BASIC: Final = bytes.maketrans(
    bytes(range(ord("A"), ord("Z") + 1)) + b"\t\n\x0b\x0c\r",
    bytes(range(ord("a"), ord("z") + 1)) + b"     ",
)
_ASCII_CONTROLS: Final = bytes([*range(0x09), *range(0x0E, 0x20), 0x7F])
_ASCII_FULL: Final = bytes(
    _DIGIT_LEET[chr(b)].encode()[0] if chr(b) in _DIGIT_LEET else b if chr(b).isalnum() else 0x20
    for b in range(256)
)
_LETTER: Final = r"[^\W\d_]"
_SPACED: Final = re.compile(rf"(?:(?<= )|^)(?:{_LETTER} ){{2,}}{_LETTER}(?= |$)")
_SPACED_HINT: Final = re.compile(rf" {_LETTER} {_LETTER} ")
"""Two single letters in a row: a quick test, on the text padded with spaces, before :data:`_SPACED`."""
_SYMBOL_RUN: Final = re.compile(r"[@$!|€]+")
_SYMBOLS: Final = str.maketrans(_SYMBOL_LEET)
_INVISIBLE_HINT: Final = re.compile(
    "[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _INVISIBLE_RANGES if low > 0x20) + "]"
)


def _unspace(match: re.Match[str]) -> str:
    return match.group().replace(" ", "")


def _fold_symbols(text: str) -> str:
    """Fold the symbol runs that sit between two letters or digits (``fr@ud``, ``ca$h``)."""
    parts: list[str] = []
    done = 0
    last = len(text) - 1
    for match in _SYMBOL_RUN.finditer(text):
        start, end = match.span()
        if start > 0 and end <= last and text[start - 1].isalnum() and text[end].isalnum():
            parts += (text[done:start], match.group().translate(_SYMBOLS))
            done = end
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def pad(text: str) -> str:
    """``text`` as the matchers see it: with one space before and after."""
    return f" {text} "


def normalise_basic(text: str) -> str:
    """The ``basic`` form of ``text`` (see the module documentation)."""
    if text.isascii():
        return b" ".join(text.encode().translate(_ASCII_BASIC, _ASCII_CONTROLS).split()).decode()
    # Invisible characters go first, so that they cannot keep NFKC from composing what they split.
    if _INVISIBLE_HINT.search(text):
        text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFKC", text).casefold().translate(_BASIC)
    return " ".join(text.split())


def fold_full(basic: str) -> str:
    """The ``full`` form of text already in ``basic`` form."""
    if "@" in basic or "$" in basic or "!" in basic or "|" in basic or "€" in basic:
        basic = _fold_symbols(basic)
    if basic.isascii():
        text = b" ".join(basic.encode().translate(_ASCII_FULL).split()).decode()
    else:
        text = " ".join(basic.translate(_FULL).split())
    if _SPACED_HINT.search(f" {text} "):
        text = _SPACED.sub(_unspace, text)
    return text


def normalise_full(text: str) -> str:
    """The ``full`` form of ``text`` (see the module documentation)."""
    return fold_full(normalise_basic(text))


def normalise(text: str, form: Form) -> str:
    """``text`` in ``form``."""
    return normalise_full(text) if form is Form.FULL else normalise_basic(text)


# ------------------------------------------------------------------------------------------- keywords

_META: Final = frozenset("\\.^$|?*+()[]{}#-")
_NO_SPACE_SCRIPTS: Final = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR")
_NOT_WORD: Final = r"[^a-z0-9\x{80}-\x{10ffff}]"
"""In ``basic`` form a keyword's boundary is an ASCII character other than a letter or a digit (or the
padding at either end): a non-ASCII character counts as part of a word."""


def _bounded(ch: str) -> bool:
    """Whether a keyword edge ``ch`` needs a word boundary (letters and digits of spaced scripts)."""
    if not ch.isalnum():
        return False
    return not unicodedata.name(ch, "").startswith(_NO_SPACE_SCRIPTS)


def keyword_regex(keyword: str, form: Form) -> str:
    """The regular expression for a keyword: normalised like the text, escaped, word-bounded.

    It is matched against the padded text (see :func:`pad`); the keyword itself is group 1. In ``full``
    form the boundary is a space, ``i`` and ``l`` match each other (``1`` folds to ``i`` but often
    imitates ``l``) and a space inside the keyword may be missing (spaced-out letters collapse into one
    word). Raises ``ValueError`` when nothing is left of the keyword after normalisation.
    """
    text = normalise(keyword, form)
    if not text:
        raise ValueError(f"keyword {keyword!r} is empty once normalised")
    parts: list[str] = []
    for ch in text:
        if form is Form.FULL and ch in "il":
            parts.append("[il]")
        elif form is Form.FULL and ch == " ":
            parts.append(" ?")
        elif ch in _META:
            parts.append("\\" + ch)
        else:
            parts.append(ch)
    boundary = " " if form is Form.FULL else _NOT_WORD
    start = boundary if _bounded(text[0]) else ""
    end = boundary if _bounded(text[-1]) else ""
    return f"{start}({''.join(parts)}){end}"
