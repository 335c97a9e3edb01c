"""``trustdesk scan FILE``: what the detectors say about an image, a video or a text file."""

from pathlib import Path
from typing import Any

from trustdesk.app import Container
from trustdesk.errors import InvalidInput
from trustdesk.safety.detectors import Detectors, Finding
from trustdesk.safety.hashing.video import hash_video_file
from trustdesk.safety.media import MediaKind, sniff_file
from trustdesk.safety.rules import TextEvent
from trustdesk.safety.vocabulary import ChatType, ContentKind

MAX_TEXT_BYTES = 1_048_576


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "detector": f.detector,
        "source": f.source,
        "matched": f.matched,
        "distance": f.distance,
        "score": f.score,
        "action": f.action.value,
        "category": f.category.value if f.category else None,
    }


def scan_file(
    container: Container, path: Path, *, chat_type: ChatType = ChatType.PUBLIC, audience: int = 0
) -> dict[str, Any]:
    """Every finding on the file at ``path``, with its hashes; `InvalidInput` for what cannot be read.

    A text file is judged as a message posted in a chat of ``chat_type`` seen by ``audience`` people.
    """
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", field="file")
    detectors = Detectors(container.matcher, container.rules, container.classifiers)
    kind = sniff_file(path)
    report: dict[str, Any] = {"file": str(path), "kind": kind.value}
    if kind is MediaKind.IMAGE:
        if path.stat().st_size > container.settings.max_media_bytes:
            raise InvalidInput(f"{path}: over the media limit of {container.settings.max_media_bytes} bytes")
        findings, scores, hashes = detectors.image(path.read_bytes())
        report["hashes"] = {
            "md5": hashes.md5,
            "sha256": hashes.sha256,
            "pdq": hashes.pdq,
            "quality": hashes.quality,
        }
        report["classifier_scores"] = scores
    elif kind is MediaKind.VIDEO:
        video = hash_video_file(path)
        frames = [(frame.pdq, frame.quality) for frame in video.frames]
        findings = detectors.hashes(ContentKind.VIDEO, md5=video.md5, sha256=video.sha256, pdq=frames)
        report["hashes"] = {"md5": video.md5, "sha256": video.sha256, "frames": len(frames)}
    else:
        if path.stat().st_size > MAX_TEXT_BYTES:
            raise InvalidInput(f"{path}: a text file is scanned up to {MAX_TEXT_BYTES} bytes", field="file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{path}: neither an image, a video nor UTF-8 text", field="file") from None
        report["kind"] = "text"
        findings = detectors.text(
            TextEvent(text=text, chat_type=chat_type, audience=audience, account_age_days=None)
        )
    report["matches"] = [_finding(f) for f in findings]
    return report
