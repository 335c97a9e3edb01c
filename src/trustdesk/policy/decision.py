"""The rules fired so far and the outcomes they ask for (internal, mutable while deciding)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trustdesk.policy.values import SEVERITY, Ground, Outcome, RuleFired

__all__ = ["Decision"]


@dataclass
class Decision:
    """The rules fired so far and the outcomes they ask for (internal, mutable while deciding)."""

    rules: list[RuleFired] = field(default_factory=list)
    votes: list[Outcome] = field(default_factory=list)

    def fire(
        self, rule_id: str, ground: Ground | None, sentence: str, outcome: Outcome | None = None
    ) -> None:
        self.rules.append(RuleFired(rule_id, ground, sentence))
        if outcome is not None:
            self.votes.append(outcome)

    def outcome(self) -> Outcome:
        return max(self.votes, key=SEVERITY.__getitem__, default=Outcome.COMPLY)

    def grounds(self) -> tuple[Ground, ...]:
        return tuple(dict.fromkeys(r.ground for r in self.rules if r.ground is not None))
