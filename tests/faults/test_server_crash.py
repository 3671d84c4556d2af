"""kill -9 of a `promo serve` process in the middle of a redemption load, on PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.faults.helpers import (
    Load,
    attempts_for,
    audit_over_http,
    audit_with_cli,
    redeem,
    running,
    seed_shop,
    start_server,
    stored_redemption,
    verify_nothing_lost,
    wait_caught_up,
)

CODES = 180
KILL_AFTER = 60  # answers before the kill; six requests are in flight when it lands
THREADS = 6

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]


def test_a_server_killed_mid_load_loses_nothing_and_applies_every_retry_once(
        pg_url: str, tmp_path: Path) -> None:
    shop = seed_shop(pg_url, CODES)
    *attempts, lost = attempts_for(shop)

    server = start_server(pg_url, tmp_path, "before-kill")
    try:
        # One answer surely lost after its save: the client gives up while the save waits on a
        # lock of the events table, then the save commits. (Whether any request cut off by the
        # kill had committed is up to timing; this one did.)
        with psycopg.connect(pg_url) as blocker, \
                httpx.Client(base_url=server.base_url, timeout=1.0) as http:
            blocker.execute("LOCK TABLE promoledger_events IN EXCLUSIVE MODE")
            lost_answer = redeem(http, lost, shop.checkout)
            blocker.rollback()
            assert lost_answer.status is None, lost_answer.describe()
            deadline = time.monotonic() + 10
            while (lost_id := stored_redemption(http, shop, lost)) is None:
                assert time.monotonic() < deadline, "the save never committed"
                time.sleep(0.05)

        with Load(server.base_url, shop.checkout, attempts, threads=THREADS) as load:
            assert load.wait_answers(KILL_AFTER, timeout=60), server.diagnostics()
            server.kill()  # SIGKILL while the clients keep sending
            killed_at = time.monotonic()
            load.wait_for(lambda answers: any(a.status is None for a in answers.values()), timeout=10)
            load.stop()
    finally:
        server.kill()
    answers = load.snapshot()
    answered_before = {i for t, i, a in load.log if t < killed_at and a.status is not None}
    assert len(answered_before) >= KILL_AFTER
    assert any(a.status is None for a in answers.values()), "no request was cut off by the kill"
    answers[lost.index] = lost_answer
    assert all(a.status == 201 for a in answers.values() if a.status is not None), [
        a.describe() for a in answers.values() if a.status not in (None, 201)]

    with running(pg_url, tmp_path, "after-kill") as server:
        final = verify_nothing_lost(server.base_url, shop, [*attempts, lost], answers)
        assert final[lost.index] == lost_id
        wait_caught_up(server.base_url, shop.auditor)
        audit_over_http(server.base_url, shop.auditor)
        with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
            log = http.get("/v1/redemptions", headers=shop.auditor,
                           params={"campaign": shop.campaign, "status": "redeemed", "limit": 500})
            stats = http.get(f"/v1/campaigns/{shop.campaign}/stats", headers=shop.auditor)
        assert log.status_code == 200 and stats.status_code == 200, (log.text, stats.text)
        assert sorted(item["id"] for item in log.json()["items"]) == sorted(final.values())
        assert stats.json()["redeemed"] == CODES, stats.json()
    audit_with_cli(pg_url)
