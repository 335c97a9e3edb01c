"""The production package: build, encrypt, open, verify; tampering, unsafe archives, data minimisation."""

import base64
import csv
import io
import json
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.doubles import FakeSigner
from trustdesk.clock import FrozenClock
from trustdesk.lawful.package import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SIGNATURE,
    PackageError,
    PackageMeta,
    build_archive,
    build_package,
    generate_age_identity,
    is_age_recipient,
    neutralise_formula,
    open_package,
)
from trustdesk.lawful.package_check import read_files, read_records, verify_package
from trustdesk.platform.protocol import Export, ExportRecord, FieldValue, Period
from trustdesk.platform.reference import ReferencePlatform
from trustdesk.signing.ed25519 import Ed25519Signer
from trustdesk.signing.protocol import verify_signature
from trustdesk.vocabulary import DataCategory

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 3, 1, tzinfo=UTC)
IDENTITY, RECIPIENT = generate_age_identity()
OTHER_IDENTITY, OTHER_RECIPIENT = generate_age_identity()

SENTINEL_TEXT = "SENTINEL-MESSAGE-TEXT-7f3a"
SENTINEL_USERNAME = "sentinel_user_7f3a"
SENTINEL_EMAIL = "sentinel-7f3a@example.org"
SENTINEL_DISPLAY = "Sentinel Display 7f3a"
PHONE = "+33612345678"

MINIMAL_FIELDS: Mapping[DataCategory, frozenset[str]] = {
    DataCategory.SUBSCRIBER: frozenset({"phone"}),
    DataCategory.IDENTIFICATION: frozenset({"ip", "port"}),
}
ALL_THREE = ("subscriber", "identification", "content")


def make_meta(categories: Sequence[str] = ALL_THREE, **changes: Any) -> PackageMeta:
    values: dict[str, Any] = {
        "tracking_number": "TD-2026-000123",
        "agency_id": "agency-fr-0001",
        "instrument": "EU_EPOC",
        "categories": tuple(categories),
        "period_start": START,
        "period_end": END,
        "produced_at": NOW,
        "policy_version": "2026.02",
        "targets": ("phone:+33612345678",),
    }
    values.update(changes)
    return PackageMeta(**values)


@pytest.fixture(scope="module")
def platform() -> Iterator[ReferencePlatform]:
    with ReferencePlatform("sqlite://", clock=FrozenClock(NOW)) as reference:
        reference.create_schema()
        yield reference


@pytest.fixture(scope="module")
def account(platform: ReferencePlatform) -> str:
    suspect = platform.add_user(
        phone=PHONE,
        username=SENTINEL_USERNAME,
        display_name=SENTINEL_DISPLAY,
        email=SENTINEL_EMAIL,
        registered_at=START + timedelta(days=3),
        registration_ip="198.51.100.7",
    )
    other = platform.add_user(phone="+33698765432", registered_at=START)
    platform.add_session(suspect, ip="203.0.113.9", port=51234, at=START + timedelta(days=10), device="phone")
    platform.add_session(suspect, ip="2001:db8::9", port=443, at=START + timedelta(days=20))
    chat = platform.create_chat("private", [suspect, other], created_at=START + timedelta(days=4))
    platform.post_message(chat, suspect, text=SENTINEL_TEXT, sent_at=START + timedelta(days=11))
    platform.post_message(chat, other, text="a reply", sent_at=START + timedelta(days=12))
    return suspect


def export_of(platform: ReferencePlatform, account: str, categories: Sequence[str] = ALL_THREE) -> Export:
    return platform.export(account, [DataCategory(c) for c in categories], Period(START, END))


@pytest.fixture
def export(platform: ReferencePlatform, account: str) -> Export:
    return export_of(platform, account)


def record(
    category: DataCategory, kind: str, at: datetime | None = None, **fields: FieldValue
) -> ExportRecord:
    return ExportRecord(category=category, kind=kind, fields=fields, at=at)


def handmade_export(account_id: str, *records: ExportRecord) -> Export:
    categories = frozenset(r.category for r in records) or frozenset({DataCategory.SUBSCRIBER})
    return Export(account_id, Period(START, END), categories, tuple(records))


def tar_of(members: Sequence[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def with_member(tar_bytes: bytes, info: tarfile.TarInfo, data: bytes = b"") -> bytes:
    """``tar_bytes`` with one more member, which may be anything (a link, a device, a bad name)."""
    buffer = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as source,
        tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as target,
    ):
        for member in source:
            target.addfile(member, source.extractfile(member))
        info.size = len(data) if info.isreg() else 0
        target.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


@pytest.fixture
def signer() -> FakeSigner:
    return FakeSigner()


@pytest.fixture
def tar_bytes(export: Export, signer: FakeSigner) -> bytes:
    return open_package(build_package(make_meta(), [export], None, signer, RECIPIENT), IDENTITY)


# ------------------------------------------------------------------------------------------ round trip


def test_round_trip_build_open_verify(export: Export, signer: FakeSigner) -> None:
    encrypted = build_package(make_meta(), [export], None, signer, RECIPIENT)
    assert encrypted.startswith(b"age-encryption.org/v1\n")
    tar_bytes = open_package(encrypted, IDENTITY)

    report = verify_package(tar_bytes, trusted_public_key=signer.public_key_bytes())

    assert report.ok, report.problems
    assert report.problems == ()
    assert report.trusted_key
    assert report.files == (
        "README.txt",
        "data/content.csv",
        "data/content.json",
        "data/identification.csv",
        "data/identification.json",
        "data/subscriber.csv",
        "data/subscriber.json",
    )
    assert any("trusted key" in note for note in report.notes)
    assert read_records(tar_bytes) == {
        category.value: [
            {
                "account_id": export.account_id,
                "kind": r.kind,
                "at": None if r.at is None else r.at.isoformat(),
                "fields": dict(r.fields),
            }
            for r in export.of(category)
        ]
        for category in (DataCategory.CONTENT, DataCategory.IDENTIFICATION, DataCategory.SUBSCRIBER)
    }


def test_the_manifest_names_the_request_every_file_and_the_signer(
    tar_bytes: bytes, signer: FakeSigner
) -> None:
    files = read_files(tar_bytes)
    manifest = json.loads(files[MANIFEST])
    assert manifest["format"] == FORMAT
    assert manifest["version"] == FORMAT_VERSION
    assert manifest["meta"] == {
        "tracking_number": "TD-2026-000123",
        "agency_id": "agency-fr-0001",
        "instrument": "EU_EPOC",
        "categories": ["content", "identification", "subscriber"],
        "period_start": "2026-01-01T00:00:00+00:00",
        "period_end": "2026-03-01T00:00:00+00:00",
        "produced_at": "2026-03-02T12:00:00+00:00",
        "policy_version": "2026.02",
        "targets": ["phone:+33612345678"],
    }
    assert manifest["signer"] == {
        "algorithm": "Ed25519",
        "key_id": signer.key_id,
        "public_key": base64.b64encode(signer.public_key_bytes()).decode(),
    }
    assert manifest["records"] == {"content": 1, "identification": 3, "subscriber": 1}
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(files) - {MANIFEST, SIGNATURE}
    for path, entry in listed.items():
        assert entry["size"] == len(files[path])
    assert signer.messages == [files[MANIFEST]]
    assert verify_signature(signer.public_key_bytes(), files[MANIFEST], files[SIGNATURE])


def test_tar_members_are_plain_files_owned_by_root_and_dated_produced_at(tar_bytes: bytes) -> None:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
        members = archive.getmembers()
    assert [m.name for m in members][-2:] == [MANIFEST, SIGNATURE]
    for member in members:
        assert member.isreg()
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == int(NOW.timestamp())
        assert member.mode == 0o644


def test_readme_explains_the_package_and_how_to_verify(tar_bytes: bytes) -> None:
    readme = read_files(tar_bytes)["README.txt"].decode()
    assert "TD-2026-000123" in readme
    assert "HOW TO VERIFY" in readme
    assert "manifest.sig" in readme
    assert "age --decrypt" in readme


def test_verifying_with_the_key_in_the_package_says_so(tar_bytes: bytes, signer: FakeSigner) -> None:
    report = verify_package(tar_bytes)
    assert report.ok, report.problems
    assert not report.trusted_key
    assert any("inside the package" in note and signer.key_id in note for note in report.notes)


def test_the_real_signer_signs_packages_too(export: Export) -> None:
    signer = Ed25519Signer.from_seed(bytes(32))
    tar_bytes = open_package(build_package(make_meta(), [export], None, signer, RECIPIENT), IDENTITY)
    assert verify_package(tar_bytes, signer.public_key_bytes()).ok


def test_an_approved_category_without_records_gives_empty_files(signer: FakeSigner) -> None:
    export = handmade_export("42", record(DataCategory.SUBSCRIBER, "account", phone=PHONE))
    meta = make_meta(("subscriber", "traffic"))
    files = read_files(build_archive(meta, [export], None, signer))
    assert json.loads(files["data/traffic.json"]) == []
    assert files["data/traffic.csv"] == b"account_id,kind,at\r\n"
    assert verify_package(build_archive(meta, [export], None, signer)).ok


# -------------------------------------------------------------------------------------------- tampering


def test_a_flipped_byte_in_a_data_file_names_that_file(tar_bytes: bytes, signer: FakeSigner) -> None:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
        offset = archive.getmember("data/content.json").offset_data
    damaged = bytearray(tar_bytes)
    damaged[offset + 10] ^= 0x01

    report = verify_package(bytes(damaged), signer.public_key_bytes())

    assert not report.ok
    assert report.problems == ("data/content.json: sha256 does not match the manifest",)


def test_an_altered_manifest_fails_the_signature(tar_bytes: bytes, signer: FakeSigner) -> None:
    files = read_files(tar_bytes)
    manifest = json.loads(files[MANIFEST])
    manifest["meta"]["agency_id"] = "agency-somewhere-else"
    files[MANIFEST] = json.dumps(manifest).encode()

    report = verify_package(tar_of(list(files.items())), signer.public_key_bytes())

    assert not report.ok
    assert any(
        p.startswith(f"{SIGNATURE}: the signature of {MANIFEST} is not valid") for p in report.problems
    )


def test_a_package_re_signed_by_another_key_fails_against_the_trusted_key(
    tar_bytes: bytes, signer: FakeSigner
) -> None:
    forger = FakeSigner(bytes(range(32)))
    files = read_files(tar_bytes)
    manifest = json.loads(files[MANIFEST])
    manifest["signer"]["public_key"] = base64.b64encode(forger.public_key_bytes()).decode()
    files[MANIFEST] = json.dumps(manifest).encode()
    files[SIGNATURE] = forger.sign(files[MANIFEST])
    forged = tar_of(list(files.items()))

    assert verify_package(forged).ok  # self-consistent: only a trusted key tells the difference
    report = verify_package(forged, signer.public_key_bytes())
    assert not report.ok
    assert any("not the trusted key" in p for p in report.problems)
    assert any("is not valid" in p for p in report.problems)


def test_a_wrong_trusted_key_fails(tar_bytes: bytes) -> None:
    report = verify_package(tar_bytes, FakeSigner(bytes(range(32))).public_key_bytes())
    assert not report.ok
    assert any("is not valid" in p for p in report.problems)


def test_an_extra_file_is_flagged(tar_bytes: bytes, signer: FakeSigner) -> None:
    files = read_files(tar_bytes)
    files["data/extra.json"] = b"[]"
    report = verify_package(tar_of(list(files.items())), signer.public_key_bytes())
    assert report.problems == ("data/extra.json: not listed in the manifest (unlisted file)",)


@pytest.mark.parametrize("path", ["data/subscriber.csv", "README.txt"])
def test_a_missing_file_is_flagged(tar_bytes: bytes, signer: FakeSigner, path: str) -> None:
    files = read_files(tar_bytes)
    del files[path]
    report = verify_package(tar_of(list(files.items())), signer.public_key_bytes())
    assert report.problems == (f"{path}: listed in the manifest but missing from the package",)


def test_a_replaced_file_of_another_size_is_flagged(tar_bytes: bytes, signer: FakeSigner) -> None:
    files = read_files(tar_bytes)
    files["data/subscriber.json"] = b"[]\n"
    report = verify_package(tar_of(list(files.items())), signer.public_key_bytes())
    assert report.problems[0].startswith("data/subscriber.json: size 3 does not match")
    assert report.problems[1] == "data/subscriber.json: sha256 does not match the manifest"


@pytest.mark.parametrize(
    ("missing", "problem"), [(MANIFEST, "manifest.json is missing"), (SIGNATURE, "manifest.sig is missing")]
)
def test_a_missing_manifest_or_signature_is_flagged(tar_bytes: bytes, missing: str, problem: str) -> None:
    files = read_files(tar_bytes)
    del files[missing]
    report = verify_package(tar_of(list(files.items())))
    assert not report.ok
    assert any(p.startswith(problem) for p in report.problems)


def test_a_manifest_that_is_not_ours_is_flagged(tar_bytes: bytes) -> None:
    files = read_files(tar_bytes)
    files[MANIFEST] = b'{"format": "something", "files": [{"path": "../x", "sha256": "0", "size": -1}]}'
    report = verify_package(tar_of(list(files.items())))
    assert not report.ok
    assert any("is not a trustdesk-production-package" in p for p in report.problems)
    assert any("malformed file entry" in p for p in report.problems)


@pytest.mark.parametrize("garbage", [b"", b"not a tar at all", b"\x1f\x8b\x08\x00" + bytes(40)])
def test_something_that_is_not_a_tar_is_reported(garbage: bytes) -> None:
    report = verify_package(garbage)
    assert not report.ok
    assert report.problems[0].startswith("not a readable tar archive")
    with pytest.raises(PackageError, match="not a readable tar archive"):
        read_records(garbage)


# -------------------------------------------------------------------------------------- unsafe members


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


def _hardlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE
    info.linkname = target
    return info


def _of_type(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info


UNSAFE = {
    "parent": (tarfile.TarInfo("../x"), "path traversal"),
    "nested parent": (tarfile.TarInfo("data/../../x"), "path traversal"),
    "absolute": (tarfile.TarInfo("/etc/passwd"), "absolute path"),
    "windows absolute": (tarfile.TarInfo("C:/x"), "absolute path"),
    "backslash parent": (tarfile.TarInfo("..\\x"), "path traversal"),
    "symlink": (_symlink("data/link.json", "/etc/passwd"), "links are not allowed"),
    "hard link": (_hardlink("data/hard.json", "/etc/passwd"), "links are not allowed"),
    "directory": (_of_type("data", tarfile.DIRTYPE), "only regular files"),
    "device": (_of_type("data/dev", tarfile.CHRTYPE), "only regular files"),
    "fifo": (_of_type("data/fifo", tarfile.FIFOTYPE), "only regular files"),
    "odd characters": (tarfile.TarInfo("data/a b;.json"), "unexpected characters"),
}


@pytest.mark.parametrize(("info", "reason"), UNSAFE.values(), ids=UNSAFE.keys())
def test_unsafe_members_are_refused_and_nothing_is_extracted(
    tar_bytes: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, info: tarfile.TarInfo, reason: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    unsafe = with_member(tar_bytes, info, b"root:x:0:0::/root:/bin/sh\n")

    report = verify_package(unsafe)

    assert not report.ok
    assert any(p.startswith(f"refused member {info.name!r}: {reason}") for p in report.problems)
    with pytest.raises(PackageError, match="refused member"):
        read_records(unsafe)
    with pytest.raises(PackageError, match="refused member"):
        read_files(unsafe)
    assert list(work.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_a_member_that_appears_twice_is_refused(tar_bytes: bytes) -> None:
    doubled = with_member(tar_bytes, tarfile.TarInfo("data/subscriber.json"), b"[]")
    report = verify_package(doubled)
    assert "refused member 'data/subscriber.json': it appears more than once" in report.problems


# ------------------------------------------------------------------------------------------ encryption


def test_a_wrong_identity_cannot_open_the_package(export: Export, signer: FakeSigner) -> None:
    encrypted = build_package(make_meta(), [export], None, signer, RECIPIENT)
    with pytest.raises(PackageError, match=r"^this package is not encrypted to that identity$"):
        open_package(encrypted, OTHER_IDENTITY)


def test_an_identity_file_as_age_keygen_writes_it_opens_the_package(
    export: Export, signer: FakeSigner
) -> None:
    encrypted = build_package(make_meta(), [export], None, signer, RECIPIENT)
    identity_file = f"# created: 2026-03-02T12:00:00Z\n# public key: {RECIPIENT}\n{IDENTITY}\n"
    assert verify_package(open_package(encrypted, identity_file)).ok
    assert verify_package(open_package(encrypted, f"{OTHER_IDENTITY}\n{IDENTITY}\n")).ok


@pytest.mark.parametrize(
    "identity",
    [
        "",
        "AGE-SECRET-KEY-1",
        RECIPIENT,
        "not an identity",
        "# only a comment",
        f"{IDENTITY}\nnot a key",
    ],
)
def test_a_malformed_identity_is_refused(identity: str) -> None:
    with pytest.raises(PackageError, match="not an age X25519 identity"):
        open_package(b"age-encryption.org/v1\n", identity)


def test_damaged_ciphertext_is_refused(export: Export, signer: FakeSigner) -> None:
    encrypted = build_package(make_meta(), [export], None, signer, RECIPIENT)
    with pytest.raises(PackageError, match="not an age-encrypted package"):
        open_package(b"PK\x03\x04 a zip file", IDENTITY)
    with pytest.raises(PackageError, match="damaged or truncated"):
        open_package(encrypted[:-20], IDENTITY)


def test_the_ciphertext_reveals_nothing(export: Export, signer: FakeSigner) -> None:
    encrypted = build_package(make_meta(), [export], None, signer, RECIPIENT)
    for secret in (SENTINEL_TEXT, SENTINEL_USERNAME, "TD-2026-000123", "README"):
        assert secret.encode() not in encrypted


@pytest.mark.parametrize("recipient", ["", "age1", "age1xyz", IDENTITY, RECIPIENT.upper(), f" {RECIPIENT}"])
def test_build_refuses_a_bad_recipient_and_signs_nothing(
    export: Export, signer: FakeSigner, recipient: str
) -> None:
    with pytest.raises(PackageError, match="not an age X25519 recipient"):
        build_package(make_meta(), [export], None, signer, recipient)
    assert signer.messages == []


def test_is_age_recipient() -> None:
    assert is_age_recipient(RECIPIENT)
    assert is_age_recipient(generate_age_identity()[1])
    for value in (
        "",
        "age1",
        "age1qqqq",
        IDENTITY,
        RECIPIENT.upper(),
        RECIPIENT + "\n",
        RECIPIENT[:-1] + ("q" if RECIPIENT[-1] != "q" else "p"),  # a broken checksum
    ):
        assert not is_age_recipient(value), value


def test_generate_age_identity_gives_a_matching_pair(export: Export, signer: FakeSigner) -> None:
    identity, recipient = generate_age_identity()
    assert identity.startswith("AGE-SECRET-KEY-1")
    assert recipient.startswith("age1")
    assert (identity, recipient) != (IDENTITY, RECIPIENT)
    encrypted = build_package(make_meta(), [export], None, signer, recipient)
    assert verify_package(open_package(encrypted, identity)).ok


# ---------------------------------------------------------------------------------- defence in depth


def test_a_record_of_a_category_not_approved_stops_the_build(export: Export, signer: FakeSigner) -> None:
    meta = make_meta(("subscriber", "identification"))
    smuggled = Export(
        export.account_id,
        export.period,
        frozenset({DataCategory.SUBSCRIBER, DataCategory.IDENTIFICATION}),
        export.records,  # still holds the content record
    )
    with pytest.raises(PackageError, match="category content, which was not approved"):
        build_package(meta, [smuggled], None, signer, RECIPIENT)
    assert signer.messages == []


def test_an_export_made_for_a_category_not_approved_stops_the_build(
    platform: ReferencePlatform, account: str, signer: FakeSigner
) -> None:
    export = export_of(platform, account, ("subscriber", "traffic"))
    with pytest.raises(PackageError, match="not approved: traffic"):
        build_package(make_meta(("subscriber",)), [export], None, signer, RECIPIENT)
    assert signer.messages == []


def test_the_same_account_twice_stops_the_build(export: Export, signer: FakeSigner) -> None:
    with pytest.raises(PackageError, match="more than one export"):
        build_package(make_meta(), [export, export], None, signer, RECIPIENT)
    assert signer.messages == []


@pytest.mark.parametrize("value", [True, 1.5, b"bytes", ["list"]])
def test_a_field_that_is_not_a_json_scalar_stops_the_build(signer: FakeSigner, value: object) -> None:
    bad = ExportRecord(DataCategory.SUBSCRIBER, "account", {"phone": value})  # type: ignore[dict-item]
    with pytest.raises(PackageError, match="strings, integers or null"):
        build_archive(make_meta(("subscriber",)), [handmade_export("1", bad)], None, signer)


class LyingSigner(FakeSigner):
    def sign(self, message: bytes) -> bytes:
        return super().sign(message + b"!")


def test_a_signature_that_does_not_verify_stops_the_build(export: Export) -> None:
    with pytest.raises(PackageError, match="does not verify"):
        build_package(make_meta(), [export], None, LyingSigner(), RECIPIENT)


# ---------------------------------------------------------------------------------------- minimisation


def test_only_allowed_fields_appear_anywhere_in_the_package(export: Export, signer: FakeSigner) -> None:
    encrypted = build_package(make_meta(), [export], MINIMAL_FIELDS, signer, RECIPIENT)
    tar_bytes = open_package(encrypted, IDENTITY)

    for sentinel in (SENTINEL_TEXT, SENTINEL_USERNAME, SENTINEL_EMAIL, SENTINEL_DISPLAY):
        assert sentinel.encode() not in tar_bytes, sentinel
    assert PHONE.encode() in tar_bytes
    assert b"203.0.113.9" in tar_bytes
    records = read_records(tar_bytes)
    assert [r["fields"] for r in records["subscriber"]] == [{"phone": PHONE}]
    assert {frozenset(r["fields"]) for r in records["identification"]} <= {
        frozenset({"ip", "port"}),
        frozenset({"ip"}),
    }
    # content was approved but no content field was allowed: the record keeps its kind and time only
    assert records["content"] == [
        {"account_id": export.account_id, "kind": "message", "at": "2026-01-12T00:00:00+00:00", "fields": {}}
    ]
    assert verify_package(tar_bytes, signer.public_key_bytes()).ok


def test_without_allowed_fields_everything_exported_is_included(export: Export, signer: FakeSigner) -> None:
    tar_bytes = open_package(build_package(make_meta(), [export], None, signer, RECIPIENT), IDENTITY)
    for sentinel in (SENTINEL_TEXT, SENTINEL_USERNAME, SENTINEL_EMAIL, SENTINEL_DISPLAY):
        assert sentinel.encode() in tar_bytes, sentinel


# -------------------------------------------------------------------------------------- determinism


def test_the_same_inputs_give_the_same_tar(export: Export, signer: FakeSigner) -> None:
    first = build_package(make_meta(), [export], MINIMAL_FIELDS, signer, RECIPIENT)
    second = build_package(make_meta(), [export], MINIMAL_FIELDS, FakeSigner(), RECIPIENT)
    assert first != second  # age uses a fresh ephemeral key every time
    assert open_package(first, IDENTITY) == open_package(second, IDENTITY)


def test_the_order_of_exports_and_categories_does_not_matter(signer: FakeSigner) -> None:
    a = handmade_export("1", record(DataCategory.SUBSCRIBER, "account", phone="+331"))
    b = handmade_export("2", record(DataCategory.SUBSCRIBER, "account", phone="+332"))
    meta = make_meta(("subscriber", "content"))
    reordered = make_meta(("content", "subscriber", "content"))
    assert build_archive(meta, [a, b], None, signer) == build_archive(reordered, [b, a], None, signer)


def test_meta_times_are_normalised_to_utc(signer: FakeSigner) -> None:
    local = NOW.astimezone(timezone(timedelta(hours=1)))
    export = handmade_export("1", record(DataCategory.SUBSCRIBER, "account", phone="+331"))
    assert build_archive(
        make_meta(("subscriber",), produced_at=local), [export], None, signer
    ) == build_archive(make_meta(("subscriber",)), [export], None, signer)


# ------------------------------------------------------------------------------------- CSV and JSON


def parse_csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    return rows[0], rows[1:]


def assert_csv_agrees_with_json(files: Mapping[str, bytes]) -> None:
    for name in files:
        if not name.endswith(".json") or not name.startswith("data/"):
            continue
        records = json.loads(files[name])
        header, rows = parse_csv(files[name.removesuffix(".json") + ".csv"])
        assert header[:3] == ["account_id", "kind", "at"]
        field_names = sorted({f for r in records for f in r["fields"]})
        headed = [f"fields.{f}" if f in ("account_id", "kind", "at") else f for f in field_names]
        assert header[3:] == [neutralise_formula(h) for h in headed]
        assert len(rows) == len(records)
        for row, json_record in zip(rows, records, strict=True):
            fixed = [json_record["account_id"], json_record["kind"], json_record["at"] or ""]
            assert row[:3] == [neutralise_formula(cell) for cell in fixed]
            for column, field in zip(row[3:], field_names, strict=True):
                value = json_record["fields"].get(field)
                assert column == neutralise_formula("" if value is None else str(value))


def test_csv_and_json_agree_on_a_real_export(tar_bytes: bytes) -> None:
    files = read_files(tar_bytes)
    assert_csv_agrees_with_json(files)
    header, _ = parse_csv(files["data/identification.csv"])
    assert header == ["account_id", "kind", "at", "fields.at", "ip", "port", "session_id"]


FIELD_NAMES = st.sampled_from(["at", "kind", "account_id", "ip", "port", "text", "phone", "é"])
FIELD_VALUES = st.one_of(st.none(), st.integers(-(2**53), 2**53), st.text(max_size=30))
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
RECORDS = st.builds(
    ExportRecord,
    category=st.sampled_from(list(DataCategory)),
    kind=st.sampled_from(["account", "session", "message"]),
    fields=st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=5),
    at=st.none() | MOMENTS,
)
EXPORTS = st.dictionaries(
    st.from_regex(r"[1-9][0-9]{0,5}", fullmatch=True), st.lists(RECORDS, max_size=6), max_size=3
)


@given(exports=EXPORTS)
@settings(max_examples=60, deadline=None)
def test_csv_and_json_agree_record_for_record(exports: dict[str, list[ExportRecord]]) -> None:
    signer = FakeSigner()
    built = [handmade_export(account_id, *records) for account_id, records in exports.items()]
    meta = make_meta(tuple(DataCategory))
    tar_bytes = build_archive(meta, built, None, signer)
    files = read_files(tar_bytes)

    assert_csv_agrees_with_json(files)
    records = read_records(tar_bytes)
    assert sum(len(category) for category in records.values()) == sum(len(r) for r in exports.values())
    for account_id, account_records in exports.items():
        for r in account_records:
            assert {
                "account_id": account_id,
                "kind": r.kind,
                "at": None if r.at is None else r.at.isoformat(),
                "fields": dict(r.fields),
            } in records[r.category.value]
    assert verify_package(tar_bytes, signer.public_key_bytes()).ok


# ------------------------------------------------------------------------------------------- the meta


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"produced_at": datetime(2026, 3, 2)}, "aware"),  # noqa: DTZ001
        ({"period_start": datetime(2026, 1, 1)}, "aware"),  # noqa: DTZ001
        ({"period_start": END, "period_end": START}, "before period_end"),
        ({"categories": ()}, "at least one"),
        ({"categories": ("subscriber", "everything")}, "everything"),
        ({"targets": ("+33612345678",)}, "type:value"),
        ({"targets": ("email:a@example.org",)}, "type:value"),
        ({"tracking_number": " "}, "tracking_number"),
        ({"produced_at": datetime(1969, 1, 1, tzinfo=UTC)}, "1970"),
    ],
)
def test_meta_refuses_bad_values(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(PackageError, match=message):
        make_meta(**changes)


def test_meta_allows_an_open_period() -> None:
    meta = make_meta(period_start=None, period_end=None)
    assert meta.as_json()["period_start"] is None
