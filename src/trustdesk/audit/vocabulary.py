"""Who acts and what they do: closed vocabularies of the audit log."""

from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    OFFICER = "officer"
    STAFF = "staff"
    OPERATOR = "operator"  # a person at the CLI of the server
    SYSTEM = "system"
    PUBLIC = "public"  # anyone: a notifier, an appellant (identified by a hashed key, never by name)
    TRUSTED_FLAGGER = "trusted_flagger"


class AuditAction(StrEnum):
    """Audit tags, ``domain:subject:action``."""

    AGENCY_CREATE = "authorities:agency:create"
    AGENCY_VERIFY = "authorities:agency:verify"
    OFFICER_CREATE = "authorities:officer:create"
    API_KEY_ISSUE = "authorities:api_key:issue"
    API_KEY_REVOKE = "authorities:api_key:revoke"
    STAFF_USER_CREATE = "staff:user:create"
    CREDENTIALS_SET = "auth:credentials:set"
    SESSION_LOGIN = "auth:session:login"
    SESSION_LOGOUT = "auth:session:logout"
    AGENCY_SET_RECIPIENT = "authorities:agency:set_recipient"
    SIGNING_KEY_REGISTER = "authorities:signing_key:register"
    SIGNING_KEY_REVOKE = "authorities:signing_key:revoke"
    SUPERVISOR_ADD = "authorities:supervisor:add"
    SUPERVISOR_REMOVE = "authorities:supervisor:remove"
    STAFF_TOKEN_ISSUE = "staff:token:issue"  # noqa: S105 - an audit tag, not a secret
    REQUEST_RECEIVE = "lawful:request:receive"
    REQUEST_CALLBACK = "lawful:request:callback"
    SECURITY_INCIDENT = "security:incident:raise"
    REQUEST_TRANSITION = "lawful:request:transition"
    DOCUMENT_ATTACH = "lawful:document:attach"
    DOCUMENT_VIEW = "lawful:document:view"
    DECISION_RECORD = "lawful:decision:record"
    DECISION_APPROVE = "lawful:decision:approve"
    DECISION_REJECT = "lawful:decision:reject"
    CORRESPONDENCE_ADD = "lawful:correspondence:add"
    PRODUCTION_BUILD = "lawful:production:build"
    PRODUCTION_DOWNLOAD = "lawful:production:download"
    PRODUCTION_PURGE = "lawful:production:purge"
    HOLD_PLACE = "lawful:hold:place"
    HOLD_EXTEND = "lawful:hold:extend"
    HOLD_RELEASE = "lawful:hold:release"
    HOLD_CONFIRM_PRODUCTION = "lawful:hold:confirm_production"
    RETENTION_EXTEND = "lawful:retention:extend"
    CONFIDENTIALITY_EXTEND = "lawful:confidentiality:extend"
    SCRUTINY_REQUEST = "lawful:scrutiny:request"
    SCRUTINY_DECIDE = "lawful:scrutiny:decide"
    COMPLAINT_RECEIVE = "lawful:complaint:receive"
    COMPLAINT_ANSWER = "lawful:complaint:answer"
    REMOVAL_REINSTATE = "lawful:removal:reinstate"
    WINDOW_OPEN = "lawful:window:open"
    REMOVAL_EXECUTE = "lawful:removal:execute"
    ENFORCING_ANSWER = "lawful:enforcing:answer"
    VALIDATION_RECORD = "lawful:validation:record"
    CONFLICT_RECORD = "lawful:conflict:record"
    CONFLICT_RESOLVE = "lawful:conflict:resolve"
    NOTICE_SCHEDULE = "lawful:notice:schedule"
    NOTICE_SEND = "lawful:notice:send"
    DEADLINE_ALERT = "lawful:deadline:alert"
    BANK_CREATE = "safety:bank:create"
    BANK_IMPORT = "safety:bank:import"
    BANK_ENTRY_REMOVE = "safety:bank_entry:remove"
    CONTENT_AUTO_REMOVE = "safety:content:auto_remove"
    CASE_OPEN = "safety:case:open"
    CASE_CLAIM = "safety:case:claim"
    CASE_RELEASE = "safety:case:release"
    CASE_DECIDE = "safety:case:decide"
    CASE_APPROVE = "safety:case:approve"
    CASE_REJECT = "safety:case:reject"
    CASE_REVERSE = "safety:case:reverse"
    CASE_ACTION = "safety:case_action:run"
    NOTICE_RECEIVE = "safety:notice:receive"
    NOTICE_ANSWER = "safety:notice:answer"
    NOTIFIER_WARN = "safety:notifier:warn"
    NOTIFIER_SUSPEND = "safety:notifier:suspend"
    FLAGGER_CREATE = "safety:trusted_flagger:create"
    FLAGGER_REVOKE = "safety:trusted_flagger:revoke"
    STATEMENT_ISSUE = "safety:statement:issue"
    STATEMENT_REFUSE = "safety:statement:refuse"
    APPEAL_FILE = "safety:appeal:file"
    APPEAL_DECIDE = "safety:appeal:decide"
    THREAT_NOTIFY = "lawful:threat_notification:create"
    THREAT_SENT = "lawful:threat_notification:send"
    NCMEC_REPORT_QUEUE = "safety:ncmec_report:queue"
    NCMEC_REPORT_SEND = "safety:ncmec_report:send"
    PLATFORM_TOKEN_ISSUE = "safety:platform_token:issue"  # noqa: S105 - an audit tag, not a secret
    PLATFORM_TOKEN_REVOKE = "safety:platform_token:revoke"  # noqa: S105 - an audit tag, not a secret
    # access: revocation and enrolment (issue 11)
    STAFF_TOKEN_REVOKE = "staff:token:revoke"  # noqa: S105 - an audit tag, not a secret
    STAFF_USER_DEACTIVATE = "staff:user:deactivate"
    OFFICER_DEACTIVATE = "authorities:officer:deactivate"
    SESSION_REVOKE = "auth:session:revoke"
    ENROLMENT_ISSUE = "auth:enrolment:issue"
    ENROLMENT_COMPLETE = "auth:enrolment:complete"
    AGENCY_NOTICE_SEND = "authorities:agency_notice:send"
    AGENCY_NOTICE_ACKNOWLEDGE = "authorities:agency_notice:acknowledge"
    REPORT_BUILD = "transparency:report:build"
    REPORT_PUBLISH = "transparency:report:publish"
    SOR_SUBMIT = "transparency:statement:submit"
    SOR_REJECT = "transparency:statement:reject"
    DOSSIER_ISSUE = "dossier:dossier:issue"
    # e-mail and mailroom intake (issue 13)
    INBOUND_RECEIVE = "intake:message:receive"
    INBOUND_UPLOAD = "intake:letter:upload"
    INBOUND_ATTACHMENT_VIEW = "intake:attachment:view"
    INBOUND_ACKNOWLEDGE = "intake:message:acknowledge"
    INBOUND_ACCEPT = "intake:message:accept"
    INBOUND_ATTACH = "intake:message:attach"
    INBOUND_REJECT = "intake:message:reject"
    MAIL_SEND = "intake:mail:send"
    MAIL_FAIL = "intake:mail:fail"
    MAIL_RETRY = "intake:mail:retry"
    # on call for emergencies (issue 13, item 3)
    ONCALL_SHIFT_ADD = "oncall:shift:add"
    ONCALL_SHIFT_REMOVE = "oncall:shift:remove"
    ONCALL_PAGE_SEND = "oncall:page:send"
    ONCALL_PAGE_FALLBACK = "oncall:page:fallback"
    ONCALL_PAGE_ESCALATE = "oncall:page:escalate"
    ONCALL_PAGE_ACKNOWLEDGE = "oncall:page:acknowledge"


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
