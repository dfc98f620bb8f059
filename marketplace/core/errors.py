"""Domain errors: every refusal a service can raise, with a stable machine-readable code.

Services raise these before they write anything, so a refused call changes nothing. The
API turns them into `{"error": {"code", "message"}}` with the status given here.
"""


class DomainError(Exception):
    code = "domain_error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        # For input errors: which request fields were wrong, as {"field": ["why"]}.
        self.fields = fields
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    code = "invalid"
    status = 400


class Conflict(DomainError):
    """The current state forbids the operation (HTTP 409)."""

    code = "conflict"
    status = 409


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Forbidden(DomainError):
    """Authenticated, allowed to see the object, but not to do this to it."""

    code = "permission_denied"
    status = 403
