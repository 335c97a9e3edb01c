"""Hash banks on real databases: create, import (idempotent, all or nothing), withdraw, audit, and the
matcher following the banks incrementally."""

import random
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.safety_world import flip, import_hashes, make_bank, random_pdq, write_csv
from trustdesk.audit import service as audit
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import Actor
from trustdesk.clock import FrozenClock
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.safety import banks
from trustdesk.safety.matcher import BankMatcher
from trustdesk.safety.models import BankEntry, BankImport
from trustdesk.safety.vocabulary import BankAction, HashType


def entries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(BankEntry)) or 0


def audit_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_a_bank_is_created_once_and_audited(session: Session, clock: FrozenClock) -> None:
    bank = make_bank(session, clock, "gifct", threshold=24)

    assert (bank.name, bank.pdq_threshold, bank.action) == ("gifct", 24, BankAction.AUTO_REMOVE)
    assert audit_actions(session) == ["safety:bank:create"]
    with pytest.raises(Conflict):
        make_bank(session, clock, "gifct")


@pytest.mark.parametrize(("name", "threshold"), [("Bad Name", 31), ("", 31), ("ok", 64), ("ok", -1)])
def test_bad_bank_settings_are_refused(
    session: Session, clock: FrozenClock, name: str, threshold: int
) -> None:
    with pytest.raises(InvalidInput):
        make_bank(session, clock, name, threshold=threshold)


def test_importing_the_same_list_twice_adds_nothing_the_second_time(
    session: Session, clock: FrozenClock, tmp_path: Path
) -> None:
    bank = make_bank(session, clock)
    rng = random.Random(1)
    hashes = [random_pdq(rng) for _ in range(7)]
    first = import_hashes(session, clock, bank, tmp_path, hashes)
    second = import_hashes(session, clock, bank, tmp_path, hashes)

    assert (first.rows_added, first.rows_present) == (7, 0)
    assert (second.rows_added, second.rows_present) == (0, 7)
    assert entries(session) == 7
    assert audit_actions(session).count("safety:bank:import") == 2
    assert audit.verify(session).ok


def test_a_file_with_a_bad_row_imports_nothing_and_names_the_line(
    session: Session, clock: FrozenClock, tmp_path: Path
) -> None:
    bank = make_bank(session, clock)
    good = random_pdq(random.Random(2))
    path = write_csv(
        tmp_path / "list.csv",
        [{"hash": good, "quality": 90}, {"hash": "abc", "quality": 90}, {"hash": good[::-1], "quality": 42}],
    )

    with pytest.raises(InvalidInput) as refused:
        banks.import_file(session, clock, Actor.operator(), bank, path)

    assert "line 3" in refused.value.message
    assert "line 4" in refused.value.message
    assert "below 50" in refused.value.message
    assert entries(session) == 0
    assert session.scalar(select(func.count()).select_from(BankImport)) == 0


def test_skip_bad_imports_the_good_rows_and_reports_the_bad(
    session: Session, clock: FrozenClock, tmp_path: Path
) -> None:
    bank = make_bank(session, clock)
    good = random_pdq(random.Random(3))
    path = write_csv(
        tmp_path / "list.csv", [{"hash": good, "quality": 90}, {"hash": "zz" * 32, "quality": 90}]
    )

    report = banks.import_file(session, clock, Actor.operator(), bank, path, skip_bad=True)

    assert report.rows_added == 1
    assert [e.line for e in report.errors] == [3]
    assert entries(session) == 1


def test_md5_and_sha256_entries_import_beside_pdq(
    session: Session, clock: FrozenClock, tmp_path: Path
) -> None:
    bank = make_bank(session, clock)
    path = write_csv(
        tmp_path / "mixed.csv",
        [{"hash": "a" * 31 + "b", "type": "md5"}, {"hash": "c" * 63 + "d", "type": "sha256"}],
    )
    banks.import_file(session, clock, Actor.operator(), bank, path)

    counts = banks.entry_counts(session)[bank.id]
    assert counts == {"md5": 1, "sha256": 1}


def test_withdrawing_an_entry_keeps_it_marked_and_audited(
    session: Session, clock: FrozenClock, tmp_path: Path
) -> None:
    bank = make_bank(session, clock)
    known = random_pdq(random.Random(4))
    import_hashes(session, clock, bank, tmp_path, [known])

    entry = banks.remove_entry(session, clock, Actor.operator(), bank, known.upper(), reason="wrong hash")

    assert entry.removed_at == clock()
    assert audit_actions(session)[-1] == "safety:bank_entry:remove"
    with pytest.raises(NotFound):
        banks.remove_entry(session, clock, Actor.operator(), bank, known)
    again = import_hashes(session, clock, bank, tmp_path, [known])
    assert (again.rows_added, again.rows_withdrawn) == (0, 1)


def test_the_matcher_follows_additions_and_withdrawals_without_rebuilding(
    sessions: sessionmaker[Session], clock: FrozenClock, tmp_path: Path
) -> None:
    rng = random.Random(5)
    known = random_pdq(rng)
    later = random_pdq(rng)
    with sessions() as session, session.begin():
        bank = make_bank(session, clock)
        import_hashes(session, clock, bank, tmp_path, [known])
    matcher = BankMatcher(tmp_path / "index")
    with sessions() as session:
        matcher.load(session)
    base = matcher.base_watermark
    near = flip(known, 31, rng)
    assert [m.distance for m in matcher.match_pdq([near])[0]] == [31]
    assert matcher.match_pdq([flip(known, 32, rng)]) == [[]]

    with sessions() as session, session.begin():
        bank = banks.get_bank(session, "terror")
        import_hashes(session, clock, bank, tmp_path, [later])
        banks.remove_entry(session, clock, Actor.operator(), bank, known)
    with sessions() as session:
        assert matcher.refresh(session) == 2

    assert matcher.base_watermark == base  # no rebuild
    assert matcher.match_pdq([near, later]) == [[], matcher.match_pdq([later])[0]]
    assert matcher.match_pdq([later])[0][0].distance == 0


def test_a_restarted_matcher_opens_the_persisted_index_and_catches_up(
    sessions: sessionmaker[Session], clock: FrozenClock, tmp_path: Path
) -> None:
    rng = random.Random(6)
    hashes = [random_pdq(rng) for _ in range(50)]
    with sessions() as session, session.begin():
        bank = make_bank(session, clock)
        import_hashes(session, clock, bank, tmp_path, hashes[:40])
    first = BankMatcher(tmp_path / "index")
    with sessions() as session:
        first.load(session)
    with sessions() as session, session.begin():
        import_hashes(session, clock, banks.get_bank(session, "terror"), tmp_path, hashes[40:])

    second = BankMatcher(tmp_path / "index")
    with sessions() as session:
        second.load(session)

    assert second.base_watermark == first.base_watermark  # opened, not rebuilt
    assert second.stats()["pdq"] == 50
    assert all(second.match_pdq([h])[0] for h in hashes)


def test_digest_entries_match_exactly(
    sessions: sessionmaker[Session], clock: FrozenClock, tmp_path: Path
) -> None:
    with sessions() as session, session.begin():
        bank = make_bank(session, clock)
        banks.import_file(
            session, clock, Actor.operator(), bank,
            write_csv(tmp_path / "d.csv", [{"hash": "e" * 63 + "f", "type": "sha256"}]),
        )  # fmt: skip
    matcher = BankMatcher(None)
    with sessions() as session:
        matcher.load(session)

    assert [m.bank.name for m in matcher.match_digest(HashType.SHA256, "E" * 63 + "F")] == ["terror"]
    assert matcher.match_digest(HashType.SHA256, "e" * 64) == []
