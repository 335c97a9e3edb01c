"""Closed vocabularies of the lawful desk's legal obligations (stored as checked strings)."""

from enum import StrEnum


class ValidationStatus(StrEnum):
    """Where the validation of an order issued by a non-judicial authority stands (e-Evidence Art. 4)."""

    VALIDATED = "validated"
    """A judge, court, investigating judge or prosecutor validated the order (named on the request)."""
    PENDING = "pending"
    """An emergency order issued without validation: it must follow within 48 hours (Art. 4(5))."""
    REFUSED = "refused"
    """The validation was refused: the data must not be used, and the provider is told (Art. 4(5))."""


class ClarificationKind(StrEnum):
    """Why the desk asks the authority something; only an incomplete order stops the legal clock."""

    INCOMPLETE_ORDER = "incomplete_order"
    """The order is incomplete, manifestly erroneous or lacks what is needed to execute it (Form 3 /
    Annex III): the legal deadline is suspended until the authority answers (e-Evidence Art. 10(5))."""
    DESK_QUESTION = "desk_question"
    """The desk's own question about a complete order (e.g. asking for a suspect confirmation): the legal
    clock keeps running; only the desk's internal target waits."""


class WindowKind(StrEnum):
    """A legal period other than the answer deadline, opened by an event and closed by another."""

    VALIDATION = "validation"
    """Emergency order to be validated within 48 hours of its issue (e-Evidence Art. 4(5))."""
    OBJECTION = "objection"
    """The notified enforcing authority may object within 96 hours of an emergency delivery (Art. 10(4))."""
    ENFORCING_REVIEW = "enforcing_review"
    """The notified enforcing authority may raise grounds for refusal until the end of the 10 days
    (Art. 10(2), 12): delivery waits for it unless it answers early."""
    SCRUTINY_REQUEST = "scrutiny_request"
    """A cross-border TCO removal order: scrutiny may be requested within 48 hours of receipt
    (TCO Art. 4(2))."""
    SCRUTINY_DECISION = "scrutiny_decision"
    """The competent authority decides on the scrutiny within 72 hours of the request (TCO Art. 4(4))."""
    COMPLAINT = "complaint"
    """A content provider's complaint about a TCO removal, answered within 2 weeks (TCO Art. 10(2))."""
    CONFIDENTIALITY = "confidentiality"
    """The content provider is not told of a TCO removal until this ends: at most 6 weeks, one extension
    of 6 (TCO Art. 11(3))."""
    RETENTION = "retention"
    """Removed terrorist content and its related data are kept 6 calendar months, longer when an
    authority or court requires it (TCO Art. 6)."""


class HoldEnd(StrEnum):
    """Why a preservation hold ended; a production alone is never one of them."""

    LAPSED = "lapsed"
    """Its period (with any lawful extension) ran out."""
    WITHDRAWN = "withdrawn"
    """The issuing authority withdrew the order."""
    NO_LONGER_NEEDED = "no_longer_needed"
    """The issuing authority said the data is no longer needed."""
    DELIVERED = "delivered"
    """A confirmed production request (Annex V) was delivered in full: everything the hold kept was
    produced."""


class ConflictResolution(StrEnum):
    """How counsel resolved a binding order that conflicts with the platform's principles."""

    COMPLIED = "complied"
    """The platform complied with the order despite the principle (justified)."""
    REFUSED = "refused"
    """Refused through Annex III on a ground the law lists."""
    CHALLENGED = "challenged"
    """The order is challenged before the competent authority or court."""
    WITHDRAWN = "withdrawn"
    """The authority withdrew the order before counsel decided."""


class AnnexIIIGround(StrEnum):
    """The grounds on which a provider may refuse to execute an EPOC (Annex III, Arts 10, 16, 17)."""

    INCOMPLETE_OR_ERRONEOUS = "incomplete_or_erroneous"
    DE_FACTO_IMPOSSIBILITY = "de_facto_impossibility"
    FORCE_MAJEURE = "force_majeure"
    THIRD_COUNTRY_LAW_CONFLICT = "third_country_law_conflict"
    MANIFEST_CHARTER_BREACH = "manifest_charter_breach"


class EnforcingGround(StrEnum):
    """Grounds for refusal an enforcing authority may raise (e-Evidence Art. 12(1))."""

    IMMUNITY_OR_PRIVILEGE = "immunity_or_privilege"
    PRESS_FREEDOM = "press_freedom"
    FUNDAMENTAL_RIGHTS_BREACH = "fundamental_rights_breach"
    NE_BIS_IN_IDEM = "ne_bis_in_idem"
    NO_DOUBLE_CRIMINALITY = "no_double_criminality"


class EnforcingAnswer(StrEnum):
    """What the notified enforcing authority said."""

    NO_GROUNDS = "no_grounds"
    """It raises no ground for refusal: deliver as soon as possible (Art. 10(2))."""
    GROUNDS_RAISED = "grounds_raised"
    """It raised a ground for refusal before delivery: nothing is delivered (Art. 12)."""
    OBJECTED = "objected"
    """After an emergency delivery it objected within 96 hours: the data must not be used (Art. 10(4))."""


class ScrutinyOutcome(StrEnum):
    """The competent authority's decision on a cross-border TCO removal order (Art. 4(4))."""

    INFRINGEMENT = "infringement"
    """The order seriously or manifestly infringes the Regulation or the Charter: the content is
    reinstated."""
    NO_INFRINGEMENT = "no_infringement"


class FirstOrderNotice(StrEnum):
    """Whether the authority gave 12 hours' notice of its procedures before its first TCO order
    (Art. 3(2))."""

    GIVEN = "given"
    NOT_GIVEN = "not_given"
    EMERGENCY = "emergency"
    """Emergencies need no prior notice."""
    NOT_FIRST = "not_first"
