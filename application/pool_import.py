"""Reading a partner's code file: streamed line by line, validated, hashed (P1).

The file is never held as one string: lines are read with a length cap (a runaway
line cannot exhaust memory), hashed as they pass (the content hash makes re-uploads
idempotent), and validated against the pool's declared format. The accepted codes are
kept in one insertion-ordered dict (code -> line number), which both detects
duplicates inside the file and keeps file order, at ~150 bytes per code.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

from domain.errors import InvalidInput
from domain.pool import MAX_CODE_LENGTH, PoolFormat

MAX_LINE_BYTES = 4 * MAX_CODE_LENGTH  # a line may carry quotes and extra columns
MAX_LISTED_ERRORS = 10_000  # every bad line is counted; this many are listed with their number
HEADER_NAMES = frozenset({"code", "codes", "voucher", "voucher_code", "vouchercode", "partner_code",
                          "coupon", "coupon_code", "serial", "voucher code", "coupon code"})


@dataclass
class ScanReport:
    """What a file held: the good codes in file order, and every bad line, by reason."""

    content_hash: str = ""
    lines: int = 0
    header: bool = False
    codes: dict[str, int] = field(default_factory=dict)  # code -> line it first appeared on
    errors: list[dict[str, Any]] = field(default_factory=list)  # capped at MAX_LISTED_ERRORS
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def reject(self, line: int, reason: str, **detail: Any) -> None:
        self.reasons[reason] += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append({"line": line, "reason": reason, **detail})

    def summary(self) -> dict[str, Any]:
        return {"lines": self.lines, "valid": len(self.codes), "rejected": self.rejected,
                "rejected_by_reason": dict(sorted(self.reasons.items())),
                "errors": self.errors, "errors_truncated": self.rejected > len(self.errors),
                "header_skipped": self.header, "content_hash": self.content_hash}


def scan_codes(stream: IO[bytes], fmt: PoolFormat) -> ScanReport:
    """Read `stream` to its end: one code per line (first CSV column), optional header line."""
    report = ScanReport()
    digest = hashlib.sha256()
    charset = fmt.checker()
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            break
        digest.update(raw)
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            _skip_rest_of_line(stream, digest)
            report.reject(number, "too_long", detail=f"the line exceeds {MAX_LINE_BYTES} bytes")
            continue
        _check_line(report, raw, number, fmt, charset)
    report.lines = number
    report.content_hash = digest.hexdigest()
    return report


def _skip_rest_of_line(stream: IO[bytes], digest: Any) -> None:
    while True:
        rest = stream.readline(64 * 1024)
        digest.update(rest)
        if not rest or rest.endswith(b"\n"):
            return


def _check_line(report: ScanReport, raw: bytes, number: int, fmt: PoolFormat, charset: Any) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        report.reject(number, "not_utf8")
        return
    if number == 1:
        text = text.lstrip("\ufeff")  # a byte-order mark from spreadsheet exports
    code = _first_field(text)
    if not code:
        report.reject(number, "blank")
        return
    if number == 1 and code.lower() in HEADER_NAMES:
        report.header = True
        return
    problem = fmt.problem(code, charset)
    if problem is not None:
        report.reject(number, problem, length=len(code))
        return
    first = report.codes.setdefault(code, number)
    if first != number:
        report.reject(number, "duplicate_in_file", first_line=first)


def _first_field(text: str) -> str:
    field_ = text.split(",", 1)[0].strip()
    if len(field_) >= 2 and field_[0] == field_[-1] == '"':
        field_ = field_[1:-1].strip()
    return field_


def read_codes(stream: IO[bytes], limit: int) -> list[str]:
    """The codes of a plain list file (a partner's redemption report): first column, no format."""
    codes: list[str] = []
    for number, raw in enumerate(iter(lambda: stream.readline(MAX_LINE_BYTES + 1), b""), 1):
        # Undecodable bytes and NUL (which PostgreSQL text refuses) become U+FFFD: such a code
        # matches nothing and is reported back as unknown.
        text = raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        code = _first_field(text.lstrip("\ufeff"))
        if not code or (number == 1 and code.lower() in HEADER_NAMES):
            continue
        codes.append(code)
        if len(codes) > limit:
            raise InvalidInput(f"a report holds at most {limit} codes", code="too_many_codes")
    return codes
