"""Read-model queries for automation: what jobs, the webhook worker, distribution and the API read."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from infrastructure.database import LibraryDatabase
from projections.queries import await_position
from projections.runner import TrackingMoved

if TYPE_CHECKING:  # the hub lists these projections: import it only for typing
    from projections.hub import ProjectionHub

MAX_PAGE = 200


class AutomationReader:
    """Queries over customer_facts, workflow_runs, webhook_log, campaign_schedule, distribution."""

    def __init__(self, hub: ProjectionHub, db: LibraryDatabase, wait_seconds: float) -> None:
        self.hub = hub
        self.db = db
        self.wait_seconds = wait_seconds

    def freshen(self, names: Sequence[str]) -> None:
        """Let these read models include the ledger's head: wait for the loop, or apply here.

        With no projection loop in this process (CLI, tests) the pending events are applied
        here; the runner's conditional tracking makes that safe beside a server's loop.
        """
        head = self.hub.ledger.head()
        for name in names:
            runner = self.hub.runner(name)
            if runner.running:
                runner.wait_for(head, self.wait_seconds)
                continue
            deadline = time.monotonic() + self.wait_seconds
            while not runner.wait_for(head, 0) and time.monotonic() < deadline:
                try:
                    runner.catch_up()
                except TrackingMoved:
                    time.sleep(0.01)

    def wait(self, name: str, min_position: int | None) -> None:
        """Read-your-writes for the API: wait until `name` includes `min_position`."""
        await_position(self.hub, self.wait_seconds, min_position, name)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.db.transaction() as tx:
            return tx.query(sql, params)

    # -- jobs --------------------------------------------------------------------------------

    def campaigns_to_start(self, at: str) -> list[dict[str, Any]]:
        return self._query("SELECT merchant_id, key, starts_at FROM campaign_schedule "
                           "WHERE status IN ('approved', 'scheduled') AND starts_at IS NOT NULL "
                           "AND starts_at <= ? AND (ends_at IS NULL OR ends_at > ?) ORDER BY starts_at",
                           (at, at))

    def campaigns_to_end(self, at: str) -> list[dict[str, Any]]:
        return self._query("SELECT merchant_id, key, ends_at FROM campaign_schedule "
                           "WHERE status = 'active' AND ends_at IS NOT NULL AND ends_at <= ? "
                           "ORDER BY ends_at",
                           (at,))

    def stock_watches_due(self) -> list[dict[str, Any]]:
        """Watched campaigns whose remaining stock crossed their threshold either way."""
        return self._query(
            "SELECT merchant_id, key, stock - issued AS remaining, low_stock_threshold AS threshold "
            "FROM campaign_schedule WHERE stock IS NOT NULL AND low_stock_threshold > 0 AND "
            "((low_stock_alerted = 0 AND stock - issued < low_stock_threshold) OR "
            "(low_stock_alerted = 1 AND stock - issued >= low_stock_threshold)) ORDER BY merchant_id, key")

    def points_holders(self) -> list[tuple[str, str]]:
        rows = self._query("SELECT DISTINCT merchant_id, customer_id FROM points_accounts "
                           "WHERE balance > 0 AND merged_into IS NULL ORDER BY merchant_id, customer_id")
        return [(r["merchant_id"], r["customer_id"]) for r in rows]

    def date_workflows(self) -> list[tuple[str, str]]:
        rows = self._query("SELECT merchant_id, key FROM workflows WHERE trigger_type = 'date' "
                           "AND status = 'active' ORDER BY merchant_id, key")
        return [(r["merchant_id"], r["key"]) for r in rows]

    def customers_born_on(self, merchant_id: str, month_days: Sequence[str]) -> list[dict[str, Any]]:
        if not month_days:
            return []
        marks = ",".join("?" * len(month_days))
        return self._query("SELECT customer_id, birthday_md, registered_at FROM customers "
                           f"WHERE merchant_id = ? AND birthday_md IN ({marks}) ORDER BY customer_id",
                           (merchant_id, *month_days))

    def customers_registered(self, merchant_id: str, since: str, until: str) -> list[dict[str, Any]]:
        return self._query("SELECT customer_id, registered_at FROM customers WHERE merchant_id = ? "
                           "AND registered_at >= ? AND registered_at <= ? ORDER BY registered_at",
                           (merchant_id, since, until))

    # -- webhook worker ----------------------------------------------------------------------

    def due_deliveries(self, at: str, limit: int) -> list[UUID]:
        rows = self._query("SELECT delivery_id FROM webhook_deliveries WHERE status IN ('pending', "
                           "'in_flight') AND next_attempt_at <= ? ORDER BY next_attempt_at, position LIMIT ?",
                           (at, limit))
        return [UUID(r["delivery_id"]) for r in rows]

    # -- distribution ------------------------------------------------------------------------

    def open_codes(self, merchant_id: str, campaign_id: str, after_seq: int, limit: int
                   ) -> list[tuple[str, int]]:
        rows = self._query("SELECT code, seq FROM distribution_codes WHERE merchant_id = ? "
                           "AND campaign_id = ? "
                           "AND state = 'open' AND seq > ? ORDER BY seq LIMIT ?",
                           (merchant_id, campaign_id, after_seq, limit))
        return [(r["code"], int(r["seq"])) for r in rows]

    # -- API reads ---------------------------------------------------------------------------

    def workflow_runs(self, merchant_id: str, workflow_key: str, limit: int, before: int | None
                      ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM workflow_runs WHERE merchant_id = ? AND workflow_key = ?"
        params: list[Any] = [merchant_id, workflow_key]
        if before is not None:
            sql, params = sql + " AND position < ?", [*params, before]
        rows = self._query(sql + " ORDER BY position DESC LIMIT ?", [*params, min(limit, MAX_PAGE + 1)])
        return [{**{k: v for k, v in r.items() if k != "merchant_id"}, "results": json.loads(r["results"])}
                for r in rows]

    def deliveries(self, merchant_id: str, subscription_key: str | None, status: str | None, limit: int,
                   before: int | None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM webhook_deliveries WHERE merchant_id = ?"
        params: list[Any] = [merchant_id]
        for column, value in (("subscription_key", subscription_key), ("status", status)):
            if value is not None:
                sql, params = f"{sql} AND {column} = ?", [*params, value]
        if before is not None:
            sql, params = sql + " AND position < ?", [*params, before]
        rows = self._query(sql + " ORDER BY position DESC LIMIT ?", [*params, min(limit, MAX_PAGE + 1)])
        return [{k: v for k, v in r.items() if k != "merchant_id"} for r in rows]

    def delivery(self, merchant_id: str, delivery_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM webhook_deliveries WHERE merchant_id = ? AND delivery_id = ?",
                           (merchant_id, delivery_id))
        if not rows:
            return None
        attempts = self._query("SELECT attempt, started_at, outcome, status_code, error, duration_ms, "
                               "finished_at FROM webhook_attempts WHERE delivery_id = ? ORDER BY position",
                               (delivery_id,))
        return {**{k: v for k, v in rows[0].items() if k != "merchant_id"}, "attempt_log": attempts}
