"""Pure parts of access control: a staff token's scope and the TOTP secret of an enrolment link."""

import base64

import pyotp
import pytest

from trustdesk.auth.enrolment import totp_secret_for
from trustdesk.errors import InvalidInput
from trustdesk.staff.roles import OFFICER_PERMISSIONS, Permission
from trustdesk.staff.service import ALL, STAFF_PERMISSIONS, token_scope


def test_a_scope_is_all_or_sorted_staff_permissions() -> None:
    assert token_scope(["all"]) == ALL
    assert token_scope(["*"]) == ALL
    assert token_scope(["staff:request:read", "staff:audit:read", "staff:request:read"]) == (
        "staff:audit:read staff:request:read"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "choose the token's scope"),
        (["  "], "choose the token's scope"),
        (["all", "staff:request:read"], "not both"),
        (["staff:request:delete"], "unknown permission staff:request:delete"),
        (["authority:request:submit"], "unknown permission authority:request:submit"),
    ],
)
def test_a_bad_scope_is_refused_with_what_is_allowed(values: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as refused:
        token_scope(values)
    if "unknown" in message:
        assert "staff:request:read" in refused.value.message


def test_staff_tokens_may_name_every_staff_permission_and_no_officer_one() -> None:
    assert frozenset(Permission) - OFFICER_PERMISSIONS == STAFF_PERMISSIONS
    assert not STAFF_PERMISSIONS & OFFICER_PERMISSIONS


def test_the_enrolment_secret_is_a_160_bit_base32_secret_of_the_token_and_the_key() -> None:
    secret = totp_secret_for("token-a", "server key")
    assert secret == totp_secret_for("token-a", "server key")
    assert len(base64.b32decode(secret)) == 20
    assert secret != totp_secret_for("token-b", "server key")
    assert secret != totp_secret_for("token-a", "another server key")
    assert len(pyotp.TOTP(secret).now()) == 6
