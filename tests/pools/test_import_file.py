"""Reading a partner's file, without a database: every bad line is named with its number."""

from __future__ import annotations

import io

import pytest

from application.pool_import import MAX_LINE_BYTES, ScanReport, read_codes, scan_codes
from domain.errors import InvalidInput
from domain.pool import PoolFormat
from tests.pools.helpers import code

FMT = PoolFormat(min_length=20, max_length=20)


def scan(data: bytes, fmt: PoolFormat = FMT) -> ScanReport:
    return scan_codes(io.BytesIO(data), fmt)


def test_every_bad_line_is_reported_with_its_number_and_reason() -> None:
    lines = [code(1), "", "SHORT", code(2) + "X", "lower" + "a" * 15, code(1), code(3)]
    report = scan(("\n".join(lines) + "\n").encode())
    assert [(e["line"], e["reason"]) for e in report.errors] == [
        (2, "blank"), (3, "too_short"), (4, "too_long"), (5, "invalid_characters"),
        (6, "duplicate_in_file")]
    assert report.errors[-1]["first_line"] == 1
    assert list(report.codes) == [code(1), code(3)]
    assert report.lines == 7 and report.rejected == 5


def test_header_bom_quotes_extra_columns_and_crlf_are_understood() -> None:
    data = b'\xef\xbb\xbfcode,value\r\n"' + code(1).encode() + b'",100\r\n' + code(2).encode() + b"\r\n"
    report = scan(data)
    assert report.header and list(report.codes) == [code(1), code(2)] and not report.errors


def test_runaway_line_and_invalid_utf8_are_refused_without_reading_them_whole() -> None:
    data = code(1).encode() + b"\n" + b"A" * (MAX_LINE_BYTES * 50) + b"\n\xff\xfe\n" + code(2).encode()
    report = scan(data)
    assert [(e["line"], e["reason"]) for e in report.errors] == [(2, "too_long"), (3, "not_utf8")]
    assert list(report.codes) == [code(1), code(2)]  # a last line without newline counts


def test_the_content_hash_names_the_bytes() -> None:
    assert scan(b"A" * 20 + b"\n").content_hash == scan(b"A" * 20 + b"\n").content_hash
    assert scan(b"A" * 20 + b"\n").content_hash != scan(b"A" * 20 + b"\r\n").content_hash


def test_errors_are_counted_beyond_the_listed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("application.pool_import.MAX_LISTED_ERRORS", 3)
    report = scan(b"x\n" * 10)
    assert len(report.errors) == 3 and report.rejected == 10
    assert report.summary()["errors_truncated"]


def test_format_is_validated() -> None:
    with pytest.raises(InvalidInput):
        PoolFormat(min_length=5, max_length=4).validate()
    with pytest.raises(InvalidInput):
        PoolFormat(charset="AB,").validate()
    digits = PoolFormat(min_length=4, max_length=8, charset="0123456789")
    assert digits.problem("12a4") == "invalid_characters"


def test_a_redemption_report_file_is_a_plain_list() -> None:
    assert read_codes(io.BytesIO(b"code\nabc\n\n def \n"), 10) == ["abc", "def"]
    with pytest.raises(InvalidInput):
        read_codes(io.BytesIO(b"a\nb\nc\n"), 2)
