"""Read-side queries: read-your-writes waiting, then a read of the projection's tables."""

from __future__ import annotations

from typing import Any

from application.clock import Clock
from domain.errors import DomainError, InvalidInput, NotFound
from infrastructure.database import LibraryDatabase
from projections.campaign_stats import campaign_stats, list_campaigns
from projections.hub import ProjectionHub
from projections.points_ledger import LedgerFilter, balances, closing_balance, ledger_page
from projections.redemption_log import LogFilter, redemption_log
from projections.wallet import wallet


class ProjectionLagging(DomainError):
    """The read model has not reached the asked position within the wait."""

    kind = "unavailable"
    code = "projection_lagging"


def await_position(hub: ProjectionHub, wait_seconds: float, min_position: int | None,
                   *projections: str) -> None:
    """Read-your-writes: wait until each read model includes `min_position`; `422
    unknown_position` beyond the ledger's head, `503 projection_lagging` after the wait."""
    if not min_position or all(hub.wait(name, min_position, 0) for name in projections):
        return
    if min_position > hub.ledger.head():
        raise InvalidInput(f"position {min_position} is beyond the ledger's head",
                           code="unknown_position")
    for name in projections:
        if not hub.wait(name, min_position, wait_seconds):
            raise ProjectionLagging(f"{name} has not reached position {min_position} yet; retry shortly",
                                    projection=name, min_position=min_position)


class QueryService:
    """Answers from read models; `min_position` makes a client see its own last write."""

    def __init__(self, hub: ProjectionHub, db: LibraryDatabase, clock: Clock,
                 wait_seconds: float) -> None:
        self.hub = hub
        self.db = db
        self.clock = clock
        self.wait_seconds = wait_seconds

    def await_position(self, min_position: int | None, *projections: str) -> None:
        """Read-your-writes: see `await_position`."""
        await_position(self.hub, self.wait_seconds, min_position, *projections)

    def wallet(self, merchant_id: str, customer_id: str, min_position: int | None = None
               ) -> dict[str, Any]:
        self.await_position(min_position, "wallet", "points_ledger")
        with self.db.transaction() as tx:
            vouchers = wallet(tx, merchant_id, customer_id, self.clock())
            points = balances(tx, merchant_id, customer_id)
        return {"customer_id": customer_id, "vouchers": vouchers, "points": points}

    def points_ledger(self, merchant_id: str, customer_id: str, f: LedgerFilter, *, limit: int,
                      after: int | None, min_position: int | None = None) -> dict[str, Any]:
        self.await_position(min_position, "points_ledger")
        with self.db.transaction() as tx:
            items = ledger_page(tx, merchant_id, customer_id, f, limit + 1, after)
        more = len(items) > limit
        items = items[:limit]
        return {"customer_id": customer_id, "items": items,
                "next_cursor": str(items[-1]["position"]) if more else None}

    def points_balance(self, merchant_id: str, customer_id: str, f: LedgerFilter | None,
                       min_position: int | None = None) -> dict[str, Any]:
        self.await_position(min_position, "points_ledger")
        with self.db.transaction() as tx:
            return closing_balance(tx, merchant_id, customer_id, f)

    def campaign_stats(self, merchant_id: str, campaign_id: str, min_position: int | None = None, *,
                       rollup: bool = False) -> dict[str, Any]:
        self.await_position(min_position, "campaign_stats")
        with self.db.transaction() as tx:
            stats = campaign_stats(tx, merchant_id, campaign_id, rollup)
        if stats is None:
            raise NotFound("no such campaign", code="campaign_not_found")
        return stats

    def campaigns(self, merchant_id: str, *, status: str | None, limit: int, after: str | None,
                  min_position: int | None = None) -> dict[str, Any]:
        self.await_position(min_position, "campaign_stats")
        with self.db.transaction() as tx:
            items = list_campaigns(tx, merchant_id, status, limit + 1, after)
        more = len(items) > limit
        items = items[:limit]
        return {"items": items, "next_cursor": items[-1]["key"] if more else None}

    def redemptions(self, merchant_id: str, f: LogFilter, *, limit: int, before: int | None,
                    min_position: int | None = None) -> dict[str, Any]:
        self.await_position(min_position, "redemption_log")
        with self.db.transaction() as tx:
            items = redemption_log(tx, merchant_id, f, limit + 1, before)
        more = len(items) > limit
        items = items[:limit]
        return {"items": items, "next_cursor": str(items[-1]["position"]) if more else None}
