"""All read models of one store: set up, run, wait for, rebuild and audit them by name."""

from __future__ import annotations

import logging
import threading
from typing import Any

from application.ledger import Ledger
from domain.errors import NotFound
from infrastructure.database import LibraryDatabase
from projections.audit import AuditReport, audit_projection
from projections.base import Projection
from projections.campaign_report import CampaignReport
from projections.campaign_schedule import CampaignSchedule
from projections.campaign_stats import CampaignStats
from projections.customer_facts import CustomerFacts
from projections.distribution import Distribution
from projections.fraud_flags import FraudFlags
from projections.points_ledger import PointsLedger
from projections.pool_stock import PoolStock
from projections.redemption_log import RedemptionLog
from projections.runner import ProjectionRunner, TrackingMoved
from projections.wallet import Wallet
from projections.webhook_log import WebhookLog
from projections.workflow_runs import WorkflowRuns

log = logging.getLogger(__name__)

PROJECTIONS: tuple[type[Projection], ...] = (Wallet, CampaignStats, RedemptionLog, PointsLedger, PoolStock,
                                              CustomerFacts, WorkflowRuns, WebhookLog, CampaignSchedule,
                                              Distribution, FraudFlags, CampaignReport)


class ProjectionHub:
    """Every projection of one store, driven by one loop and woken by saves in this process.

    Each batch is read once and applied to every projection in one transaction, each
    projection's tracking row moved under its own guard: one commit per batch, not
    one per projection (an fsync each), and read models that agree on their position.
    """

    def __init__(self, ledger: Ledger, db: LibraryDatabase, *, batch_size: int = 500,
                 poll_seconds: float = 0.05) -> None:
        self.ledger = ledger
        self.db = db
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.runners = {
            cls.name: ProjectionRunner(cls(), ledger, db, batch_size=batch_size,
                                       poll_seconds=poll_seconds)
            for cls in PROJECTIONS
        }
        ledger.on_saved(self.wake)

    def runner(self, name: str) -> ProjectionRunner:
        runner = self.runners.get(name)
        if runner is None:
            raise NotFound(f"no projection {name!r}; known: {', '.join(self.runners)}",
                           code="unknown_projection")
        return runner

    def setup(self) -> None:
        for runner in self.runners.values():
            runner.setup()

    def start(self) -> None:
        for runner in self.runners.values():
            runner.driven = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="projections", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for runner in self.runners.values():
            runner.driven = False

    def wake(self, _position: int = 0) -> None:
        self._wake.set()

    def run_once(self) -> int:
        """Apply the next batch to every projection; return its size (0 = all caught up)."""
        with self.db.transaction() as tx:
            positions = {r["name"]: int(r["position"])
                         for r in tx.query("SELECT name, position FROM projection_tracking")}
        start = min(positions.get(name, 0) for name in self.runners)
        notifications = self.ledger.recorder.select_notifications(start + 1, self.batch_size)
        if not notifications:
            for name, runner in self.runners.items():
                runner.advance_to(positions.get(name, 0))
            return 0
        end = notifications[-1].id
        events = [(n.id, self.ledger.mapper.to_domain_event(n)) for n in notifications]
        # Read models can stand at different positions (one was rebuilt, or is new):
        # each gets only the events after its own position; one ahead is left alone.
        behind = {name: runner for name, runner in self.runners.items()
                  if positions.get(name, 0) < end}
        with self.db.transaction(write=True) as tx:
            for name, runner in behind.items():
                runner.claim(tx, positions.get(name, 0))
            for name, runner in behind.items():
                position = positions.get(name, 0)
                for event_position, event in events:
                    if event_position > position:
                        runner.projection.process(event, tx, event_position)
                runner.move_tracking(tx, position, end)
        for name, runner in self.runners.items():
            runner.advance_to(max(end, positions.get(name, 0)))
        return len(notifications)

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                processed = self.run_once()
                failures, self.last_error = 0, None
            except TrackingMoved:
                continue  # a rebuild elsewhere moved a position: read them again
            except Exception as exc:  # store away or a handler failed: retry, never skip
                failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                for runner in self.runners.values():
                    runner.last_error = self.last_error
                if failures == 1:
                    log.exception("projections failed; retrying")
                self._stop.wait(min(5.0, 0.1 * 2**failures))
                continue
            if failures == 0:
                for runner in self.runners.values():
                    runner.last_error = None
            if not processed:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def catch_up(self) -> None:
        for runner in self.runners.values():
            runner.catch_up()

    def wait(self, name: str, position: int, timeout: float) -> bool:
        return self.runner(name).wait_for(position, timeout)

    def rebuild(self, name: str) -> int:
        return self.runner(name).rebuild()

    def audit(self, name: str, merchant_id: str | None = None) -> AuditReport:
        return audit_projection(self.runner(name).projection, self.ledger, self.db,
                                merchant_id=merchant_id)

    def status(self) -> list[dict[str, Any]]:
        head = self.ledger.head()
        return [runner.status(head) for runner in self.runners.values()]
