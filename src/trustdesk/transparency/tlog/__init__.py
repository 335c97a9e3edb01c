"""The public transparency log: an append-only RFC 9162 Merkle tree of request receipts and audit-chain
heads, with signed C2SP checkpoints (docs/transparency-log.md).

``leaves`` builds and reads the leaves (pure), ``service`` sequences them and answers proofs, ``checks``
verifies a log, a receipt and the audit anchors.
"""
