"""Domain errors. Each carries a stable machine code; the web layer turns them into problem details."""


class DomainError(Exception):
    """Base of every expected failure; ``code`` is stable, ``message`` is for people."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class TooManyRequests(DomainError):
    """Refused for now; ``retry_after`` is the number of seconds until a new attempt can succeed."""

    status = 429
    code = "too_many_requests"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, retry_after: int = 3600
    ) -> None:
        super().__init__(message, code=code, field=field)
        self.retry_after = max(1, retry_after)
