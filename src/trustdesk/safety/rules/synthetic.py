"""Synthetic but realistic rule sets and messages, for benchmarks (``bench/``) and load tests.

:func:`synthetic_rules_toml` writes ``n`` rules in the rule file format: keyword rules of two- and
three-word phrases (most), ``basic`` rules with a code or link pattern (one in ten) and rules with
conditions (one in eight), each with an example that matches. :func:`synthetic_messages` gives chat
messages of 50-300 characters, a few of which contain a rule's phrase. Deterministic for a seed.
"""

from __future__ import annotations

import json
import random

__all__ = ["synthetic_messages", "synthetic_rules_toml"]

# A paragraph of words reads better than a list of 90 strings.
_SPAM = (  # noqa: SIM905
    "free cheap instant bonus crypto bitcoin airdrop giveaway wallet token presale casino betting jackpot "
    "loan credit followers likes views subscribers verified account refund prize winner voucher coupon "
    "gift card pharmacy pills replica discount offer investment profit forex signals trading mining "
    "recovery unlock premium hack cheat generator leaked database password login support agent urgent "
    "guaranteed double triple income passive earn daily weekly cash payout claim reward exclusive vip"
).split()
_CHAT = (  # noqa: SIM905
    "hey are you coming to the party tonight I will bring snacks and drinks see you at eight did you watch "
    "the match yesterday it was great let me know when you are free the meeting moved to tuesday can you "
    "send me the slides thanks a lot happy birthday have a nice weekend the train is late again traffic is "
    "terrible today what time does the shop open I love this song lunch at noon sounds good to me"
).split()
_TLDS = ("xyz", "top", "click", "buzz", "icu")


def _phrase(rng: random.Random, used: set[str]) -> str:
    while True:
        phrase = " ".join(rng.sample(_SPAM, rng.choice((2, 2, 3))))
        if phrase not in used:
            used.add(phrase)
            return phrase


def synthetic_rules_toml(n: int, seed: int = 0) -> str:
    """``n`` rules as the text of one rule file."""
    rng = random.Random(seed)  # noqa: S311 - test data, deterministic on purpose
    used: set[str] = set()
    out = ["schema_version = 1", ""]
    for index in range(n):
        out += ["[[rule]]", f'id = "synthetic.{index:05d}"', f'description = "Synthetic rule {index}"']
        out += ['category = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"', 'action = "review"']
        if index % 10 == 9:
            word = rng.choice(_SPAM)
            prefix = "".join(rng.choice("abcdefghjkmnpqrstuvwxz") for _ in range(2))
            out.append('normalise = "basic"')
            out.append(
                f"patterns = ['\\b{word} code {prefix}[0-9]{{4}}\\b', "
                f"'https?://[a-z0-9-]*{prefix}{word}[a-z0-9-]*\\.(?:{'|'.join(_TLDS)})/']"
            )
            example = f"use {word} code {prefix}{rng.randrange(1000, 9999)} today"
        else:
            keywords = [_phrase(rng, used) for _ in range(rng.choice((2, 3, 4)))]
            out.append(f"keywords = {json.dumps(keywords)}")
            example = f"{rng.choice(_CHAT)} {keywords[0]} {rng.choice(_CHAT)}"
        if index % 8 == 7:
            out += [
                "[rule.conditions]",
                'chat_type = ["public", "group"]',
                f"min_audience = {rng.choice((10, 100, 1000))}",
            ]
        out += ["[rule.examples]", f"match = [{json.dumps(example)}]", ""]
    return "\n".join(out)


def synthetic_messages(n: int, seed: int = 0, *, hit_rate: float = 0.02) -> list[str]:
    """``n`` chat messages of 50-300 characters; about ``hit_rate`` of them contain spam phrasing."""
    rng = random.Random(seed)  # noqa: S311 - test data, deterministic on purpose
    messages: list[str] = []
    for _ in range(n):
        length = rng.randrange(50, 300)
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < length:
            words.append(rng.choice(_CHAT))
        if rng.random() < hit_rate:
            at = rng.randrange(len(words))
            words[at:at] = rng.sample(_SPAM, 3)
        text = " ".join(words)
        messages.append(text[0].upper() + text[1:] + rng.choice((".", "!", "?", " :)", "")))
    return messages
