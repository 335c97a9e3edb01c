"""Who may do what: every role's permissions exactly (written to kill the mutants of staff/roles.py)."""

import pytest

from trustdesk.staff.roles import OFFICER_PERMISSIONS, ROLE_PERMISSIONS, Permission, Role, permissions_of

P = Permission
EXPECTED = {
    Role.ADMIN: {
        P.STAFF_AGENCY_MANAGE,
        P.STAFF_USER_MANAGE,
        P.STAFF_REQUEST_READ,
        P.STAFF_AUDIT_READ,
        P.STAFF_FLAGGER_MANAGE,
        P.STAFF_ONCALL_MANAGE,
        P.STAFF_MAILROOM_UPLOAD,
    },
    Role.LEGAL_REVIEWER: {
        P.STAFF_REQUEST_READ,
        P.STAFF_REQUEST_DECIDE,
        P.STAFF_AUDIT_READ,
        P.STAFF_MAILROOM_UPLOAD,
    },
    Role.LEGAL_APPROVER: {
        P.STAFF_REQUEST_READ,
        P.STAFF_REQUEST_APPROVE,
        P.STAFF_AUDIT_READ,
        P.STAFF_ONCALL_MANAGE,
    },
    Role.MODERATOR: {P.STAFF_CASE_MODERATE, P.STAFF_FLAGGER_MANAGE},
}


def test_the_vocabulary_is_stable() -> None:
    """Roles and permissions are stored by value: renaming one silently strips people of their rights."""
    assert [r.value for r in Role] == ["admin", "legal_reviewer", "legal_approver", "moderator"]
    assert {p.name: p.value for p in Permission} == {
        "STAFF_AGENCY_MANAGE": "staff:agency:manage",
        "STAFF_USER_MANAGE": "staff:user:manage",
        "STAFF_REQUEST_READ": "staff:request:read",
        "STAFF_REQUEST_DECIDE": "staff:request:decide",
        "STAFF_REQUEST_APPROVE": "staff:request:approve",
        "STAFF_CASE_MODERATE": "staff:case:moderate",
        "STAFF_FLAGGER_MANAGE": "staff:flagger:manage",
        "STAFF_AUDIT_READ": "staff:audit:read",
        "STAFF_MAILROOM_UPLOAD": "staff:mailroom:upload",
        "AUTHORITY_REQUEST_SUBMIT": "authority:request:submit",
        "AUTHORITY_REQUEST_READ": "authority:request:read",
        "STAFF_ONCALL_MANAGE": "staff:oncall:manage",
    }


@pytest.mark.parametrize("role", list(Role))
def test_each_role_grants_exactly_its_permissions(role: Role) -> None:
    assert permissions_of(frozenset({role})) == EXPECTED[role]
    assert ROLE_PERMISSIONS[role] == EXPECTED[role]


def test_roles_add_up_and_none_grants_nothing() -> None:
    assert permissions_of(frozenset()) == frozenset()
    both = permissions_of(frozenset({Role.LEGAL_REVIEWER, Role.LEGAL_APPROVER}))
    assert both == EXPECTED[Role.LEGAL_REVIEWER] | EXPECTED[Role.LEGAL_APPROVER]
    assert permissions_of(frozenset(Role)) == frozenset(Permission) - OFFICER_PERMISSIONS


def test_four_eyes_deciding_and_approving_are_different_roles() -> None:
    assert P.STAFF_REQUEST_APPROVE not in permissions_of(frozenset({Role.LEGAL_REVIEWER}))
    assert P.STAFF_REQUEST_DECIDE not in permissions_of(frozenset({Role.LEGAL_APPROVER}))


def test_officers_hold_only_authority_permissions() -> None:
    assert frozenset({P.AUTHORITY_REQUEST_SUBMIT, P.AUTHORITY_REQUEST_READ}) == OFFICER_PERMISSIONS
    assert not OFFICER_PERMISSIONS & permissions_of(frozenset(Role))
