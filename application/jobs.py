"""Scheduled jobs (C3, C4, L5, D2 dates): what each does, once per due slot, idempotently.

A job first looks for due work in read models (cheap, writes nothing). Only when there is
some does it claim its slot — a `JobRun` whose ID derives from (job, slot), so of several
processes one claims it — and then act through ordinary commands, each safe to repeat: the
aggregates refuse a second activation, expiry is a no-op when nothing is due, a workflow runs
once per (workflow, occurrence). A slot missed while the service was down is no loss: the
next run finds everything that became due in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from application.campaigns import CampaignService
from application.clock import Clock
from application.commands import Actor
from application.ledger import Ledger
from application.points import PointsService
from application.stock_alerts import StockAlertService
from application.workflows import WorkflowService
from domain.clock import iso
from domain.errors import DomainError, NotFound
from domain.job import JobRun
from domain.merchant import Merchant
from domain.workflow import TriggerFacts, WorkflowBook

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)


class AutomationView(Protocol):
    """What the jobs read from read models (`projections/automation_reader.py`)."""

    def freshen(self, names: Sequence[str]) -> None: ...
    def campaigns_to_start(self, at: str) -> list[dict[str, Any]]: ...
    def campaigns_to_end(self, at: str) -> list[dict[str, Any]]: ...
    def stock_watches_due(self) -> list[dict[str, Any]]: ...
    def points_holders(self) -> list[tuple[str, str]]: ...
    def date_workflows(self) -> list[tuple[str, str]]: ...
    def customers_born_on(self, merchant_id: str, month_days: Sequence[str]) -> list[dict[str, Any]]: ...
    def customers_registered(self, merchant_id: str, since: str, until: str) -> list[dict[str, Any]]: ...


@dataclass
class JobReport:
    job: str
    slot: str
    status: str  # done | nothing_due | claimed_elsewhere
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "slot": self.slot, "status": self.status, "summary": self.summary}


@dataclass(frozen=True)
class Job:
    name: str
    period: timedelta
    reads: tuple[str, ...]
    find: Callable[[datetime], list[Any]]
    act: Callable[[datetime, list[Any]], dict[str, Any]]


def slot_of(at: datetime, period: timedelta) -> str:
    seconds = int(period.total_seconds())
    start = int(at.timestamp()) // seconds * seconds
    return iso(datetime.fromtimestamp(start, UTC)) or ""


class JobService:
    """Runs the named jobs: by the scheduler's tick, or by hand (`promo jobs run NAME --at T`)."""

    def __init__(self, ledger: Ledger, clock: Clock, view: AutomationView, campaigns: CampaignService,
                 points: PointsService, workflows: WorkflowService, stock_alerts: StockAlertService,
                 *, catch_up_days: int = 7, process_ref: str = "process") -> None:
        self.ledger = ledger
        self.clock = clock
        self.view = view
        self.campaigns = campaigns
        self.points = points
        self.workflows = workflows
        self.stock_alerts = stock_alerts
        self.catch_up_days = catch_up_days
        self.process_ref = process_ref
        self._checked: dict[str, str] = {}  # job -> last slot this process looked at
        self.jobs = {job.name: job for job in (
            Job("campaign_schedule", timedelta(minutes=1), ("campaign_schedule",),
                self._campaigns_due, self._start_and_end),
            Job("points_expiry", timedelta(hours=1), ("points_ledger",),
                lambda at: list(self.view.points_holders()), self._expire_points),
            Job("date_triggers", timedelta(hours=1), ("workflow_runs", "customer_facts"),
                lambda at: list(self.view.date_workflows()), self._date_triggers),
            Job("low_stock", timedelta(minutes=5), ("campaign_schedule",),
                lambda at: self.view.stock_watches_due(), self._low_stock),
        )}

    @property
    def names(self) -> list[str]:
        return list(self.jobs)

    def tick(self) -> list[JobReport]:
        """Run every job whose current slot this process has not looked at yet."""
        at = self.clock()
        reports = []
        for job in self.jobs.values():
            slot = slot_of(at, job.period)
            if self._checked.get(job.name) == slot:
                continue
            try:
                reports.append(self.run(job.name, at))
            except Exception:  # the store is away or a bug: the next tick tries again
                log.exception("job %s failed", job.name)
                continue
            self._checked[job.name] = slot
        return reports

    def run(self, name: str, at: datetime | None = None, *, claim: bool = True) -> JobReport:
        """Run one job as of `at`; a manual run (claim=False) needs no slot: jobs are idempotent."""
        job = self.jobs.get(name)
        if job is None:
            raise NotFound(f"no job {name!r}; known: {', '.join(self.jobs)}", code="unknown_job")
        at = at or self.clock()
        slot = slot_of(at, job.period)
        self.view.freshen(job.reads)
        work = job.find(at)
        if not work:
            return JobReport(name, slot, "nothing_due")
        run = self._claim(name, slot, at) if claim else None
        if claim and run is None:
            return JobReport(name, slot, "claimed_elsewhere")
        summary = job.act(at, work)
        if run is not None:
            run.finish(summary, self.clock())
            self.ledger.save_all(run)
        log.info("job %s slot %s: %s", name, slot, summary)
        return JobReport(name, slot, "done", summary)

    def _claim(self, name: str, slot: str, at: datetime) -> JobRun | None:
        try:
            run = JobRun.claim(name, slot, self.process_ref, at, LEASE)
            self.ledger.save_all(run)
            return run
        except IntegrityError:
            pass
        try:  # claimed before: take it over only if that claim was never finished and its lease is over
            run = self.ledger.load(JobRun.id_for(name, slot), JobRun)
            run.take_over(self.process_ref, at, LEASE)
            self.ledger.save_all(run)
            return run
        except (DomainError, IntegrityError):
            return None

    @staticmethod
    def _actor(merchant_id: str) -> Actor:
        return Actor(merchant_id=merchant_id, role="admin", ref="scheduler")

    # -- campaigns start and end (C3) ---------------------------------------------------------

    def _campaigns_due(self, at: datetime) -> list[Any]:
        stamp = iso(at) or ""
        return [("activate", r) for r in self.view.campaigns_to_start(stamp)] + \
            [("end", r) for r in self.view.campaigns_to_end(stamp)]

    def _start_and_end(self, at: datetime, work: list[Any]) -> dict[str, Any]:
        done: dict[str, list[str]] = {"activated": [], "ended": [], "refused": []}
        for action, row in work:
            when = row["starts_at"] if action == "activate" else row["ends_at"]
            try:
                self.campaigns.change_status(self._actor(row["merchant_id"]), row["key"], action,
                                             idempotency_key=f"job:{action}:{row['key']}:{when}")
                done["activated" if action == "activate" else "ended"].append(row["key"])
            except DomainError as exc:  # changed meanwhile (disabled, activated by hand)
                done["refused"].append(f"{row['key']}: {exc.code}")
        return done

    # -- points expiry (L5) -----------------------------------------------------------------

    def _expire_points(self, at: datetime, holders: list[Any]) -> dict[str, Any]:
        expired, customers = 0, 0
        for merchant_id, customer_id in holders:
            try:
                points = self.points.expire(self._actor(merchant_id), customer_id).body["expired"]
            except DomainError as exc:
                log.warning("points expiry for %s/%s refused: %s", merchant_id, customer_id, exc.code)
                continue
            expired += points
            customers += 1 if points else 0
        return {"holders": len(holders), "customers_expired": customers, "points_expired": expired}

    # -- low stock (C4) ---------------------------------------------------------------------

    def _low_stock(self, at: datetime, watches: list[Any]) -> dict[str, Any]:
        changed = [w["key"] for w in watches if self.stock_alerts.check(w["merchant_id"], w["key"])]
        return {"checked": len(watches), "changed": changed}

    # -- date triggers (D2) -----------------------------------------------------------------

    def _date_triggers(self, at: datetime, workflows: list[Any]) -> dict[str, Any]:
        fired = 0
        for merchant_id, key in workflows:
            book = self.ledger.read_if_any(WorkflowBook.id_for(merchant_id), WorkflowBook)
            workflow = book.workflows.get(key) if book else None
            if workflow is None or workflow["status"] != "active":
                continue
            for customer_id, ref in self._occurrences(merchant_id, workflow, at):
                facts = TriggerFacts("date", merchant_id, customer_id, at)
                fired += int(self.workflows.fire(facts, workflow, ref))
        return {"workflows": len(workflows), "fired": fired}

    def _occurrences(self, merchant_id: str, workflow: dict[str, Any], at: datetime
                     ) -> list[tuple[str, str]]:
        """(customer, trigger ref) of every occurrence due by `at` within the catch-up window."""
        trigger = workflow["definition"]["trigger"]
        defined = workflow["defined_at"]
        if trigger["date"] == "after_registration":
            offset = timedelta(days=trigger["days"])
            since = max(at - offset - timedelta(days=self.catch_up_days), defined - offset)
            rows = self.view.customers_registered(merchant_id, iso(since) or "", iso(at - offset) or "")
            return [(r["customer_id"], f"after/{trigger['days']}/{r['customer_id']}") for r in rows]
        zone = self._zone(merchant_id)
        today = at.astimezone(zone).date()
        first = max(today - timedelta(days=self.catch_up_days), defined.astimezone(zone).date())
        days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
        by_md: dict[str, list[date]] = {}
        for day in days:
            for md in _month_days(day):
                by_md.setdefault(md, []).append(day)
        found = []
        for row in self.view.customers_born_on(merchant_id, list(by_md)):
            for day in by_md[row["birthday_md"]]:
                end_of_day = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
                if row["registered_at"] < (iso(end_of_day) or ""):
                    found.append((row["customer_id"], f"birthday/{row['customer_id']}/{day.isoformat()}"))
        return found

    def _zone(self, merchant_id: str) -> ZoneInfo:
        merchant = self.ledger.read_if_any(Merchant.id_for(merchant_id), Merchant)
        return ZoneInfo(merchant.timezone if merchant else "UTC")


def _month_days(day: date) -> list[str]:
    """Birthdays celebrated on `day`: its own; on 28 February of a common year, 29 February's too."""
    md = day.strftime("%m-%d")
    leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
    return [md, "02-29"] if md == "02-28" and not leap else [md]
