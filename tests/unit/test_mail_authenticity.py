"""DKIM, SPF and DMARC of inbound mail, with every DNS answer served by the test (``StaticDns``), and the
From: domain matched against the agencies: a mail signed in the test by an agency's key passes and is
attributed; the same mail altered, forged, or from a look-alike domain is not.

The helpers at the top (``mail``, ``sign``, ``agency_dns``) are shared with
tests/integration/test_mail_intake.py.
"""

from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache
from typing import Any

import dkim
import pytest

from trustdesk.intake.authenticity import (
    AgencyDomains,
    StaticDns,
    aligned,
    check,
    dmarc_record,
    organizational_domain,
    parse_dmarc,
)
from trustdesk.intake.demo import dkim_key_pair
from trustdesk.intake.store import EMAIL

AGENCY = AgencyDomains("agency-1", "Parquet de Paris", ("justice.fr",))
MTA_IP = "192.0.2.25"


key_pair = cache(dkim_key_pair)
"""(the PEM private key, the DNS key record's p= value), generated once per run."""


def mail(
    sender: str = "magistrate@justice.fr",
    to: str = "lawful@trustdesk.example",
    subject: str = "Réquisition — EPOC",
    body: str = "Réf. PJ-2026-114. Please preserve the account +33612345678. Urgent.",
    attachments: list[tuple[str, str, bytes]] | None = None,
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    for filename, content_type, content in attachments or []:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def wire(message: EmailMessage) -> bytes:
    """The message as it travels: CRLF line ends (smtplib does not convert the ends of a bytes message)."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def sign(message: EmailMessage, domain: str = "justice.fr", selector: str = "td2026") -> bytes:
    raw = wire(message)
    private, _ = key_pair()
    signature = dkim.sign(
        raw, selector.encode(), domain.encode(), private, include_headers=[b"from", b"to", b"subject"]
    )
    return bytes(signature) + raw


def agency_dns(
    domain: str = "justice.fr",
    selector: str = "td2026",
    dmarc: str | None = "v=DMARC1; p=reject",
    **extra: Any,
) -> StaticDns:
    """The agency's DNS: its DKIM key, an SPF record allowing the MTA, and its DMARC policy."""
    _, public = key_pair()
    records: dict[tuple[str, str], list[Any]] = {
        (f"{selector}._domainkey.{domain}", "TXT"): [f"v=DKIM1; k=rsa; p={public}"],
        (domain, "TXT"): [f"v=spf1 ip4:{MTA_IP} -all"],
    }
    if dmarc:
        records[(f"_dmarc.{domain}", "TXT")] = [dmarc]
    records.update(extra.get("records", {}))
    return StaticDns(records)


def parsed(raw: bytes) -> EmailMessage:
    import email
    import email.policy

    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


# --- DKIM -----------------------------------------------------------------------------------------------


def test_a_mail_signed_by_the_agency_passes_and_is_attributed() -> None:
    raw = sign(mail())
    verdict = check(raw, parsed(raw), [AGENCY], agency_dns())
    assert verdict["dkim"] == "pass"
    assert verdict["dkim_domain"] == "justice.fr"
    assert verdict["dmarc"] == "pass"
    assert verdict["policy"] == "reject"
    assert verdict["aligned"] is True
    assert verdict["domain_match"] == "exact"
    assert verdict["agency_id"] == "agency-1"
    assert any("attributed to Parquet de Paris" in r for r in verdict["reasons"])


def test_a_tampered_body_fails_dkim_and_dmarc_and_is_not_attributed() -> None:
    raw = sign(mail()).replace(b"+33612345678", b"+33699999999")
    verdict = check(raw, parsed(raw), [AGENCY], agency_dns())
    assert verdict["dkim"] == "fail"
    assert verdict["dmarc"] == "fail"
    assert verdict["agency_id"] is None
    assert verdict["domain_match"] == "exact"
    assert any("NOT attributed" in r and "fails DMARC" in r for r in verdict["reasons"])


def test_a_signature_whose_key_is_not_published_fails() -> None:
    raw = sign(mail())
    verdict = check(
        raw, parsed(raw), [AGENCY], StaticDns({("_dmarc.justice.fr", "TXT"): ["v=DMARC1; p=none"]})
    )
    assert verdict["dkim"] == "fail"
    assert verdict["dmarc"] == "fail"
    assert verdict["agency_id"] is None


def test_an_unsigned_mail_from_an_agency_domain_is_not_attributed() -> None:
    raw = mail().as_bytes()
    verdict = check(raw, parsed(raw), [AGENCY], agency_dns())
    assert verdict["dkim"] == "none"
    assert verdict["dmarc"] == "fail"
    assert verdict["agency_id"] is None
    assert "DKIM: the message is not signed" in verdict["reasons"]


# --- DMARC alignment ------------------------------------------------------------------------------------


def test_a_valid_signature_of_another_domain_is_not_aligned() -> None:
    """The forger signs with their own domain's key: DKIM passes, but for the wrong domain."""
    raw = sign(mail(), domain="forger.example")
    dns = StaticDns(
        agency_dns().records | agency_dns("forger.example", dmarc=None).records  # type: ignore[operator]
    )
    verdict = check(raw, parsed(raw), [AGENCY], dns)
    assert verdict["dkim"] == "pass"
    assert verdict["dkim_domain"] == "forger.example"
    assert verdict["aligned"] is False
    assert verdict["dmarc"] == "fail"
    assert verdict["agency_id"] is None


def test_relaxed_alignment_accepts_a_subdomain_signature_and_strict_refuses_it() -> None:
    raw = sign(mail(), domain="mail.justice.fr")
    relaxed = agency_dns(
        "mail.justice.fr", dmarc=None, records={("_dmarc.justice.fr", "TXT"): ["v=DMARC1; p=reject"]}
    )
    assert check(raw, parsed(raw), [AGENCY], relaxed)["dmarc"] == "pass"
    strict = agency_dns(
        "mail.justice.fr", dmarc=None, records={("_dmarc.justice.fr", "TXT"): ["v=DMARC1; p=reject; adkim=s"]}
    )
    verdict = check(raw, parsed(raw), [AGENCY], strict)
    assert verdict["dmarc"] == "fail"
    assert verdict["agency_id"] is None


def test_spf_pass_of_the_from_domain_is_aligned_without_dkim() -> None:
    raw = mail().as_bytes()
    verdict = check(
        raw,
        parsed(raw),
        [AGENCY],
        agency_dns(),
        client_ip=MTA_IP,
        mail_from="bounces@justice.fr",
        helo="mx.justice.fr",
    )
    assert verdict["spf"] == "pass"
    assert verdict["spf_domain"] == "justice.fr"
    assert verdict["dmarc"] == "pass"
    assert verdict["agency_id"] == "agency-1"


def test_spf_from_another_address_fails() -> None:
    raw = mail().as_bytes()
    verdict = check(
        raw, parsed(raw), [AGENCY], agency_dns(), client_ip="203.0.113.9", mail_from="x@justice.fr"
    )
    assert verdict["spf"] == "fail"
    assert verdict["dmarc"] == "fail"
    assert verdict["agency_id"] is None


def test_no_dmarc_record_but_an_aligned_signature_is_attributed_and_says_so() -> None:
    raw = sign(mail())
    verdict = check(raw, parsed(raw), [AGENCY], agency_dns(dmarc=None))
    assert verdict["dmarc"] == "none"
    assert verdict["policy"] is None
    assert verdict["agency_id"] == "agency-1"
    assert "DMARC: justice.fr publishes no DMARC policy" in verdict["reasons"]


def test_dmarc_records_and_organizational_domains() -> None:
    assert parse_dmarc("v=DMARC1; p=quarantine; adkim=s") == {"v": "DMARC1", "p": "quarantine", "adkim": "s"}
    assert parse_dmarc("v=DMARC1; p=bogus") is None
    assert parse_dmarc("v=spf1 -all") is None
    assert organizational_domain("mail.justice.fr") == "justice.fr"
    assert organizational_domain("a.met.police.uk") == "met.police.uk"
    assert aligned("mail.justice.fr", "justice.fr", "r")
    assert not aligned("mail.justice.fr", "justice.fr", "s")
    assert not aligned("justice.fr.evil.example", "justice.fr", "r")
    two = StaticDns({("_dmarc.justice.fr", "TXT"): ["v=DMARC1; p=reject", "v=DMARC1; p=none"]})
    assert dmarc_record("justice.fr", two) == (None, None)  # several records count as none (RFC 7489 6.6.3)
    org = StaticDns({("_dmarc.justice.fr", "TXT"): ["v=DMARC1; p=reject; sp=quarantine"]})
    assert dmarc_record("mail.justice.fr", org)[1] == "justice.fr"


def test_the_subdomain_policy_applies_to_a_subdomain() -> None:
    raw = mail(sender="greffe@mail.justice.fr").as_bytes()
    dns = StaticDns({("_dmarc.justice.fr", "TXT"): ["v=DMARC1; p=reject; sp=quarantine"]})
    verdict = check(raw, parsed(raw), [AGENCY], dns)
    assert verdict["policy"] == "quarantine"
    assert verdict["dmarc"] == "fail"


# --- agencies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["justlce.fr", "justice.com", "justice.fr.example", "justice-fr.com"])
def test_a_look_alike_domain_is_flagged_even_when_its_own_dkim_passes(domain: str) -> None:
    raw = sign(mail(sender=f"magistrate@{domain}"), domain=domain)
    verdict = check(raw, parsed(raw), [AGENCY], agency_dns(domain))
    assert verdict["dkim"] == "pass"
    assert verdict["dmarc"] == "pass"  # the forger's own domain authenticates fine...
    assert verdict["domain_match"] == "lookalike"  # ...but it is not the agency's
    assert verdict["lookalike_of"] == "justice.fr"
    assert verdict["agency_id"] is None
    assert any("looks like justice.fr" in r for r in verdict["reasons"])


def test_an_unknown_domain_is_unknown() -> None:
    raw = sign(mail(sender="someone@example.org"), domain="example.org")
    verdict = check(raw, parsed(raw), [AGENCY], agency_dns("example.org"))
    assert verdict["domain_match"] == "unknown"
    assert verdict["agency_id"] is None


def test_a_subdomain_of_the_agency_is_its_own() -> None:
    raw = sign(mail(sender="greffe@tj-paris.justice.fr"), domain="justice.fr")
    verdict = check(raw, parsed(raw), [AGENCY], agency_dns())
    assert verdict["domain_match"] == "exact"
    assert verdict["agency_id"] == "agency-1"


def test_two_from_addresses_cannot_be_attributed() -> None:
    raw = sign(mail(sender="a@justice.fr, b@justice.fr"))
    verdict = check(raw, parsed(raw), [AGENCY], agency_dns())
    assert verdict["agency_id"] is None
    assert verdict["from_domain"] is None
    assert any("exactly one From: address" in r for r in verdict["reasons"])


def test_the_channel_name_is_stable() -> None:
    assert EMAIL == "email"
