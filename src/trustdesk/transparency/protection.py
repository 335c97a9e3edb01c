"""Small-count protection: the one function every figure of a report goes through before it is rendered.

The metrics are computed exactly (``metrics.py``); `protect` turns the whole tree into the figures that may
be published, by one rule from the settings (``TRUSTDESK_REPORT_SMALL_COUNTS``,
``TRUSTDESK_REPORT_SMALL_COUNT_THRESHOLD``):

- ``none``: every count as counted (the EU templates ask for exact figures);
- ``suppress``: a count from 1 to threshold-1 is published as ``<threshold`` (``<30``); 0 stays 0;
- ``band``: every count is published as its band of threshold width: ``0-249``, ``250-499``, … (the way
  50 U.S.C. § 1874 lets US providers publish national-security requests).

A median or a share is a figure about the records it summarises, so it is published only when the count it
is computed from would be published exactly at the threshold or above (with ``none``: always); else it
reads ``suppressed``. Renderers take `Protected` only, so nothing reaches a file or the signed document
without passing here. Pure: no ORM.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from trustdesk.config import Settings, SmallCountRule

__all__ = [
    "SUPPRESSED",
    "Figure",
    "Median",
    "Protected",
    "Protection",
    "Share",
    "Tree",
    "cell",
    "protect",
]

SUPPRESSED: Final = "suppressed"


@dataclass(frozen=True)
class Median:
    """The median of ``n`` durations, in seconds (None when there are none)."""

    seconds: float | None
    n: int


@dataclass(frozen=True)
class Share:
    """``part`` of ``whole`` (a rate, such as automated actions reversed on appeal)."""

    part: int
    whole: int


Tree: TypeAlias = "Mapping[str, Tree] | Sequence[Tree] | int | str | Median | Share | None"
"""Exact metrics: every ``int`` in it is a count; strings are labels."""
Figure: TypeAlias = "dict[str, Figure] | list[Figure] | int | float | str | None"
"""Published figures, JSON-ready."""


@dataclass(frozen=True)
class Protection:
    """The rule: its mode and threshold (the band width in ``band`` mode)."""

    mode: SmallCountRule = SmallCountRule.NONE
    threshold: int = 30

    def __post_init__(self) -> None:
        if self.threshold < 2:  # a threshold of 1 would protect nothing
            raise ValueError(f"the small-count threshold must be at least 2, got {self.threshold}")

    @classmethod
    def from_settings(cls, settings: Settings) -> "Protection":
        return cls(settings.report_small_counts, settings.report_small_count_threshold)

    def describe(self) -> dict[str, str | int]:
        return {"mode": self.mode.value, "threshold": self.threshold}

    def count(self, n: int) -> int | str:
        """One count as it may be published."""
        if n < 0:
            raise ValueError(f"a count cannot be negative: {n}")
        if self.mode is SmallCountRule.SUPPRESS:
            return f"<{self.threshold}" if 0 < n < self.threshold else n
        if self.mode is SmallCountRule.BAND:
            low = (n // self.threshold) * self.threshold
            return f"{low}-{low + self.threshold - 1}"
        return n

    def exact_enough(self, n: int) -> bool:
        """Whether a figure computed from ``n`` records may be published."""
        return self.mode is SmallCountRule.NONE or n >= self.threshold

    def median(self, median: Median) -> int | str | None:
        if median.n == 0 or median.seconds is None:
            return None
        return round(median.seconds) if self.exact_enough(median.n) else SUPPRESSED

    def share(self, share: Share) -> float | str | None:
        if share.whole == 0:
            return None
        return round(share.part / share.whole, 4) if self.exact_enough(share.whole) else SUPPRESSED


@dataclass(frozen=True)
class Protected:
    """Figures that went through `protect`, and the rule that made them."""

    figures: dict[str, Figure]
    protection: Protection

    def at(self, *path: str) -> Figure:
        """The figure at ``path`` (keys from the root); a missing key is a bug in a renderer: KeyError."""
        node: Figure = self.figures
        for key in path:
            if not isinstance(node, dict):
                raise KeyError("/".join(path))
            node = node[key]
        return node


def _walk(node: Tree, rule: Protection) -> Figure:
    if isinstance(node, bool):  # a bool is an int: never let a flag pass as a count
        raise TypeError("metrics hold counts, medians, shares and labels, not booleans")
    if isinstance(node, int):
        return rule.count(node)
    if isinstance(node, Median):
        return rule.median(node)
    if isinstance(node, Share):
        return rule.share(node)
    if node is None or isinstance(node, str):
        return node
    if isinstance(node, Mapping):
        return {str(key): _walk(value, rule) for key, value in node.items()}
    return [_walk(value, rule) for value in node]


def protect(metrics: Mapping[str, Tree], rule: Protection) -> Protected:
    """Every count, median and share of ``metrics`` as the rule lets it be published."""
    figures = _walk(metrics, rule)
    assert isinstance(figures, dict)
    return Protected(figures, rule)


def cell(figure: Figure) -> str:
    """A published figure as a CSV cell: a number, a band or ``<30``, ``suppressed``, or empty for none."""
    if figure is None:
        return ""
    if isinstance(figure, dict | list):
        raise TypeError("a cell holds one figure, not a group")
    return str(figure)
