"""Every detector over one content item: hash banks, text rules, classifiers. Pure of the database.

`Detectors.detect` turns a `ContentItem` into `Finding`s — what fired, through which bank, rule or
model, at which distance or score, and what the finding asks for. Deciding and acting on them is the
scanner's job.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from trustdesk.safety.classifiers import Classifier
from trustdesk.safety.events import ContentItem, Media
from trustdesk.safety.hashing.image import ImageHashes, hash_image
from trustdesk.safety.hashing.pdq import PDQ_MIN_QUALITY
from trustdesk.safety.hashing.video import VideoFrame, match_video
from trustdesk.safety.matcher import HashMatch, LiveMatcher
from trustdesk.safety.media import MediaError
from trustdesk.safety.rules import RuleSet, TextEvent
from trustdesk.safety.vocabulary import BankAction, ContentKind, DsaCategory, DsaKeyword, HashType

log = logging.getLogger(__name__)

CLASSIFIER_REVIEW_SCORE = 0.8
"""A classifier label at or above this score sends the content to review; below, it is logged."""


@dataclass(frozen=True)
class Finding:
    detector: str
    """``pdq``, ``md5``, ``sha256``, ``vpdq``, ``rule`` or ``classifier``."""
    source: str
    """The bank's name, the rule's id or the classifier's name."""
    matched: str
    """The bank's hash, the rule's matched excerpt or the classifier's label."""
    action: BankAction
    category: DsaCategory | None
    keyword: DsaKeyword | None
    distance: int | None = None
    score: float | None = None


@dataclass(frozen=True)
class Detection:
    item: ContentItem
    findings: tuple[Finding, ...]
    scores: dict[str, float] = field(default_factory=dict)
    """Classifier scores by label (highest over classifiers), for blurring in the review queue."""


def _hash_finding(match: HashMatch, detector: str, *, quality: int | None) -> Finding:
    action = match.bank.action
    if quality is not None and quality < PDQ_MIN_QUALITY and action is not BankAction.LOG:
        action = BankAction.REVIEW  # an untrustworthy hash is never acted on alone
    return Finding(
        detector=detector,
        source=match.bank.name,
        matched=match.hash,
        action=action,
        category=match.bank.category,
        keyword=match.bank.keyword,
        distance=match.distance,
    )


class Detectors:
    """The detector stack of one process: the live bank matcher, the rule set and the classifiers."""

    def __init__(self, matcher: LiveMatcher, rules: RuleSet, classifiers: Sequence[Classifier] = ()) -> None:
        self.matcher = matcher
        self.rules = rules
        self.classifiers = tuple(classifiers)

    def detect(self, item: ContentItem) -> Detection:
        findings: list[Finding] = []
        if item.text:
            findings.extend(self._text(item))
        scores: dict[str, float] = {}
        if item.media is not None:
            media_findings, scores = self._media(item.kind, item.media)
            findings.extend(media_findings)
        return Detection(item, tuple(findings), scores)

    def _text(self, item: ContentItem) -> list[Finding]:
        event = TextEvent(
            text=item.text or "",
            chat_type=item.chat_type,
            audience=item.audience,
            account_age_days=item.account_age_days(),
        )
        return self.text(event)

    def text(self, event: TextEvent) -> list[Finding]:
        return [
            Finding("rule", hit.rule_id, hit.excerpt, hit.action, hit.category, hit.keyword)
            for hit in self.rules.evaluate(event)
        ]

    def _media(self, kind: ContentKind, media: Media) -> tuple[list[Finding], dict[str, float]]:
        data = media.data()
        if data is not None and kind is ContentKind.IMAGE:
            try:
                findings, scores, _ = self.image(data)
            except MediaError as exc:
                log.warning("unreadable inline image: %s", exc)
            else:
                return findings, {**media.classifier_scores, **scores}
        pdq = [(p.hash, p.quality) for p in media.pdq]
        findings = self.hashes(kind, md5=media.md5, sha256=media.sha256, pdq=pdq)
        scores = dict(media.classifier_scores)
        return findings + self._classified(scores), scores

    def image(self, data: bytes) -> tuple[list[Finding], dict[str, float], ImageHashes]:
        """Hash (with the eight dihedral variants) and classify an image, and match it. `MediaError`."""
        hashes = hash_image(data)
        scores: dict[str, float] = {}
        for classifier in self.classifiers:
            for score in classifier.classify(data):
                scores[score.label] = max(scores.get(score.label, 0.0), score.score)
        pdq = [(h, hashes.quality) for h in hashes.dihedral]
        findings = self.hashes(ContentKind.IMAGE, md5=hashes.md5, sha256=hashes.sha256, pdq=pdq)
        return findings + self._classified(scores), scores, hashes

    def hashes(
        self, kind: ContentKind, *, md5: str | None, sha256: str | None, pdq: list[tuple[str, int]]
    ) -> list[Finding]:
        """Match media by its digests and PDQ hashes: an image's variants, or a video's frames."""
        matcher = self.matcher.get()
        findings: list[Finding] = []
        for hash_type, value in ((HashType.MD5, md5), (HashType.SHA256, sha256)):
            if value:
                findings.extend(
                    _hash_finding(m, hash_type.value, quality=None)
                    for m in matcher.match_digest(hash_type, value)
                )
        if pdq and kind is ContentKind.VIDEO:
            findings.extend(self._video(pdq))
        elif pdq:
            findings.extend(self._image(pdq))
        return findings

    def _image(self, pdq: list[tuple[str, int]]) -> list[Finding]:
        """The image's hash and its dihedral variants: each bank entry once, at its nearest variant."""
        quality = pdq[0][1]
        matches = self.matcher.get().match_variants([h for h, _ in pdq])
        return [_hash_finding(m, "pdq", quality=quality) for m in matches]

    def _video(self, frames: list[tuple[str, int]]) -> list[Finding]:
        """A video matches a bank when enough of its usable frames match that bank."""
        per_frame = self.matcher.get().match_pdq([h for h, _ in frames])
        banks = {m.bank.name: m for matches in per_frame for m in matches}
        video_frames = [VideoFrame(h, q, float(i)) for i, (h, q) in enumerate(frames)]
        found = []
        for name, example in banks.items():
            hit = {
                h
                for (h, _), matches in zip(frames, per_frame, strict=True)
                if any(m.bank.name == name for m in matches)
            }

            def in_bank(hexes: list[str], hit: set[str] = hit) -> list[bool]:
                return [h in hit for h in hexes]

            verdict = match_video(video_frames, in_bank)
            if verdict.matched:
                found.append(
                    Finding(
                        detector="vpdq",
                        source=name,
                        matched=f"{verdict.frames_matched}/{verdict.frames_considered} frames",
                        action=example.bank.action,
                        category=example.bank.category,
                        keyword=example.bank.keyword,
                        score=round(verdict.query_match_percent / 100, 4),
                    )
                )
        return found

    def _classified(self, scores: dict[str, float]) -> list[Finding]:
        return [
            Finding(
                detector="classifier",
                source="classifier",
                matched=label,
                action=BankAction.REVIEW if score >= CLASSIFIER_REVIEW_SCORE else BankAction.LOG,
                category=DsaCategory.OTHER_VIOLATION_TC,
                keyword=DsaKeyword.NUDITY if label == "nudity" else None,
                score=round(score, 4),
            )
            for label, score in sorted(scores.items())
            if score >= CLASSIFIER_REVIEW_SCORE / 2
        ]
