"""Text rules: a declarative, versioned rule file format, normalisation, one multi-pattern matcher.

``load_rules(paths)`` reads and validates rule files (:mod:`.format`) into a :class:`RuleSet`, whose
``evaluate(TextEvent)`` returns the :class:`RuleHit` of every rule that matched and whose conditions held,
and whose ``self_test()`` runs every rule's examples. The starter set ships in ``starter/``.
"""

from trustdesk.safety.rules.conditions import Conditions, TextEvent
from trustdesk.safety.rules.engines import Engine, Matcher, available_engines, compile_matcher
from trustdesk.safety.rules.model import Example, ExampleFailure, Rule, RuleFileError, RuleHit
from trustdesk.safety.rules.normalise import Form, normalise, normalise_basic, normalise_full
from trustdesk.safety.rules.ruleset import STARTER_DIRECTORY, RuleSet, load_rules, rule_set_version
from trustdesk.safety.rules.selftest import SelfTestReport, rules_test

__all__ = [
    "STARTER_DIRECTORY",
    "Conditions",
    "Engine",
    "Example",
    "ExampleFailure",
    "Form",
    "Matcher",
    "Rule",
    "RuleFileError",
    "RuleHit",
    "RuleSet",
    "SelfTestReport",
    "TextEvent",
    "available_engines",
    "compile_matcher",
    "load_rules",
    "normalise",
    "normalise_basic",
    "normalise_full",
    "rule_set_version",
    "rules_test",
]
