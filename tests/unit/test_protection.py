"""Small-count protection: one rule, applied to every figure of the tree."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.config import SmallCountRule
from trustdesk.transparency.protection import SUPPRESSED, Median, Protection, Share, Tree, cell, protect

SUPPRESS = Protection(SmallCountRule.SUPPRESS, 30)
BAND = Protection(SmallCountRule.BAND, 250)


@pytest.mark.parametrize(
    ("rule", "n", "shown"),
    [
        (Protection(), 7, 7),
        (SUPPRESS, 0, 0),
        (SUPPRESS, 1, "<30"),
        (SUPPRESS, 29, "<30"),
        (SUPPRESS, 30, 30),
        (BAND, 0, "0-249"),
        (BAND, 249, "0-249"),
        (BAND, 250, "250-499"),
        (BAND, 13_260, "13250-13499"),
    ],
)
def test_a_count_is_published_as_the_rule_says(rule: Protection, n: int, shown: int | str) -> None:
    assert rule.count(n) == shown


def test_medians_and_shares_of_small_groups_are_suppressed() -> None:
    assert SUPPRESS.median(Median(3600.4, 29)) == SUPPRESSED
    assert SUPPRESS.median(Median(3600.4, 30)) == 3600
    assert SUPPRESS.median(Median(None, 0)) is None
    assert BAND.share(Share(1, 249)) == SUPPRESSED
    assert BAND.share(Share(25, 250)) == 0.1
    assert Protection().share(Share(1, 3)) == 0.3333
    assert Protection().share(Share(0, 0)) is None


def test_protect_walks_the_whole_tree_and_keeps_labels() -> None:
    tree: dict[str, Tree] = {
        "period": "2026-H1",
        "received": 12,
        "by_country": {"FR": {"received": 3, "median": Median(10.0, 3)}},
        "rows": [{"country": "DE", "received": 31}],
        "none": None,
    }
    published = protect(tree, SUPPRESS)
    assert published.figures == {
        "period": "2026-H1",
        "received": "<30",
        "by_country": {"FR": {"received": "<30", "median": SUPPRESSED}},
        "rows": [{"country": "DE", "received": 31}],
        "none": None,
    }
    assert published.at("by_country", "FR", "received") == "<30"
    with pytest.raises(KeyError):
        published.at("received", "deeper")


def test_a_flag_cannot_pass_as_a_count() -> None:
    with pytest.raises(TypeError):
        protect({"flag": True}, SUPPRESS)


def test_bad_rules_and_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        Protection(SmallCountRule.BAND, 1)
    with pytest.raises(ValueError, match="negative"):
        SUPPRESS.count(-1)
    with pytest.raises(TypeError):
        cell({"a": 1})
    assert (cell(None), cell(5), cell("<30")) == ("", "5", "<30")


@given(st.integers(0, 10**9), st.integers(2, 10**6))
def test_a_band_always_holds_its_count(n: int, width: int) -> None:
    low, high = (int(x) for x in str(Protection(SmallCountRule.BAND, width).count(n)).split("-"))
    assert low <= n <= high
    assert (high - low + 1, low % width) == (width, 0)


@given(st.integers(0, 10**6), st.integers(2, 1000))
def test_suppression_never_shows_a_small_nonzero_count(n: int, threshold: int) -> None:
    shown = Protection(SmallCountRule.SUPPRESS, threshold).count(n)
    assert shown == n if (n == 0 or n >= threshold) else shown == f"<{threshold}"
