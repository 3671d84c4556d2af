"""Scheduled jobs on an injected clock: campaigns start and end on time, points expire, date
triggers fire once per occurrence, low stock alerts once; several processes claim a slot once;
`promo jobs run NAME --at TIME` by hand. Both stores (the CLI on SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from application.clock import ManualClock
from application.commands import Actor
from application.points import EntryContext
from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings
from tests.conftest import terms

ACME = Actor(merchant_id="acme", role="admin", ref="test:acme")
ROOT = Path(__file__).resolve().parents[2]


def approved(c: Container, key: str, starts: datetime, ends: datetime, **extra: object) -> None:
    c.campaigns.create_campaign(ACME, key, terms(starts_at=starts, ends_at=ends, **extra))
    for action in ("submit", "approve"):
        c.campaigns.change_status(ACME, key, action)


def status(c: Container, key: str) -> str:
    return str(c.campaigns.get_campaign("acme", key)["status"])


def test_campaigns_go_live_at_their_start_and_end_at_their_end_once_across_processes(
    make_container: Callable[..., Container], clock: ManualClock,
) -> None:
    a, b = make_container(), make_container()
    now = clock()
    approved(a, "spring", now + timedelta(hours=1), now + timedelta(hours=3))
    approved(a, "late", now - timedelta(days=2), now + timedelta(days=1))  # missed while down: catches up
    assert a.jobs.run("campaign_schedule").summary == {"activated": ["late"], "ended": [], "refused": []}
    assert status(a, "spring") == "approved"

    clock.advance(timedelta(hours=1))
    # both processes see the campaign due in the same slot; the first to claim the slot acts
    job = b.jobs.jobs["campaign_schedule"]
    b.automation_reader.freshen(job.reads)
    seen_by_b = job.find(clock())
    b.jobs.jobs["campaign_schedule"] = replace(job, find=lambda at: seen_by_b)
    first, second = a.jobs.run("campaign_schedule"), b.jobs.run("campaign_schedule")
    b.jobs.jobs["campaign_schedule"] = job
    assert (first.status, second.status) == ("done", "claimed_elsewhere")
    assert first.summary["activated"] == ["spring"] and status(b, "spring") == "active"

    clock.advance(timedelta(hours=2))
    assert b.jobs.run("campaign_schedule").summary["ended"] == ["spring"]
    assert status(a, "spring") == "ended"
    clock.advance(timedelta(minutes=5))
    assert a.jobs.run("campaign_schedule").status == "nothing_due"


def test_points_expire_hourly_for_every_holder_and_a_second_run_changes_nothing(
    make_container: Callable[..., Container], clock: ManualClock,
) -> None:
    c = make_container()
    c.points.define_program(ACME, "main", "Main", 1)
    for customer in ("alice", "bob"):
        c.points.credit(ACME, customer, "main", "regular", "allocation", 40, EntryContext())
    clock.advance(timedelta(days=3))
    report = c.jobs.run("points_expiry")
    assert report.summary == {"holders": 2, "customers_expired": 2, "points_expired": 80}
    assert c.jobs.run("points_expiry", clock() + timedelta(hours=1)).status == "nothing_due"
    assert c.queries.points_balance("acme", "alice", None)["total"] == 0


def test_date_triggers_fire_once_per_birthday_and_n_days_after_registration(
    make_container: Callable[..., Container], clock: ManualClock,
) -> None:
    c = make_container()
    c.points.define_program(ACME, "main", "Main", None)
    for key, trigger in (("birthday", {"type": "date", "date": "birthday"}),
                         ("day-30", {"type": "date", "date": "after_registration", "days": 30})):
        effect = {"type": "credit_points", "program": "main", "points": 7}
        c.workflows.define(ACME, key, {"name": key, "trigger": trigger, "effects": [effect]})
    today = clock().date()  # 2026-03-01
    c.customer_facts.register_customer(ACME, "born-today", birthday=f"1990-{today:%m-%d}")
    c.customer_facts.register_customer(ACME, "born-tomorrow", birthday="1990-03-02")
    c.customer_facts.register_customer(ACME, "leapling", birthday="2000-02-29")  # 2026: on 28 Feb
    c.customer_facts.register_customer(ACME, "newcomer")

    assert c.jobs.run("date_triggers").summary == {"workflows": 2, "fired": 1}  # born-today
    clock.advance(timedelta(days=1))
    assert c.jobs.run("date_triggers").summary["fired"] == 1  # born-tomorrow; nobody twice
    clock.advance(timedelta(days=29))  # everybody's 30th day since registering
    assert c.jobs.run("date_triggers").summary["fired"] == 4
    assert c.jobs.run("date_triggers").status == "claimed_elsewhere"  # this slot is done
    assert c.jobs.run("date_triggers", claim=False).summary["fired"] == 0  # by hand: nobody twice
    c.projections.catch_up()
    totals = {n: c.queries.points_balance("acme", n, None)["total"]
              for n in ("born-today", "born-tomorrow", "leapling", "newcomer")}
    # the leapling's 28 February was before the workflow existed: no retroactive birthday
    assert totals == {"born-today": 14, "born-tomorrow": 14, "leapling": 7, "newcomer": 7}


def test_low_stock_alerts_once_per_crossing(make_container: Callable[..., Container]) -> None:
    c = make_container()
    c.campaigns.create_campaign(ACME, "few", terms(stock=10))
    c.stock_alerts.set_threshold(ACME, "few", 5)
    c.vouchers.issue_codes(ACME, "few", count=5)
    assert c.jobs.run("low_stock").status == "nothing_due"  # 5 left: not below 5
    c.vouchers.issue_codes(ACME, "few", count=1)
    assert c.jobs.run("low_stock").summary == {"checked": 1, "changed": ["few"]}
    c.vouchers.issue_codes(ACME, "few", count=1)
    assert c.jobs.run("low_stock").status == "nothing_due"  # still low: no second alert
    with c.db.transaction() as tx:
        alerted = tx.one("SELECT low_stock_alerted FROM campaign_schedule WHERE key = 'few'")
    assert alerted is not None and alerted["low_stock_alerted"] == 1


def test_promo_jobs_run_at_a_time_activates_a_campaign_as_of_then(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/jobs.db"
    start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    c = build(Settings(database_url=url, seed_demo=False), clock=ManualClock(start))
    try:
        approved(c, "june", start + timedelta(hours=1), start + timedelta(days=30))
    finally:
        c.close()
    env = {**os.environ, "PROMO_DATABASE_URL": url, "PROMO_LOG_LEVEL": "warning"}

    def promo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "interfaces.cli", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    early = promo("jobs", "run", "campaign_schedule", "--at", "2026-06-01T08:30:00+00:00")
    assert early.returncode == 0, early.stderr
    assert json.loads(early.stdout)["status"] == "nothing_due"
    on_time = promo("jobs", "run", "campaign_schedule", "--at", "2026-06-01T09:00:00Z")
    assert on_time.returncode == 0, on_time.stderr
    assert json.loads(on_time.stdout)["summary"]["activated"] == ["june"]
    assert promo("jobs", "run", "campaign_schedule", "--at", "yesterday").returncode == 2
    c = build(Settings(database_url=url, seed_demo=False))
    try:
        campaign = c.campaigns.get_campaign("acme", "june")
        assert campaign["status"] == "active" and campaign["updated_at"].startswith("2026-06-01T09:00")
    finally:
        c.close()
