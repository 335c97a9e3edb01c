"""The banks as the hot path sees them: a PDQ index and digest sets in memory, refreshed incrementally.

Nothing here touches the database per lookup. A `BankMatcher` is loaded once per process (from the
memory-mapped index on disk when there is one, so that every worker on a machine shares one copy), then
follows the banks' change sequence: `refresh` reads the entries whose ``seq`` is above its watermark —
additions, withdrawals, re-additions — and applies them to the index without rebuilding it.
`LiveMatcher` calls `refresh` at most every ``interval`` seconds from the lookup path, and at once
when told that the banks changed.
"""

import fcntl
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.safety.index import IndexFormatError, PdqIndex, hex_to_words
from trustdesk.safety.models import Bank, BankEntry
from trustdesk.safety.vocabulary import BankAction, DsaCategory, DsaKeyword, HashType

log = logging.getLogger(__name__)

REFRESH_BATCH = 50_000
REBUILD_DELTA = 200_000
"""A delta larger than this (rows added since the base was built) makes `load` rebuild the base."""
ACTION_STRENGTH = {
    BankAction.LOG: 0,
    BankAction.REVIEW: 1,
    BankAction.AUTO_REMOVE: 2,
    BankAction.REPORT_NCMEC: 3,
}
MIN_ACTIONABLE_QUALITY = 50


@dataclass(frozen=True)
class BankInfo:
    id: int
    name: str
    category: DsaCategory
    keyword: DsaKeyword | None
    action: BankAction
    threshold: int

    @classmethod
    def of(cls, bank: Bank) -> "BankInfo":
        return cls(bank.id, bank.name, bank.category, bank.keyword, bank.action, bank.pdq_threshold)


@dataclass(frozen=True)
class HashMatch:
    """A query hash that matched an entry of a bank, at a Hamming distance (0 for digests)."""

    bank: BankInfo
    hash_type: HashType
    hash: str
    distance: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank.name,
            "type": self.hash_type.value,
            "hash": self.hash,
            "distance": self.distance,
            "action": self.bank.action.value,
            "category": self.bank.category.value,
        }


def strongest(matches: Sequence[HashMatch]) -> BankAction | None:
    return max((m.bank.action for m in matches), key=ACTION_STRENGTH.__getitem__, default=None)


class BankMatcher:
    """The index of every active PDQ entry plus the MD5 and SHA-256 entries, labelled by bank id."""

    def __init__(self, index_dir: Path | None = None) -> None:
        self.index_dir = index_dir
        self.banks: dict[int, BankInfo] = {}
        self.pdq = PdqIndex.empty()
        self.digests: dict[HashType, dict[str, set[int]]] = {HashType.MD5: {}, HashType.SHA256: {}}
        self.watermark = 0
        self.base_watermark = 0
        self._lock = threading.RLock()

    # ------------------------------------------------------------------------------ loading

    def load(self, session: Session) -> None:
        """Open the persisted base (building it when missing or far behind), then catch up."""
        with self._lock:
            self._load_banks(session)
            if self.index_dir is not None:
                self.pdq = self._open_or_build(session, self.index_dir)
                self.base_watermark = self.watermark = self.pdq.watermark
            self._load_digests(session)
            self.refresh(session)

    def _open_or_build(self, session: Session, directory: Path) -> PdqIndex:
        directory.mkdir(parents=True, exist_ok=True)
        with _file_lock(directory / ".lock"):
            current = directory / "current"
            if current.exists():
                try:
                    index = PdqIndex.open(current.resolve())
                except IndexFormatError as exc:
                    log.warning("rebuilding the PDQ index: %s", exc)
                else:
                    behind = session.scalar(
                        select(func.count()).select_from(BankEntry).where(BankEntry.seq > index.watermark)
                    )
                    if (behind or 0) <= REBUILD_DELTA:
                        return index
            return self._build(session, directory)

    def rebuild(self, session: Session) -> int:
        """Fold every change into a new persisted base (``trustdesk bank index``); returns its size."""
        if self.index_dir is None:
            raise ValueError("this matcher has no index folder")
        with self._lock:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            with _file_lock(self.index_dir / ".lock"):
                self.pdq = self._build(session, self.index_dir)
            self.base_watermark = self.watermark = self.pdq.watermark
            self._load_banks(session)
            self._load_digests(session)
            self.refresh(session)
            return len(self.pdq)

    @staticmethod
    def _build(session: Session, directory: Path) -> PdqIndex:
        watermark = session.scalar(select(func.max(BankEntry.seq))) or 0
        rows = session.execute(
            select(BankEntry.value, BankEntry.bank_id)
            .where(
                BankEntry.hash_type == HashType.PDQ,
                BankEntry.removed_at.is_(None),
                BankEntry.seq <= watermark,
            )
            .order_by(BankEntry.seq)
            .execution_options(yield_per=REFRESH_BATCH)
        )
        hashes: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        for part in rows.partitions():
            hashes.append(hex_to_words([value for value, _ in part]))
            labels.append(np.fromiter((bank for _, bank in part), dtype=np.uint32, count=len(part)))
        all_hashes = np.concatenate(hashes) if hashes else np.zeros((0, 4), dtype=np.uint64)
        all_labels = np.concatenate(labels) if labels else np.zeros(0, dtype=np.uint32)
        target = directory / f"gen-{watermark}-{os.getpid()}-{time.monotonic_ns()}"
        PdqIndex.build(target, all_hashes, all_labels, watermark=watermark)
        link = directory / f".current-{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(target.name)
        previous = (directory / "current").resolve() if (directory / "current").exists() else None
        link.replace(directory / "current")
        if previous is not None and previous != target:
            shutil.rmtree(previous, ignore_errors=True)  # processes that map it keep their pages
        log.info("built the PDQ index: %d hashes at watermark %d", len(all_labels), watermark)
        return PdqIndex.open(target)

    def _load_banks(self, session: Session) -> None:
        self.banks = {bank.id: BankInfo.of(bank) for bank in session.scalars(select(Bank))}

    def _load_digests(self, session: Session) -> None:
        self.digests = {HashType.MD5: {}, HashType.SHA256: {}}
        rows = session.execute(
            select(BankEntry.hash_type, BankEntry.value, BankEntry.bank_id)
            .where(
                BankEntry.hash_type != HashType.PDQ,
                BankEntry.removed_at.is_(None),
                BankEntry.seq <= self.watermark,
            )
            .execution_options(yield_per=REFRESH_BATCH)
        )
        for hash_type, value, bank_id in rows:
            self.digests[hash_type].setdefault(value, set()).add(bank_id)

    # ------------------------------------------------------------------------------ following changes

    def refresh(self, session: Session) -> int:
        """Apply every entry change above the watermark; returns how many were applied."""
        with self._lock:
            self._load_banks(session)
            applied = 0
            while True:
                rows = session.execute(
                    select(
                        BankEntry.seq,
                        BankEntry.hash_type,
                        BankEntry.value,
                        BankEntry.bank_id,
                        BankEntry.removed_at.is_(None),
                    )
                    .where(BankEntry.seq > self.watermark)
                    .order_by(BankEntry.seq)
                    .limit(REFRESH_BATCH)
                ).all()
                if not rows:
                    return applied
                self._apply(rows)
                applied += len(rows)
                self.watermark = rows[-1][0]

    def _apply(self, rows: Sequence[Any]) -> None:
        adds = [(value, bank) for _, kind, value, bank, active in rows if kind is HashType.PDQ and active]
        removes = [
            (value, bank) for _, kind, value, bank, active in rows if kind is HashType.PDQ and not active
        ]
        if removes:
            self.pdq.remove(
                hex_to_words([v for v, _ in removes]), np.array([b for _, b in removes], np.uint32)
            )
        if adds:
            self.pdq.add(hex_to_words([v for v, _ in adds]), np.array([b for _, b in adds], np.uint32))
        for _, kind, value, bank, active in rows:
            if kind is HashType.PDQ:
                continue
            holders = self.digests[kind].setdefault(value, set())
            if active:
                holders.add(bank)
            else:
                holders.discard(bank)
                if not holders:
                    del self.digests[kind][value]

    # ------------------------------------------------------------------------------ lookups

    @property
    def max_threshold(self) -> int:
        return max((bank.threshold for bank in self.banks.values()), default=0)

    def match_pdq(self, queries: Sequence[str]) -> list[list[HashMatch]]:
        """Per query hex, every bank entry within that bank's threshold, nearest first."""
        if not queries:
            return []
        words = hex_to_words(list(queries))
        with self._lock:
            radius = self.max_threshold
            found = self.pdq.search_batch(words, radius)
            banks = self.banks
        results: list[list[HashMatch]] = []
        for position in range(len(queries)):
            matches = []
            for label, hex_hash, distance in found.for_query(position):
                bank = banks.get(label)
                if bank is not None and distance <= bank.threshold:
                    matches.append(HashMatch(bank, HashType.PDQ, hex_hash, distance))
            matches.sort(key=lambda m: (m.distance, m.bank.name))
            results.append(matches)
        return results

    def match_variants(self, variants: Sequence[str]) -> list[HashMatch]:
        """The matches of an image given by its hash variants (dihedral): each entry once, nearest."""
        nearest: dict[tuple[str, str], HashMatch] = {}
        for matches in self.match_pdq(variants):
            for match in matches:
                key = (match.bank.name, match.hash)
                if key not in nearest or match.distance < nearest[key].distance:
                    nearest[key] = match
        return sorted(nearest.values(), key=lambda m: (m.distance, m.bank.name))

    def match_digest(self, hash_type: HashType, value: str) -> list[HashMatch]:
        with self._lock:
            holders = sorted(self.digests[hash_type].get(value.lower(), ()))
            return [HashMatch(self.banks[b], hash_type, value.lower(), 0) for b in holders if b in self.banks]

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "banks": len(self.banks),
                "pdq": len(self.pdq),
                "md5": len(self.digests[HashType.MD5]),
                "sha256": len(self.digests[HashType.SHA256]),
                "watermark": self.watermark,
                "base_watermark": self.base_watermark,
            }


class LiveMatcher:
    """A process's matcher, kept current: refreshed at most every ``interval`` seconds from lookups."""

    def __init__(
        self, sessions: sessionmaker[Session], index_dir: Path | None, interval: float = 0.5
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.matcher = BankMatcher(index_dir)
        self._loaded = False
        self._next = 0.0
        self._refreshing = threading.Lock()

    def get(self) -> BankMatcher:
        now = time.monotonic()
        if not self._loaded:
            with self._refreshing:
                if not self._loaded:
                    with self.sessions() as session:
                        self.matcher.load(session)
                    self._loaded = True
                    self._next = time.monotonic() + self.interval
        elif now >= self._next and self._refreshing.acquire(blocking=False):
            try:
                self.refresh()
            finally:
                self._refreshing.release()
        return self.matcher

    def refresh(self) -> int:
        """Catch up now (called when the bus says the banks changed); nothing before the first load."""
        if not self._loaded:
            return 0
        with self.sessions() as session:
            applied = self.matcher.refresh(session)
        self._next = time.monotonic() + self.interval
        return applied


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
