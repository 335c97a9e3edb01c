"""Roles and the permissions they grant (``scope:resource:action``)."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    LEGAL_REVIEWER = "legal_reviewer"
    LEGAL_APPROVER = "legal_approver"
    MODERATOR = "moderator"


class Permission(StrEnum):
    STAFF_AGENCY_MANAGE = "staff:agency:manage"
    STAFF_USER_MANAGE = "staff:user:manage"
    STAFF_REQUEST_READ = "staff:request:read"
    STAFF_REQUEST_DECIDE = "staff:request:decide"
    STAFF_REQUEST_APPROVE = "staff:request:approve"
    STAFF_CASE_MODERATE = "staff:case:moderate"
    STAFF_FLAGGER_MANAGE = "staff:flagger:manage"
    STAFF_AUDIT_READ = "staff:audit:read"
    STAFF_MAILROOM_UPLOAD = "staff:mailroom:upload"
    AUTHORITY_REQUEST_SUBMIT = "authority:request:submit"
    AUTHORITY_REQUEST_READ = "authority:request:read"
    STAFF_ONCALL_MANAGE = "staff:oncall:manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {
            Permission.STAFF_AGENCY_MANAGE,
            Permission.STAFF_USER_MANAGE,
            Permission.STAFF_REQUEST_READ,
            Permission.STAFF_AUDIT_READ,
            Permission.STAFF_FLAGGER_MANAGE,
            Permission.STAFF_ONCALL_MANAGE,
            Permission.STAFF_MAILROOM_UPLOAD,
        }
    ),
    Role.LEGAL_REVIEWER: frozenset(
        {
            Permission.STAFF_REQUEST_READ,
            Permission.STAFF_REQUEST_DECIDE,
            Permission.STAFF_AUDIT_READ,
            Permission.STAFF_MAILROOM_UPLOAD,
        }
    ),
    Role.LEGAL_APPROVER: frozenset(
        {
            Permission.STAFF_REQUEST_READ,
            Permission.STAFF_REQUEST_APPROVE,
            Permission.STAFF_AUDIT_READ,
            Permission.STAFF_ONCALL_MANAGE,
        }
    ),
    Role.MODERATOR: frozenset({Permission.STAFF_CASE_MODERATE, Permission.STAFF_FLAGGER_MANAGE}),
}

OFFICER_PERMISSIONS = frozenset({Permission.AUTHORITY_REQUEST_SUBMIT, Permission.AUTHORITY_REQUEST_READ})


def permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    granted: frozenset[Permission] = frozenset()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return granted
