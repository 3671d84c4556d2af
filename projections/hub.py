"""All read models of one store: set up, run, wait for, rebuild and audit them by name."""

from __future__ import annotations

import logging
from typing import Any

from application.ledger import Ledger
from domain.errors import NotFound
from infrastructure.database import LibraryDatabase
from projections.audit import AuditReport, audit_projection
from projections.base import Projection
from projections.campaign_stats import CampaignStats
from projections.redemption_log import RedemptionLog
from projections.runner import ProjectionRunner
from projections.wallet import Wallet

log = logging.getLogger(__name__)

PROJECTIONS: tuple[type[Projection], ...] = (Wallet, CampaignStats, RedemptionLog)


class ProjectionHub:
    """The runners of every projection, woken by saves in this process."""

    def __init__(self, ledger: Ledger, db: LibraryDatabase, *, batch_size: int = 500,
                 poll_seconds: float = 0.05) -> None:
        self.ledger = ledger
        self.db = db
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
            runner.start()

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.stop()

    def wake(self, position: int = 0) -> None:
        for runner in self.runners.values():
            runner.wake(position)

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
