"""Image classifiers behind one small protocol. They never act alone.

A classifier turns image bytes into labelled scores in [0, 1]; the caller decides what a score means:
route the content to review, or raise a case's priority, never remove on a score alone.

Real classifiers are optional extras with their own licences (NudeNet is AGPL-3.0, Trustdesk is
Apache-2.0), imported lazily: `load_classifiers` returns those whose extra is installed and logs, once
per process, each one that is not.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

KNOWN = ("nudenet",)
"""The classifiers `load_classifiers` knows, in the order it loads them."""


class ClassifierUnavailable(RuntimeError):
    """The classifier's optional extra is not installed, or its model cannot be loaded."""


@dataclass(frozen=True, slots=True)
class Score:
    label: str
    score: float
    """Confidence in [0, 1]; 0.0 when the label was not detected at all."""

    def __post_init__(self) -> None:
        if not self.label:
            raise ValueError("a score needs a label")
        if not (math.isfinite(self.score) and 0.0 <= self.score <= 1.0):
            raise ValueError(f"score for {self.label!r} is not in [0, 1]: {self.score!r}")


@runtime_checkable
class Classifier(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str:
        """Identifies the code and model, so that a signal says which model produced it."""
        ...

    def classify(self, image_bytes: bytes) -> list[Score]:
        """Scores for the image; `trustdesk.safety.media.MediaError` when the bytes are not an image."""
        ...


_reported: set[str] = set()


def load_classifiers(names: tuple[str, ...] = KNOWN) -> list[Classifier]:
    """The classifiers among ``names`` whose optional extra is installed (possibly none)."""
    loaded: list[Classifier] = []
    for name in names:
        if name not in KNOWN:
            raise ValueError(f"unknown classifier {name!r}; known: {', '.join(KNOWN)}")
        try:
            loaded.append(_load(name))
        except ClassifierUnavailable as exc:
            if name not in _reported:
                _reported.add(name)
                log.warning("classifier %s is not available, running without it: %s", name, exc)
    return loaded


def _load(name: str) -> Classifier:
    if name == "nudenet":
        from trustdesk.safety.classifiers.nudenet_detector import NudeNetClassifier

        return NudeNetClassifier()
    raise AssertionError(name)  # pragma: no cover - guarded by KNOWN


__all__ = ["KNOWN", "Classifier", "ClassifierUnavailable", "Score", "load_classifiers"]
