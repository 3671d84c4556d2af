"""Disk errors under a running `promo serve` on SQLite: every write of the server process to a
file fails (RLIMIT_FSIZE lowered to 0 from outside, as when the disk is full); commands answer
503 problems, never a success, reads keep working, and after the disk is back every command
retried with its key applies exactly once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.faults.helpers import (
    assert_problem,
    attempts_for,
    audit_over_http,
    redeem,
    running,
    seed_shop,
    verify_nothing_lost,
    wait_caught_up,
)

resource = pytest.importorskip("resource")
pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(resource, "prlimit"),
                       reason="needs Linux prlimit(2) to fail another process's writes"),
    pytest.mark.timeout(120),
]


@contextmanager
def writes_failing(pid: int) -> Iterator[None]:
    """Every write(2) of process `pid` to a regular file fails with EFBIG until the block ends.
    (Python ignores SIGXFSZ, so the write returns the error instead of killing the process.)"""
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, hard))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))


def test_disk_errors_answer_503_and_a_retry_applies_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    shop = seed_shop(url, 12, campaign="disk")
    attempts = attempts_for(shop)
    with running(url, tmp_path, "server") as server, \
            httpx.Client(base_url=server.base_url, timeout=30.0) as http:
        answers = {0: redeem(http, attempts[0], shop.checkout)}
        assert answers[0].status == 201, answers[0].describe()

        with writes_failing(server.pid):
            for attempt in attempts[1:4]:
                answers[attempt.index] = failed = redeem(http, attempt, shop.checkout)
                assert_problem(failed, 503, "store_unavailable")
                assert failed.headers.get("retry-after") == "1"
            # Reads need no write: they still answer, and show nothing applied.
            voucher = http.get(f"/v1/vouchers/{attempts[1].code}", headers=shop.auditor)
            assert voucher.status_code == 200, voucher.text
            assert voucher.json()["redemption_count"] == 0 and voucher.json()["state"] != "redeemed"

        again = redeem(http, attempts[1], shop.checkout)
        assert again.status == 201 and again.headers.get("idempotent-replayed") is None, again.describe()
        answers[1] = again

        verify_nothing_lost(server.base_url, shop, attempts, answers)
        wait_caught_up(server.base_url, shop.auditor)
        audit_over_http(server.base_url, shop.auditor)
