"""Admissibility: whether an authority may use an instrument at all, and which ones it could use instead.

Pure (no ORM, no clock): intake asks it on receipt, to record and refuse at once an order the law does not
make available to that authority (``instrument_not_applicable``: the catalogue's jurisdictions, its
``applies_from``, or a cross-border-only instrument from the State where the platform's own legal
representative sits) or that the platform's policy does not list for that country
(``instrument_not_recognised``); the engine's rule I1 says the same in its explanation. Either answer
names the instruments that WOULD be valid: those the platform recognises for that country, that apply at
that time, of the same family (production and information count as one), in catalogue order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from trustdesk.lawful.catalogue import Catalogue, Instrument
from trustdesk.policy.rules import Jurisdiction, JurisdictionStatus, PolicySet
from trustdesk.policy.values import Ground
from trustdesk.policy.wording import join
from trustdesk.vocabulary import InstrumentCode, InstrumentKind

__all__ = ["Admissibility", "admissibility", "assess"]


@dataclass(frozen=True)
class Admissibility:
    """Why an instrument cannot be used by that authority, in one sentence, and what could be used."""

    ground: Ground
    """``instrument_not_applicable``, ``instrument_not_recognised`` or ``jurisdiction_exited``."""
    sentence: str
    alternatives: tuple[InstrumentCode, ...]


def _family(kind: InstrumentKind) -> InstrumentKind:
    return InstrumentKind.PRODUCTION if kind is InstrumentKind.INFORMATION else kind


def _available(
    instrument: Instrument, country: str, at: datetime | None, representative_country: str | None
) -> bool:
    """Whether the law makes ``instrument`` available to an authority of ``country`` (at ``at``)."""
    if not (instrument.any_jurisdiction or country in instrument.jurisdictions):
        return False
    if at is not None and not instrument.applies_in(country, at):
        return False
    return not (instrument.cross_border_only and representative_country == country)


def _alternatives(
    instrument: Instrument,
    country: str,
    at: datetime | None,
    jurisdiction: Jurisdiction | None,
    representative_country: str | None,
    instruments: Iterable[Instrument],
) -> tuple[InstrumentCode, ...]:
    if jurisdiction is None or jurisdiction.status is JurisdictionStatus.EXITED:
        return ()
    family = _family(instrument.kind)
    return tuple(
        other.code
        for other in instruments
        if other.code is not instrument.code
        and jurisdiction.recognises(other.code)
        and _family(other.kind) is family
        and _available(other, country, at, representative_country)
    )


def _instead(
    alternatives: tuple[InstrumentCode, ...], country: str, titles: dict[InstrumentCode, str] | None
) -> str:
    if titles is None:
        return ""
    if not alternatives:
        return f"; the platform recognises no other instrument of this kind from the authorities of {country}"
    names = join((f"{code} ({titles[code]})" for code in alternatives), "or")
    return f"; the authorities of {country} may use {names} instead"


def assess(
    instrument: Instrument,
    country: str,
    at: datetime | None,
    jurisdiction: Jurisdiction | None,
    representative_country: str | None,
    instruments: Iterable[Instrument] | None,
) -> Admissibility | None:
    """The check behind :func:`admissibility` and rule I1, on what the caller already has.

    ``at`` None skips ``applies_from``; ``jurisdiction`` None (the policy has no entry: J1 escalates)
    checks the law only; ``representative_country`` is where the platform's contact for that
    jurisdiction sits; ``instruments`` None names no alternatives (the sentence says nothing of them).
    """
    if jurisdiction is not None and jurisdiction.status is JurisdictionStatus.EXITED:
        reason = (jurisdiction.reason or "").rstrip(".")
        return Admissibility(
            Ground.JURISDICTION_EXITED,
            f"The platform left {jurisdiction.name} ({jurisdiction.code}) and answers no request from its "
            f"authorities (reason: {reason}).",
            (),
        )
    code = instrument.code
    pool = [] if instruments is None else list(instruments)
    titles = None if instruments is None else {other.code: other.title for other in pool}
    alternatives = _alternatives(instrument, country, at, jurisdiction, representative_country, pool)
    where = country if jurisdiction is None else f"{jurisdiction.name} ({jurisdiction.code})"
    instead = _instead(alternatives, where, titles)
    named = f"{code} ({instrument.title})"
    if not (instrument.any_jurisdiction or country in instrument.jurisdictions):
        return Admissibility(
            Ground.INSTRUMENT_NOT_APPLICABLE,
            f"Per the instrument catalogue, {named} cannot be used by an authority of {where}, so the "
            f"request is refused{instead}.",
            alternatives,
        )
    if at is not None and not instrument.applies_in(country, at):
        return Admissibility(
            Ground.INSTRUMENT_NOT_APPLICABLE,
            f"{named} applies only from {instrument.applies_from}, and this order was received on "
            f"{at.astimezone(UTC).date()}, so the request is refused{instead}.",
            alternatives,
        )
    if instrument.cross_border_only and representative_country == country:
        return Admissibility(
            Ground.INSTRUMENT_NOT_APPLICABLE,
            f"{named} goes only to an addressee in another Member State (Regulation (EU) 2023/1543 "
            f"Art. 1(1), 3), and the platform's legal representative sits in {country}, so an order from "
            f"{where} is a national order and the request is refused{instead}.",
            alternatives,
        )
    if jurisdiction is not None and not jurisdiction.recognises(code):
        return Admissibility(
            Ground.INSTRUMENT_NOT_RECOGNISED,
            f"The platform's policy for {jurisdiction.name} ({jurisdiction.code}) does not recognise "
            f"{named}, so the request is refused{instead}.",
            alternatives,
        )
    return None


def admissibility(
    country: str, instrument_code: InstrumentCode, at: datetime, policy: PolicySet, catalogue: Catalogue
) -> Admissibility | None:
    """None when an authority of ``country`` may use the instrument at ``at`` (aware), else why not and
    the alternatives. Exited jurisdictions give ``jurisdiction_exited`` (no alternatives); a country the
    policy does not know is checked against the law only (the engine escalates it, rule J1)."""
    if at.utcoffset() is None:
        raise ValueError(f"admissibility needs an aware datetime, got {at!r}")
    country = country.upper()
    jurisdiction = policy.jurisdiction(country)
    contact = None if jurisdiction is None else jurisdiction.contact
    representative = None if contact is None else contact.country
    return assess(catalogue.get(instrument_code), country, at, jurisdiction, representative, catalogue)
