"""Is this e-mail from whom it says? DKIM (dkimpy), SPF (pyspf) and DMARC (RFC 7489, evaluated here), then
the From: domain matched against the registered agencies' official domains, with look-alikes flagged.

The result is a plain dict, stored on the message (``InboundMessage.authenticity``) and shown to staff as
is: every verdict comes with the sentences that explain it. A mail is attributed to an agency only when its
From: domain is one of the agency's official domains (or a subdomain) *and* an authenticated identifier
(a passing DKIM signature or a passing SPF check) is aligned with that From: domain, and DMARC does not
fail: a mail from ``justice.fr`` that fails DMARC is exactly what a forger sends.

Every DNS answer comes from an injected ``Lookup`` (``system_lookup`` in production, ``StaticDns`` in the
tests): nothing here reaches the network on its own. No ORM, no web, no clock.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any, Final

import dkim  # type: ignore[import-untyped]
import spf  # type: ignore[import-untyped]

from trustdesk.authorities.service import domain_belongs
from trustdesk.lawful.risk import looks_alike

__all__ = [
    "AgencyDomains",
    "Lookup",
    "StaticDns",
    "check",
    "dmarc_record",
    "organizational_domain",
    "system_lookup",
]

Lookup = Callable[[str, str], list[Any]]
"""``lookup(name, qtype)``: the answers as pyspf expects them — TXT: tuples of byte strings (one per record),
A/AAAA: address strings, MX: (preference, exchange) pairs, PTR: names; [] when there are none."""

DNS_TIMEOUT: Final = 5.0

# Suffixes under which organisations register their domains with more than one label (a short list: the
# public suffixes agencies use; the full Public Suffix List is not shipped). Everything else: the last two
# labels are the organisational domain.
_MULTI_LABEL_SUFFIXES: Final = frozenset(
    {
        "gov.uk", "police.uk", "co.uk", "org.uk", "ac.uk", "gouv.fr", "gov.au", "com.au", "gov.br",
        "gov.in", "nic.in", "gov.it", "gob.es", "gv.at", "gov.pl", "gov.pt", "gov.ie", "gov.gr", "gov.cy",
        "gov.mt", "gov.lv", "gov.lt", "gov.si", "gov.sk", "gov.hr", "gov.ro", "gov.bg", "gov.cz",
        "admin.ch", "govt.nz", "gc.ca", "gov.example",
    }
)  # fmt: skip


def organizational_domain(domain: str) -> str:
    """RFC 7489 section 3.2, with a short built-in list of public suffixes: ``mail.justice.fr`` ->
    ``justice.fr``; ``met.police.uk`` -> ``met.police.uk``."""
    labels = domain.lower().rstrip(".").split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _MULTI_LABEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def aligned(identifier: str | None, from_domain: str, mode: str) -> bool:
    """Identifier alignment (RFC 7489 section 3.1): strict — the same domain; relaxed — the same
    organisational domain."""
    if not identifier:
        return False
    identifier, from_domain = identifier.lower().rstrip("."), from_domain.lower().rstrip(".")
    if mode == "s":
        return identifier == from_domain
    return organizational_domain(identifier) == organizational_domain(from_domain)


# --- DNS ------------------------------------------------------------------------------------------------


def system_lookup(name: str, qtype: str) -> list[Any]:
    """The real resolver (dnspython), in pyspf's answer format; a DNS failure raises ``spf.TempError``."""
    import dns.exception
    import dns.resolver

    try:
        answers = dns.resolver.resolve(name, qtype, lifetime=DNS_TIMEOUT)
    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise spf.TempError(f"DNS {exc}") from exc
    found: list[Any] = []
    for rdata in answers:
        if qtype in ("A", "AAAA"):
            found.append(rdata.address)
        elif qtype == "MX":
            found.append((rdata.preference, rdata.exchange.to_text(True)))
        elif qtype == "PTR":
            found.append(rdata.target.to_text(True))
        elif qtype in ("TXT", "SPF"):
            found.append(tuple(rdata.strings))
    return found


@dataclass
class StaticDns:
    """A DNS of fixed answers, for tests and for replaying what was seen: ``{("name", "TXT"): ["v=..."]}``
    (TXT values as text; each one record)."""

    records: Mapping[tuple[str, str], list[Any]]

    def __call__(self, name: str, qtype: str) -> list[Any]:
        values = self.records.get((name.lower().rstrip("."), qtype), [])
        if qtype in ("TXT", "SPF"):
            return [(v.encode() if isinstance(v, str) else v,) for v in values]
        return list(values)


def _txt(lookup: Lookup, name: str) -> list[bytes]:
    return [b"".join(parts) for parts in lookup(name, "TXT")]


# --- DKIM -----------------------------------------------------------------------------------------------


def _dkim(raw: bytes, lookup: Lookup) -> list[dict[str, Any]]:
    """Every DKIM signature of the message, verified: [{domain, selector, result, reason}]."""

    def dnsfunc(name: bytes, timeout: float = DNS_TIMEOUT) -> bytes:  # noqa: ARG001 - dkimpy passes it
        records = _txt(lookup, name.decode("ascii", "replace").rstrip("."))
        return records[0] if records else b""

    try:
        verifier = dkim.DKIM(raw, minkey=1024)
    except dkim.MessageFormatError as exc:
        return [{"domain": None, "selector": None, "result": "fail", "reason": f"unreadable headers: {exc}"}]
    count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
    results = []
    for idx in range(min(count, 5)):
        try:
            ok = bool(verifier.verify(idx=idx, dnsfunc=dnsfunc))
            reason = "" if ok else "the signature does not match the message (altered, or another key)"
        except dkim.DKIMException as exc:
            ok, reason = False, str(exc)
        except spf.TempError as exc:
            ok, reason = False, f"the key could not be looked up: {exc}"
        domain = verifier.domain.decode("ascii", "replace").lower() if verifier.domain else None
        selector = verifier.selector
        selector = selector.decode("ascii", "replace") if isinstance(selector, bytes) else None
        result = "pass" if ok else "fail"
        results.append({"domain": domain, "selector": selector, "result": result, "reason": reason})
    return results


# --- SPF ------------------------------------------------------------------------------------------------


class _Query(spf.query):  # type: ignore[misc]  # pyspf is untyped
    """pyspf's evaluator, asking the injected lookup instead of its own resolver."""

    def __init__(self, lookup: Lookup, **kwargs: Any) -> None:
        self._lookup = lookup
        super().__init__(**kwargs)

    def dns(
        self,
        name: str,
        qtype: str,
        cnames: object = None,  # noqa: ARG002 - pyspf's signature; the injected lookup follows CNAMEs
        ignore_void: bool = False,
    ) -> list[Any]:
        name = str(name).rstrip(".").lower()
        if not name:
            raise spf.PermError("Invalid query")
        result = self._lookup(name, qtype)
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result


def _spf(
    client_ip: str | None, mail_from: str | None, helo: str | None, lookup: Lookup
) -> tuple[str, str | None, str]:
    """(result, domain checked, explanation): SPF of the envelope sender (or the HELO name when the
    envelope sender is empty, RFC 7208 section 2.4)."""
    if not client_ip:
        return "none", None, "no SMTP client address is known (read from a mailbox or a file): not checked"
    sender = mail_from or (f"postmaster@{helo}" if helo else "")
    if "@" not in sender:
        return "none", None, "no envelope sender or HELO name: SPF not checked"
    domain = sender.rsplit("@", 1)[1].lower()
    try:
        query = _Query(lookup, i=client_ip, s=sender, h=helo or domain, timeout=DNS_TIMEOUT)
        result, _code, explanation = query.check()
    except (spf.TempError, spf.PermError) as exc:
        return "temperror" if isinstance(exc, spf.TempError) else "permerror", domain, str(exc)
    return str(result), domain, str(explanation)


# --- DMARC ----------------------------------------------------------------------------------------------


def parse_dmarc(record: str) -> dict[str, str] | None:
    """The tags of a DMARC record (``v=DMARC1; p=reject; adkim=s``), or None if it is not one."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            tags[key.strip().lower()] = value.strip()
    if tags.get("v") != "DMARC1" or tags.get("p", "").lower() not in ("none", "quarantine", "reject"):
        return None
    return tags


def dmarc_record(from_domain: str, lookup: Lookup) -> tuple[dict[str, str] | None, str | None]:
    """Policy discovery (RFC 7489 section 6.6.3): ``_dmarc.`` of the From: domain, else of its organisational
    domain; (tags, the domain it was found at). Several records at one name count as none."""
    org = organizational_domain(from_domain)
    for domain in dict.fromkeys([from_domain, org]):
        records = [r.decode("utf-8", "replace") for r in _txt(lookup, f"_dmarc.{domain}")]
        parsed = [p for p in (parse_dmarc(r) for r in records if r.startswith("v=DMARC1")) if p]
        if len(parsed) == 1:
            return parsed[0], domain
    return None, None


# --- the verdict ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyDomains:
    """A registered agency and its official e-mail domains."""

    agency_id: str
    name: str
    domains: tuple[str, ...]


def from_domain_of(message: EmailMessage) -> tuple[str | None, str | None]:
    """(the single From: address, its domain), or (None, why not)."""
    try:
        header = message["From"]
        addresses: tuple[Address, ...] = tuple(header.addresses) if header is not None else ()
    except (ValueError, IndexError, AttributeError, TypeError):
        return None, "the From: header cannot be read"
    if len(addresses) != 1 or not addresses[0].domain:
        return None, "the message must have exactly one From: address"
    return addresses[0].addr_spec, addresses[0].domain.lower().rstrip(".")


def check(
    raw: bytes,
    message: EmailMessage | None,
    agencies: Iterable[AgencyDomains],
    lookup: Lookup,
    *,
    client_ip: str | None = None,
    mail_from: str | None = None,
    helo: str | None = None,
) -> dict[str, Any]:
    """The authenticity verdict of one message, as staff are shown it."""
    reasons: list[str] = []
    from_domain: str | None = None
    if message is not None:
        _address, found = from_domain_of(message)
        if _address is None:
            reasons.append(f"{found}: it cannot be attributed to anyone")
        else:
            from_domain = found
    else:
        reasons.append("the message cannot be parsed: it cannot be attributed to anyone")

    signatures = _dkim(raw, lookup)
    passing = [s for s in signatures if s["result"] == "pass"]
    dkim_result = "none" if not signatures else ("pass" if passing else "fail")
    if not signatures:
        reasons.append("DKIM: the message is not signed")
    for sig in signatures:
        if sig["result"] == "pass":
            reasons.append(f"DKIM: a valid signature of {sig['domain']} (selector {sig['selector']})")
        else:
            signer = sig["domain"] or "an unknown domain"
            reasons.append(f"DKIM: the signature of {signer} fails: {sig['reason']}")

    spf_result, spf_domain, spf_why = _spf(client_ip, mail_from, helo, lookup)
    reasons.append(f"SPF {spf_result}" + (f" for {spf_domain}" if spf_domain else "") + f": {spf_why}")

    policy: str | None = None
    dmarc_result = "none"
    is_aligned = False
    dkim_domain = passing[0]["domain"] if passing else (signatures[0]["domain"] if signatures else None)
    if from_domain:
        tags, found_at = dmarc_record(from_domain, lookup)
        adkim = (tags or {}).get("adkim", "r").lower()
        aspf = (tags or {}).get("aspf", "r").lower()
        dkim_aligned = [s["domain"] for s in passing if aligned(s["domain"], from_domain, adkim)]
        spf_aligned = spf_result == "pass" and aligned(spf_domain, from_domain, aspf)
        is_aligned = bool(dkim_aligned) or spf_aligned
        if dkim_aligned:
            dkim_domain = dkim_aligned[0]
            reasons.append(f"the DKIM domain {dkim_domain} is aligned with the From: domain {from_domain}")
        if spf_aligned:
            reasons.append(f"the SPF domain {spf_domain} is aligned with the From: domain {from_domain}")
        if not is_aligned:
            reasons.append(
                f"no authenticated domain (DKIM or SPF) is aligned with the From: domain {from_domain}"
            )
        if tags is None:
            reasons.append(f"DMARC: {from_domain} publishes no DMARC policy")
        else:
            subdomain = found_at != from_domain
            policy = (tags["sp"] if subdomain and "sp" in tags else tags["p"]).lower()
            dmarc_result = "pass" if is_aligned else "fail"
            reasons.append(
                f"DMARC {dmarc_result} (policy p={policy} published at _dmarc.{found_at}, "
                f"adkim={adkim}, aspf={aspf})"
            )

    match, agency_id, lookalike_of = (
        _attribute(from_domain, list(agencies), dmarc_result, is_aligned, reasons)
        if from_domain
        else ("unknown", None, None)
    )
    return {
        "dkim": dkim_result,
        "dkim_domain": dkim_domain,
        "spf": spf_result,
        "spf_domain": spf_domain,
        "dmarc": dmarc_result,
        "policy": policy,
        "aligned": is_aligned,
        "from_domain": from_domain,
        "agency_id": agency_id,
        "domain_match": match,
        "lookalike_of": lookalike_of,
        "reasons": reasons,
    }


def _attribute(
    from_domain: str,
    agency_list: list[AgencyDomains],
    dmarc_result: str,
    is_aligned: bool,
    reasons: list[str],
) -> tuple[str, str | None, str | None]:
    """(domain match, the agency attributed, the official domain imitated), the reasons appended."""
    match, agency_id, lookalike_of = "unknown", None, None
    owner = next((a for a in agency_list if domain_belongs(from_domain, list(a.domains))), None)
    if owner is not None:
        match = "exact"
        if dmarc_result == "fail":
            reasons.append(
                f"{from_domain} is an official domain of {owner.name}, but the mail fails DMARC: it is "
                "NOT attributed to the agency (a forged sender looks exactly like this)"
            )
        elif not is_aligned:
            reasons.append(
                f"{from_domain} is an official domain of {owner.name}, but nothing authenticates the "
                "sender: it is NOT attributed to the agency"
            )
        else:
            agency_id = owner.agency_id
            reasons.append(f"attributed to {owner.name}: {from_domain} is one of its official domains")
    else:
        for agency in agency_list:
            imitated = looks_alike(from_domain, agency.domains)
            if imitated:
                match, lookalike_of = "lookalike", imitated
                reasons.append(
                    f"{from_domain} looks like {imitated}, an official domain of {agency.name}, but is "
                    "not it: a likely forgery"
                )
                break
        else:
            reasons.append(f"{from_domain} is not the domain of any registered agency")
    return match, agency_id, lookalike_of
