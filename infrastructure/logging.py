"""Logging for `promo serve`: one JSON object per line (or plain text), each with its request id.

The request id lives in a context variable set by the HTTP layer for the duration of a request;
sync routes run in worker threads on a copy of the request's context, so application logs
written while serving a request carry its id too. Logs never hold API keys or secrets: the
access log records the route template (not the path, which can hold voucher codes), no headers
and no query string, and anything in a message that looks like a key or a bearer token is
masked as a last line of defence.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# Fields a record may carry through `extra=` that the JSON lines show (the access log's).
EXTRA_FIELDS = ("method", "route", "status", "duration_ms", "merchant")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
# Our API keys (pl_…), bearer credentials, and password-bearing URLs (postgresql://user:pw@…).
_SECRETS = re.compile(r"\bpl_[A-Za-z0-9_\-]{8,}|(?i:\bbearer\s+)\S+|(?<=://)[^/\s:@]*:[^/\s@]*(?=@)")

LogFormat = Literal["json", "text"]


def redact(text: str) -> str:
    return _SECRETS.sub("[redacted]", text)


class RequestIdFilter(logging.Filter):
    """Stamp every record with the current request id (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, and access fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines for people at a terminal; the same masking as the JSON lines."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, defaults={"request_id": "-"})

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return redact(super().format(record))


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Send every logger's records (uvicorn's included) to stderr in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's own access log is off: ours has routes
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
