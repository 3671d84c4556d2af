"""Domain errors carry a stable machine-readable code and a kind the interfaces map to a status."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A command was refused; nothing was changed."""

    kind: ClassVar[str] = "conflict"
    code: str = "domain_error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class InvalidInput(DomainError):
    """The request is well-formed but its values break a rule (negative amount, unknown currency)."""

    kind = "invalid"
    code = "invalid_input"


class NotFound(DomainError):
    """The named thing does not exist for this merchant."""

    kind = "not_found"
    code = "not_found"


class InvalidTransition(DomainError):
    """The aggregate's current state does not allow the command."""

    kind = "conflict"
    code = "invalid_transition"


class AlreadyExists(DomainError):
    """A natural key (campaign key, code) is taken."""

    kind = "conflict"
    code = "already_exists"
