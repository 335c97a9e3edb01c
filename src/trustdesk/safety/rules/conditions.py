"""The event a rule is evaluated against, and the conditions a rule puts on it.

Conditions are checked only for rules whose patterns matched, so their cost does not grow with the
number of rules. The language condition is the only expensive one: the language is detected (with
py3langid, loaded on first use) only when the event does not say it and a matching rule asks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from trustdesk.safety.vocabulary import ChatType

__all__ = ["Conditions", "TextEvent", "detect_language", "known_languages"]

UNKNOWN_LANGUAGE: Final = ""


@dataclass(frozen=True, slots=True)
class TextEvent:
    """A text to evaluate, with what the rules' conditions may ask about it."""

    text: str
    chat_type: ChatType
    audience: int
    """How many accounts can read it (members of the chat or channel, 2 for a one-to-one chat)."""
    account_age_days: int | None = None
    """Age of the sender's account in whole days; None when unknown (age conditions then fail)."""
    language: str | None = None
    """ISO 639 code when the platform knows it; None to detect it if a rule needs it."""


@dataclass(frozen=True, slots=True)
class Conditions:
    """What an event must also satisfy for a matching rule to hit; None or empty means no limit."""

    chat_types: frozenset[ChatType] = frozenset()
    min_audience: int | None = None
    max_audience: int | None = None
    languages: frozenset[str] = frozenset()
    min_account_age_days: int | None = None
    max_account_age_days: int | None = None

    @property
    def needs_language(self) -> bool:
        return bool(self.languages)

    def allows(self, event: TextEvent, language: Callable[[], str]) -> bool:
        """Whether ``event`` satisfies every condition; ``language`` gives its language when asked."""
        if self.chat_types and event.chat_type not in self.chat_types:
            return False
        if self.min_audience is not None and event.audience < self.min_audience:
            return False
        if self.max_audience is not None and event.audience > self.max_audience:
            return False
        age = event.account_age_days
        if self.min_account_age_days is not None and (age is None or age < self.min_account_age_days):
            return False
        if self.max_account_age_days is not None and (age is None or age > self.max_account_age_days):
            return False
        return not self.languages or language() in self.languages


@functools.cache
def _identifier() -> object:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

    # Our own instance: py3langid's module-level identifier can be restricted by anyone (set_languages).
    return LanguageIdentifier.from_model_file(MODEL_FILE)


def known_languages() -> frozenset[str]:
    """The language codes the detector can return (loads its model, about a second, once)."""
    labels: list[str] = _identifier().labels  # type: ignore[attr-defined]
    return frozenset(labels)


def detect_language(text: str) -> str:
    """The most likely language of ``text`` (an ISO 639 code), or "" for text without letters."""
    if not any(ch.isalpha() for ch in text):
        return UNKNOWN_LANGUAGE
    language: str = _identifier().classify(text)[0]  # type: ignore[attr-defined]
    return language
