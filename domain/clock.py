"""Time helpers. The domain never reads a clock: times arrive as arguments."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.errors import InvalidInput


def require_utc(at: datetime, field: str = "time") -> datetime:
    """Return `at` in UTC, refusing naive datetimes."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"{field} must carry a time zone", code="naive_datetime", field=field)
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{field} is outside the supported range", code="invalid_datetime",
                           field=field) from None


def iso(at: datetime | None) -> str | None:
    """Fixed-width UTC ISO-8601 text, sortable as a string (read models store this)."""
    if at is None:
        return None
    return require_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
