"""The risk that a request is forged, scored rule by rule, each rule explained (pure).

Forged requests are not hypothetical: in 2022 compromised police mailboxes sent forged emergency requests
that Apple, Meta and Discord answered with user data; in 2024 the FBI warned that fake requests were sold
for 1,000-3,000 USD; one portal operator saw about 30% of 1,597 emergency requests fail second-level
verification (reference/legal-instruments.md, "How real platforms answer"). So every request is scored on
what an impostor cannot easily fake, and one that scores `HOLD_AT` or more is held for a callback on a
directory number before any data leaves (``lawful/callbacks.py``). Instruments that require a callback
(``callback_verification``: a US emergency disclosure) are held whatever their score.

The rules and their points are data (`RULES`); `assess` returns every rule that fired with the sentence
the console shows. Nothing here reads the database or the clock: `RiskFacts` carries what the intake
gathered.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from trustdesk.vocabulary import IssuerKind

__all__ = [
    "HOLD_AT",
    "RULES",
    "MailFacts",
    "Risk",
    "RiskFacts",
    "RiskReason",
    "acts_cited",
    "assess",
    "looks_alike",
]

HOLD_AT: Final = 40
"""A request scoring this much or more is held for a callback before any data leaves."""

RULES: Final = {
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
"""Points per rule. An impostor with a stolen key fires several at once (new network, unusual volume, a
supervisor on a look-alike domain); a real officer's routine request fires at most "unsigned"."""

NEW_OFFICER: Final = timedelta(days=7)
CHANGED_RECENTLY: Final = timedelta(days=1)
VOLUME_PER_DAY: Final = 5
HIGH_RISK_IN_EMERGENCY: Final = frozenset({"content", "traffic"})
"""Categories an emergency rarely needs at once and an impostor most wants: messages and their metadata."""

_EU_ACT: Final = re.compile(r"\b(\d{4})/(\d{1,4})\b")
_US_CODE: Final = re.compile(
    r"\b(\d{1,2})\s*U\.?\s*S\.?\s*C\.?\s*(?:§+|sec(?:tion)?\.?)?\s*(\d{3,5}[a-z]?)", re.IGNORECASE
)


def acts_cited(text: str) -> frozenset[str]:
    """The acts a legal reference names, normalised: EU acts by year and number (``2023/1543``), US Code
    sections by title and section (``18 USC 2702``). Other citations are not recognised (empty)."""
    found = {f"{year}/{number}" for year, number in _EU_ACT.findall(text)}
    found |= {f"{title} USC {section.lower()}" for title, section in _US_CODE.findall(text)}
    return frozenset(found)


_HOMOGLYPHS: Final = str.maketrans({"0": "o", "1": "l", "i": "l", "3": "e", "5": "s"})


def _skeleton(domain: str) -> str:
    return domain.lower().replace("rn", "m").replace("vv", "w").translate(_HOMOGLYPHS).replace("-", "")


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (small strings: domains)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def looks_alike(domain: str, official: Iterable[str]) -> str | None:
    """The official domain ``domain`` imitates (one or two characters off, a homoglyph, the official name
    under another suffix, or the whole official domain flattened into one name: justice-fr.com), or None
    when it is official or unlike them all."""
    domain = domain.lower().rstrip(".")
    reals = [d.lower().rstrip(".") for d in official]
    if any(domain == real or domain.endswith("." + real) for real in reals):
        return None
    for real in reals:
        if _skeleton(domain) == _skeleton(real) or _distance(domain, real) <= 2:
            return real
        if domain.split(".")[0] == real.split(".")[0] and len(real.split(".")[0]) >= 4:
            return real  # the same name under another suffix: police-city.gov.example.net
        if "." in real and _skeleton(domain.split(".")[0]) == _skeleton(real.replace(".", "")):
            return real  # the official domain as one name: justice-fr.com, fbigov.net
    return None


@dataclass(frozen=True)
class MailFacts:
    """What the intake's authenticity check found about the e-mail or letter a request came in."""

    channel: str
    """``email`` or ``mailroom``."""
    authenticated: bool
    """DKIM or SPF aligned with the From: domain, DMARC not failing, and that domain the agency's."""
    from_domain: str | None = None
    lookalike_of: str | None = None


@dataclass(frozen=True)
class RiskFacts:
    """What the intake knows about a request and who sent it."""

    received_at: datetime
    signed: bool
    officer_created_at: datetime
    key_created_at: datetime | None
    """When the credential used was issued (an API key; None on the portal)."""
    new_network: bool
    agency_kind: IssuerKind
    claimed_kind: IssuerKind
    agency_domains: tuple[str, ...]
    contact_email: str | None
    """The supervisor's e-mail the request names (the callback must not use it)."""
    officer_requests_last_day: int
    emergency: bool
    categories: frozenset[str]
    instrument_acts: frozenset[str]
    other_instruments_acts: frozenset[str]
    legal_basis: str
    targets_in_other_emergencies: int
    callback_required_by_law: bool = False
    agency_signs: bool = False
    """The agency has registered a signing key (so its own requests come signed)."""
    mail: MailFacts | None = None
    """How an e-mail or a scanned letter it came in was authenticated; None: the portal or the API."""


@dataclass(frozen=True)
class RiskReason:
    code: str
    points: int
    sentence: str


@dataclass(frozen=True)
class Risk:
    score: int
    reasons: tuple[RiskReason, ...]
    hold: bool
    """Held for a callback before anything is disclosed."""
    callback_required_by_law: bool = False


def _kind(kind: IssuerKind) -> str:
    return kind.value.replace("_", " ")


def _fired(facts: RiskFacts) -> list[tuple[str, str]]:
    fired: list[tuple[str, str]] = []

    def fire(code: str, sentence: str) -> None:
        fired.append((code, sentence))

    if not facts.signed:
        fire("unsigned", "The request is not signed with the agency's registered key.")
        if facts.agency_signs:
            fire(
                "unsigned_but_agency_signs",
                "The agency has registered a signing key, yet this request is unsigned: it may come from "
                "someone holding only a stolen API key.",
            )
    if facts.received_at - facts.officer_created_at < NEW_OFFICER:
        fire("officer_new", "The officer's account is less than 7 days old.")
    if facts.key_created_at is not None and facts.received_at - facts.key_created_at < CHANGED_RECENTLY:
        fire("credentials_changed", "The API key used was issued less than a day ago.")
    if facts.new_network:
        fire("new_network", "This key has never been used from this network before.")
    if facts.contact_email and "@" in facts.contact_email:
        domain = facts.contact_email.rsplit("@", 1)[1].lower()
        imitated = looks_alike(domain, facts.agency_domains)
        if imitated is not None:
            fire("contact_domain_look_alike", f"The supervisor's e-mail domain {domain} imitates {imitated}.")
        elif not any(domain == d or domain.endswith("." + d) for d in facts.agency_domains):
            fire("contact_domain_mismatch", f"The supervisor's e-mail domain {domain} is not the agency's.")
    if facts.officer_requests_last_day >= VOLUME_PER_DAY:
        fire("volume", f"The officer sent {facts.officer_requests_last_day} requests in the last 24 hours.")
    cited = acts_cited(facts.legal_basis)
    if facts.instrument_acts and not cited & facts.instrument_acts:
        foreign = sorted(cited & facts.other_instruments_acts)
        which = f", but cites {', '.join(foreign)}" if foreign else ""
        acts = ", ".join(sorted(facts.instrument_acts))
        fire(
            "legal_basis_inconsistent", f"The legal basis does not cite the instrument's act ({acts}){which}."
        )
    risky = sorted(facts.categories & HIGH_RISK_IN_EMERGENCY)
    if facts.emergency and risky:
        fire("emergency_content", f"An emergency request asks for {' and '.join(risky)} data.")
    if facts.targets_in_other_emergencies:
        n = facts.targets_in_other_emergencies
        fire(
            "targets_in_other_emergencies",
            f"The same targets are in {n} other emergency request(s) this week.",
        )
    if facts.claimed_kind != facts.agency_kind:
        fire(
            "kind_claimed",
            f"The request claims a {_kind(facts.claimed_kind)} as issuing authority, but the agency is "
            f"verified as a {_kind(facts.agency_kind)}: it is judged as one.",
        )
    if facts.mail is not None:
        _fire_mail(facts.mail, fire)
    return fired


def _fire_mail(mail: MailFacts, fire: Callable[[str, str], None]) -> None:
    if mail.channel == "mailroom":
        fire(
            "letter_unverified",
            "A letter or fax scanned by the mailroom: nothing electronic authenticates its sender.",
        )
        return
    fire(
        "by_email",
        "Sent by e-mail: a compromised police mailbox sends authenticated mail too (the 2022 forged "
        "emergency requests came that way).",
    )
    if mail.lookalike_of is not None:
        fire("mail_lookalike", f"The mail came from {mail.from_domain}, which imitates {mail.lookalike_of}.")
    elif not mail.authenticated:
        fire(
            "mail_not_authenticated",
            "The mail is not authenticated as the agency's (no DKIM or SPF aligned with an official domain, "
            "or DMARC fails): anyone can write that From: address.",
        )


def assess(facts: RiskFacts) -> Risk:
    """Every rule that fires, with its points and sentence; held at `HOLD_AT` or when the law requires
    a callback."""
    reasons = tuple(RiskReason(code, RULES[code], sentence) for code, sentence in _fired(facts))
    score = sum(r.points for r in reasons)
    return Risk(
        score=score,
        reasons=reasons,
        hold=score >= HOLD_AT or facts.callback_required_by_law,
        callback_required_by_law=facts.callback_required_by_law,
    )
