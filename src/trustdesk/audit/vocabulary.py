"""Who acts and what they do: closed vocabularies of the audit log."""

from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    OFFICER = "officer"
    STAFF = "staff"
    OPERATOR = "operator"  # a person at the CLI of the server
    SYSTEM = "system"


class AuditAction(StrEnum):
    """Audit tags, ``domain:subject:action``."""

    AGENCY_CREATE = "authorities:agency:create"
    AGENCY_VERIFY = "authorities:agency:verify"
    OFFICER_CREATE = "authorities:officer:create"
    API_KEY_ISSUE = "authorities:api_key:issue"
    API_KEY_REVOKE = "authorities:api_key:revoke"
    STAFF_USER_CREATE = "staff:user:create"
    REQUEST_RECEIVE = "lawful:request:receive"
    DOCUMENT_ATTACH = "lawful:document:attach"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None = None

    @classmethod
    def operator(cls) -> "Actor":
        return cls(ActorKind.OPERATOR)

    @classmethod
    def system(cls) -> "Actor":
        return cls(ActorKind.SYSTEM)
