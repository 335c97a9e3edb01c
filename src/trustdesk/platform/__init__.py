"""The platform connector: how Trustdesk talks to the messaging platform.

`protocol` defines the transport-neutral connector protocol with its value types and errors; every
implementation (the built-in demo messenger in `reference`, a Matrix Synapse connector, ...) satisfies
it and runs the same contract suite in ``tests/contract``.
"""
