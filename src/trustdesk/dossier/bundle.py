"""A dossier on disk, its readable rendering, and its verification with nothing but the platform's key.

The bundle (``trustdesk dossier build --out DIR``, or the portal's three downloads):

- ``dossier.json``: the exact signed bytes (canonical JSON);
- ``dossier.sig``: the raw 64-byte Ed25519 signature of ``dossier.json`` (``openssl pkeyutl -verify
  -pubin -inkey platform.pem -rawin -in dossier.json -sigfile dossier.sig``);
- ``signature.json``: the same signature in hex with the key id, and the signature of ``dossier.html``;
- ``dossier.html``: the same figures, readable (no script), signed too.

`verify` checks the signatures, the checkpoint's signature, and every line: its leaf hashes to its leaf
hash, the leaf is a receipt of the line's day and country, the inclusion proof leads to the checkpoint's
root, and — where the salt is given (an agency's own dossier) — the leaf commits to the line's own
tracking number, instrument and time of receipt. The lines are numbered and counted, so a line removed is
named even by a reader who ignores the signature.
"""

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jinja2

from trustdesk.dossier.document import FORMAT, LogStatus, parse_stamp
from trustdesk.dossier.service import Built
from trustdesk.signing.protocol import Signer, key_id_for, verify_signature
from trustdesk.transparency.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from trustdesk.transparency.reports import canonical_json
from trustdesk.transparency.tlog.checks import check_inclusion
from trustdesk.transparency.tlog.leaves import RECEIPT, LeafError, commitment, parse_leaf, receipt_json

__all__ = [
    "DOCUMENT",
    "HTML",
    "SIGNATURE",
    "SIGNATURE_JSON",
    "Verdict",
    "render_html",
    "rendered",
    "verify",
    "verify_files",
    "write_bundle",
]

DOCUMENT: Final = "dossier.json"
SIGNATURE: Final = "dossier.sig"
SIGNATURE_JSON: Final = "signature.json"
HTML: Final = "dossier.html"


@cache
def _templates() -> jinja2.Environment:
    folder = resources.files("trustdesk.web") / "templates" / "dossier"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_html(document: dict[str, Any]) -> bytes:
    """The dossier for people: the same figures as the JSON, one table row a line, no script."""
    return _templates().get_template("document.html").render(d=document).encode()


def rendered(built: Built, signer: Signer) -> tuple[bytes, bytes]:
    """The HTML rendering of a built dossier and its signature."""
    html = render_html(built.document)
    return html, signer.sign(html)


def signature_sidecar(built: Built, html_signature: bytes) -> bytes:
    return (
        canonical_json(
            {
                "algorithm": "Ed25519",
                "key_id": built.key_id,
                "signs": DOCUMENT,
                "signature": built.signature.hex(),
                "html": {"name": HTML, "signature": html_signature.hex()},
            }
        )
        + b"\n"
    )


def write_bundle(out: Path, built: Built, html: bytes, html_signature: bytes) -> list[str]:
    """Write the bundle into ``out`` (created); returns the names written."""
    out.mkdir(parents=True, exist_ok=True)
    (out / DOCUMENT).write_bytes(built.data)
    (out / SIGNATURE).write_bytes(built.signature)
    (out / SIGNATURE_JSON).write_bytes(signature_sidecar(built, html_signature))
    (out / HTML).write_bytes(html)
    return [DOCUMENT, SIGNATURE, SIGNATURE_JSON, HTML]


@dataclass
class Verdict:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    lines: int = 0
    proven: int = 0
    pending: int = 0
    document: dict[str, Any] | None = None

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        document = self.document or {}
        return {
            "ok": self.ok,
            "problems": self.problems,
            "lines": self.lines,
            "proven": self.proven,
            "pending": self.pending,
            "scope": document.get("scope"),
            "period": document.get("period"),
            "count": document.get("count"),
            "tree_size": (document.get("log") or {}).get("tree_size"),
        }


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _signatures(folder: Path, verdict: Verdict) -> tuple[bytes | None, bytes | None]:
    """The document's signature (``dossier.sig``, else ``signature.json``) and the HTML's."""
    raw = _read(folder / SIGNATURE)
    sidecar = _read(folder / SIGNATURE_JSON)
    html_signature = None
    if sidecar is not None:
        try:
            detached = json.loads(sidecar)
            hex_signature = bytes.fromhex(str(detached["signature"]))
            html_signature = bytes.fromhex(str((detached.get("html") or {}).get("signature", "")))
        except (ValueError, KeyError, TypeError, AttributeError):
            verdict.fail(f"{SIGNATURE_JSON}: not a signature file (algorithm, key_id, signature)")
            return raw, None
        if raw is not None and raw != hex_signature:
            verdict.fail(f"{SIGNATURE_JSON}: does not carry the signature of {SIGNATURE}")
        raw = raw if raw is not None else hex_signature
    if raw is None:
        verdict.fail(f"no signature: neither {SIGNATURE} nor {SIGNATURE_JSON} can be read")
    return raw, html_signature or None


def verify(path: Path, public_key: bytes) -> Verdict:
    """Check a dossier bundle (its folder, or its ``dossier.json``); every problem is named, by line."""
    folder = path.parent if path.is_file() else path
    verdict = Verdict()
    data = _read(folder / DOCUMENT)
    if data is None:
        verdict.fail(f"{DOCUMENT}: cannot be read")
        return verdict
    signature, html_signature = _signatures(folder, verdict)
    html = _read(folder / HTML)
    if html is not None and (
        html_signature is None or not verify_signature(public_key, html, html_signature)
    ):
        verdict.fail(
            f"{HTML}: not signed by key {key_id_for(public_key)} as it stands (the page was changed)"
        )
    return verify_files(data, signature, public_key, verdict)


def verify_files(
    data: bytes, signature: bytes | None, public_key: bytes, verdict: Verdict | None = None
) -> Verdict:
    """Check the document's bytes and signature (see `verify`)."""
    verdict = verdict or Verdict()
    if signature is not None and not verify_signature(public_key, data, signature):
        verdict.fail(
            f"{DOCUMENT}: the signature is not the platform's (key {key_id_for(public_key)}) over "
            "this document: the document or the signature was changed, or another key signed it"
        )
    try:
        document = json.loads(data)
        assert isinstance(document, dict)
    except (ValueError, AssertionError):
        verdict.fail(f"{DOCUMENT}: not a JSON object")
        return verdict
    verdict.document = document
    if canonical_json(document) != data:
        verdict.fail(f"{DOCUMENT}: not in canonical form (sorted keys, no whitespace)")
    if document.get("format") != FORMAT:
        verdict.fail(f"{DOCUMENT}: not a {FORMAT} document")
    if document.get("key_id") != key_id_for(public_key):
        verdict.fail(
            f"{DOCUMENT}: names key {document.get('key_id')!r}, the public key is {key_id_for(public_key)}"
        )
    checkpoint = _checkpoint(document, public_key, verdict)
    lines = document.get("lines")
    if not isinstance(lines, list):
        verdict.fail(f"{DOCUMENT}: has no list of lines")
        return verdict
    _count(document, lines, verdict)
    salts = document.get("salts_included") is True
    for position, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            verdict.fail(f"entry {position} of the lines is not a line")
            continue
        verdict.lines += 1
        name = f"line {line.get('n')} ({line.get('tracking_number')})"
        for problem in check_line(line, checkpoint, salts=salts, verdict=verdict):
            verdict.fail(f"{name}: {problem}")
    return verdict


def _checkpoint(document: dict[str, Any], public_key: bytes, verdict: Verdict) -> Checkpoint | None:
    log = document.get("log")
    if log is None:
        return None  # no signed head yet: every line says pending
    note = log.get("checkpoint") if isinstance(log, dict) else None
    if not isinstance(note, str):
        verdict.fail("the checkpoint: missing from the dossier's log section")
        return None
    try:
        checkpoint = verify_checkpoint(note, public_key)
    except CheckpointError as exc:
        verdict.fail(f"the checkpoint: {exc}")
        return None
    if (checkpoint.size, checkpoint.root_hash.hex()) != (log.get("tree_size"), log.get("root_hash")):
        verdict.fail("the checkpoint: its size or root differ from the dossier's tree_size and root_hash")
    return checkpoint


def _count(document: dict[str, Any], lines: list[Any], verdict: Verdict) -> None:
    count = document.get("count")
    numbers = [n for line in lines if isinstance(line, dict) and isinstance(n := line.get("n"), int)]
    if count != len(lines):
        verdict.fail(f"the dossier counts {count} lines but holds {len(lines)}: lines were removed or added")
    expected = set(range(1, (count if isinstance(count, int) else 0) + 1))
    for missing in sorted(expected - set(numbers)):
        verdict.fail(f"line {missing} (of {count}) is missing")
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        verdict.fail("the lines are not numbered 1, 2, 3 … in order")


def check_line(
    line: dict[str, Any], checkpoint: Checkpoint | None, *, salts: bool, verdict: Verdict | None = None
) -> list[str]:
    """One line's log entry against the (verified) checkpoint; the problems found, in sentences."""
    log = line.get("log")
    if not isinstance(log, dict):
        return ["carries no transparency-log entry"]
    status = log.get("status")
    if status == LogStatus.MISSING.value:
        return ["has no receipt leaf in the transparency log"]
    problems: list[str] = []
    if "salt" in log and not salts:
        problems.append("carries a salt in a dossier that must carry none (salts go only to their authority)")
    leaf = log.get("leaf")
    if not isinstance(leaf, str):
        return [*problems, "its log entry has no leaf"]
    try:
        parsed = parse_leaf(leaf)
    except LeafError as exc:
        return [*problems, f"its leaf is malformed: {exc}"]
    problems += _leaf_matches(line, parsed.kind, parsed.fields, log)
    if status == LogStatus.PENDING.value:
        if verdict is not None:
            verdict.pending += 1
        return problems
    if status != LogStatus.INCLUDED.value:
        return [*problems, f"its log status {status!r} is none of included, pending, missing"]
    if checkpoint is None:
        return [
            *problems,
            "says it is in the log, but the dossier has no valid checkpoint to prove it against",
        ]
    proof = {**log, "tree_size": checkpoint.size}
    found = check_inclusion(proof, checkpoint)
    if not found and verdict is not None:
        verdict.proven += 1
    return problems + [f"{p}: its leaf is not proven to be in the log" for p in found]


def _leaf_matches(line: dict[str, Any], kind: str, fields: dict[str, Any], log: dict[str, Any]) -> list[str]:
    if kind != RECEIPT:
        return ["its leaf is not a request receipt"]
    problems = []
    received = str(line.get("received_at"))
    if fields["day"] != received[:10]:
        problems.append(f"its leaf is of {fields['day']}, the line says it was received {received}")
    if fields["country"] != line.get("country"):
        problems.append(f"its leaf is of country {fields['country']}, the line says {line.get('country')}")
    salt = log.get("salt")
    if isinstance(salt, str):
        try:
            receipt = receipt_json(
                received_at=parse_stamp(received),
                tracking_number=str(line.get("tracking_number")),
                instrument=str(line.get("instrument")),
            )
            expected = commitment(bytes.fromhex(salt), receipt)
        except (ValueError, LeafError) as exc:
            return [*problems, f"its salt or time of receipt is malformed: {exc}"]
        if fields["commitment"] != expected:
            problems.append(
                "its leaf does not commit to this line's tracking number, instrument and time "
                "of receipt with its salt: the line was altered"
            )
    return problems
