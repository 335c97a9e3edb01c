"""Reference numbers people quote: ``TD-2026-7K3M-Q9XF`` (a request), ``NT-…`` (a notice), ``AP-…`` (an
appeal), ``TH-…`` (a threat notification). 40 random bits in Crockford's base 32 (no I, L, O, U), so a
number reveals neither volume nor order and survives being read out on the phone."""

import secrets
from typing import Final

__all__ = ["new_reference"]

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(prefix: str, year: int) -> str:
    code = "".join(secrets.choice(_CROCKFORD) for _ in range(8))
    return f"{prefix}-{year}-{code[:4]}-{code[4:]}"
