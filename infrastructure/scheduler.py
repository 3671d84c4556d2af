"""What runs on its own inside `promo serve`: policies, webhook delivery, and scheduled jobs.

The jobs tick on an apscheduler `BackgroundScheduler` (real time), but every decision uses the
injected clock, so tests travel in time with a `ManualClock` and production reads the system
clock. Several processes may run all of this against one PostgreSQL: policies are exactly-once
by their idempotency keys, deliveries are claimed on their aggregates, and job slots are
claimed by `JobRun` records.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from application.jobs import JobService
from infrastructure.policy_runner import PolicyLoop
from infrastructure.webhook_delivery import DeliveryWorker

log = logging.getLogger(__name__)


class Automation:
    """Starts and stops the policy loop, the delivery worker and the job scheduler together."""

    def __init__(self, policies: PolicyLoop, worker: DeliveryWorker, jobs: JobService,
                 tick_seconds: float) -> None:
        self.policies = policies
        self.worker = worker
        self.jobs = jobs
        self.tick_seconds = tick_seconds
        self._scheduler: BackgroundScheduler | None = None
        policies.listeners.append(worker.wake)

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        if self._scheduler is not None:
            return
        self.policies.start()
        self.worker.start()
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(self.jobs.tick, "interval", seconds=self.tick_seconds, id="jobs",
                          next_run_time=datetime.now(UTC), max_instances=1, coalesce=True)
        scheduler.start()
        self._scheduler = scheduler
        log.info("automation started: policies, webhook delivery, jobs every %ss", self.tick_seconds)

    def stop(self) -> None:
        if self._scheduler is None:
            return
        self._scheduler.shutdown(wait=True)
        self._scheduler = None
        self.worker.stop()
        self.policies.stop()
