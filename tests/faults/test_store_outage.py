"""PostgreSQL restarted or stopped under a running `promo serve`: 503 problems while it is away,
never a 500 or a silent success; recovery without a restart of the service; nothing lost.

These tests restart and stop their own cluster, never the session-shared one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import _shm, require_postgres
from tests.faults.helpers import (
    Answer,
    Load,
    ServerProcess,
    assert_problem,
    attempts_for,
    audit_over_http,
    pg_is_up,
    pg_start,
    pg_stop,
    redeem,
    running,
    seed_shop,
    verify_nothing_lost,
    wait_caught_up,
)
from tests.support.pgcluster import PostgresCluster

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]



@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    """A private cluster: these tests stop and restart it."""
    require_postgres()
    private = PostgresCluster(base_dir=_shm())
    private.start()
    yield private
    private.stop()


def fresh_database(cluster: PostgresCluster) -> str:
    if not pg_is_up(cluster):  # a failed test left it stopped
        pg_start(cluster)
    return cluster.create_database(f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture
def db_url(cluster: PostgresCluster) -> str:
    return fresh_database(cluster)


@dataclass
class Served:
    server: ServerProcess
    database_url: str


@pytest.fixture(scope="module")
def served(cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`promo serve` with production settings on a private database, shared by the tests that
    need no settings of their own (each seeds its own campaign)."""
    url = fresh_database(cluster)
    with running(url, tmp_path_factory.mktemp("outage"), "server") as process:
        yield Served(process, url)


def assert_unavailable(answer: Answer) -> None:
    assert_problem(answer, 503, "store_unavailable")
    assert answer.headers.get("retry-after") == "1", answer.headers


def test_postgres_restarted_during_load_answers_success_or_503_and_loses_nothing(
        cluster: PostgresCluster, served: Served) -> None:
    server, shop = served.server, seed_shop(served.database_url, 150, campaign="restart")
    attempts = attempts_for(shop)
    with Load(server.base_url, shop.checkout, attempts, threads=6, pause=0.05) as load:
        assert load.wait_answers(30, timeout=60), server.diagnostics()
        cluster.restart()  # pg_ctl restart -m fast: every session is terminated mid-load
        restarted = time.monotonic()
        assert load.wait_answers(len(attempts), timeout=120), server.diagnostics()
    answers = load.snapshot()

    for answer in answers.values():
        if answer.status != 201:
            assert_unavailable(answer)
    assert [i for t, i, a in load.log if t > restarted and a.ok], "nothing succeeded after the restart"
    unavailable = sum(a.status == 503 for a in answers.values())
    print(f"{unavailable} of {len(answers)} answered 503 around the restart")

    verify_nothing_lost(server.base_url, shop, attempts, answers)
    wait_caught_up(server.base_url, shop.auditor)
    audit_over_http(server.base_url, shop.auditor)


class TooSlow(AssertionError):
    """No answer within the time a checkout waits."""


CHECKOUT_WAIT = 10.0  # seconds a checkout waits for an answer before giving up


def wait_for_lock_waiter(url: str, timeout: float = 10.0) -> None:
    """Block until some session of this database waits on a lock."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND wait_event_type = 'Lock'").fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    pytest.fail("no request came to wait on the events table lock")


def test_a_request_with_the_database_away_answers_503_promptly(
        cluster: PostgresCluster, served: Served) -> None:
    """Two redeems: one caught in its save when the database goes (it waits on a lock on the
    events table), one sent after. Each must get its 503 while a checkout still waits.
    Runs before the test that stops the database for longer, so the shared server is healthy."""
    server, shop = served.server, seed_shop(served.database_url, 3, campaign="prompt")
    attempts = attempts_for(shop)
    with httpx.Client(base_url=server.base_url, timeout=CHECKOUT_WAIT) as http, \
            ThreadPoolExecutor(2) as pool:
        assert redeem(http, attempts[0], shop.checkout).status == 201
        blocker = psycopg.connect(served.database_url)
        try:
            blocker.execute("LOCK TABLE promoledger_events IN EXCLUSIVE MODE")  # held until the stop
            saving = pool.submit(redeem, http, attempts[1], shop.checkout)
            wait_for_lock_waiter(served.database_url)
            pg_stop(cluster)
            sent_after = pool.submit(redeem, http, attempts[2], shop.checkout)
            answers = {"caught saving": saving.result(), "sent after the stop": sent_after.result()}
        finally:
            blocker.close()
            pg_start(cluster)
    late = {name: a.describe() for name, a in answers.items() if a.status is None}
    if late:
        raise TooSlow(f"no answer within {CHECKOUT_WAIT:.0f} s with the database away: {late}")
    for answer in answers.values():
        assert_unavailable(answer)


def test_postgres_stopped_during_load_answers_503_then_recovers_and_loses_nothing(
        cluster: PostgresCluster, db_url: str, tmp_path: Path) -> None:
    shop = seed_shop(db_url, 91)
    *attempts, probe = attempts_for(shop)
    with running(db_url, tmp_path, "server") as server, \
            httpx.Client(base_url=server.base_url, timeout=60.0) as http, \
            Load(server.base_url, shop.checkout, attempts, threads=3, pause=0.05) as load:
        assert load.wait_answers(10, timeout=30), server.diagnostics()
        pg_stop(cluster)
        stopped = time.monotonic()

        # A redeem and a read while the database is away: 503 problems, nothing applied.
        with ThreadPoolExecutor(2) as pool:
            redeeming = pool.submit(redeem, http, probe, shop.checkout)
            reading = pool.submit(http.get, f"/v1/vouchers/{probe.code}", headers=shop.auditor)
            away, read = redeeming.result(), reading.result()
        assert_unavailable(away)
        assert_unavailable(Answer(read.status_code, read.json(), dict(read.headers)))
        assert load.wait_for(lambda answers: any(a.status == 503 for a in answers.values()), 30)

        pg_start(cluster)
        started = time.monotonic()
        while (again := redeem(http, probe, shop.checkout)).status != 201:
            assert_unavailable(again)
            assert time.monotonic() - started < 60, "the service did not recover within 60 s"
            time.sleep(0.2)
        recovered = time.monotonic() - started
        assert again.headers.get("idempotent-replayed") is None  # applied now, not before

        assert load.wait_answers(len(attempts), timeout=120), server.diagnostics()
        answers = load.snapshot()
        for answer in answers.values():
            if answer.status != 201:
                assert_unavailable(answer)
        # Sent after the stop and answered before the start: none can have succeeded.
        during = [a for t, _, a in load.log if t - a.seconds > stopped and t < started]
        assert not any(a.ok for a in during), [a.describe() for a in during]

        answers[probe.index] = again
        final = verify_nothing_lost(server.base_url, shop, [*attempts, probe], answers)
        assert final[probe.index] == again.body["id"]
        wait_caught_up(server.base_url, shop.auditor)
        audit_over_http(server.base_url, shop.auditor)
    print(f"503 after {away.seconds:.1f}s with the database away; recovered {recovered:.1f}s after")
