"""Policy: the platform's jurisdictions and principles as validated data, and the pure decision engine.

``rules`` loads ``policies/jurisdictions.toml`` and ``policies/principles.toml`` into frozen values
versioned by the sha256 of the files; ``engine.recommend`` turns the facts of one lawful request, its
instrument and the policy into a recommendation (comply, partial, refuse, clarify, escalate) that names
every rule that fired in a sentence a lawyer can read. Operators and lawyers: see docs/policies.md.
"""
