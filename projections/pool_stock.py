"""Partner code stock (P5, P6): per pool counts, every code's status, the batches they came in.

`pool_codes` doubles as the sale's candidate list: sales pick available codes from it
at a random position. It may lag the ledger; a sale re-checks every candidate against
the event store before claiming it, so a lagging row costs a retry, never a double sale.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.clock import iso
from domain.pool import CodeBatch, CodePool, CodeStatus, PartnerCode
from infrastructure.database import LibraryDatabase, Tx
from projections.base import Handler, Projection
from projections.runner import TrackingMoved

if TYPE_CHECKING:  # the hub lists this projection: import it only for typing
    from projections.hub import ProjectionHub

NAME = "pool_stock"
UNSOLD = (CodeStatus.AVAILABLE, CodeStatus.RETURNED)
SOLD = (CodeStatus.SOLD, CodeStatus.REDEEMED)
EXPORT_COLUMNS = ("code", "status", "internal_code", "order_id", "customer_id", "changed_at")


class PoolStock(Projection):
    name = NAME
    tables = {
        "pool_stock": (
            "merchant_id TEXT NOT NULL, pool_id TEXT NOT NULL PRIMARY KEY, campaign_id TEXT NOT NULL, "
            "campaign_key TEXT NOT NULL, uploaded BIGINT NOT NULL, available BIGINT NOT NULL, "
            "sold BIGINT NOT NULL, redeemed BIGINT NOT NULL, returned BIGINT NOT NULL, "
            "batches BIGINT NOT NULL, low_stock_threshold BIGINT NOT NULL, low_stock BIGINT NOT NULL, "
            "low_stock_alerts BIGINT NOT NULL, low_stock_at TEXT, updated_at TEXT NOT NULL"
        ),
        "pool_batches": (
            "merchant_id TEXT NOT NULL, pool_id TEXT NOT NULL, batch_id TEXT NOT NULL, "
            "content_hash TEXT NOT NULL, filename TEXT NOT NULL, uploaded_by TEXT NOT NULL, "
            "count BIGINT NOT NULL, rejected BIGINT NOT NULL, first_seq BIGINT NOT NULL, "
            "imported_at TEXT NOT NULL, PRIMARY KEY (pool_id, batch_id)"
        ),
        "pool_codes": (
            "merchant_id TEXT NOT NULL, pool_id TEXT NOT NULL, code TEXT NOT NULL, seq BIGINT NOT NULL, "
            "status TEXT NOT NULL, internal_code TEXT, order_id TEXT, customer_id TEXT, changed_at TEXT, "
            "PRIMARY KEY (pool_id, code)"
        ),
    }
    # Candidates (available, from a random seq) and exports (by status, in upload order).
    indexes = ("CREATE INDEX IF NOT EXISTS pool_codes_status ON pool_codes (pool_id, status, seq)",)

    def handlers(self) -> dict[type, Handler]:
        return {
            CodePool.Created: self._pool_created,
            CodePool.BatchImported: self._batch_imported,
            CodePool.LowStock: self._low_stock,
            CodeBatch.CodesAdded: self._codes_added,
            PartnerCode.Sold: self._sold,
            PartnerCode.Returned: self._returned,
            PartnerCode.Redeemed: self._redeemed,
        }

    def _pool_created(self, e: CodePool.Created, tx: Tx, _: int) -> None:
        tx.execute("INSERT INTO pool_stock VALUES (?,?,?,?,0,0,0,0,0,0,?,0,0,NULL,?)",
                   (e.merchant_id, str(e.originator_id), str(e.campaign_id), e.campaign_key,
                    e.low_stock_threshold, iso(e.timestamp)))

    def _batch_imported(self, e: CodePool.BatchImported, tx: Tx, _: int) -> None:
        pool_id = str(e.originator_id)
        tx.execute("UPDATE pool_stock SET uploaded = uploaded + ?, available = available + ?, "
                   "batches = batches + 1, low_stock = CASE WHEN ? = 1 THEN 0 ELSE low_stock END, "
                   "updated_at = ? WHERE pool_id = ?",
                   (e.count, e.count, int(e.low_stock_cleared), iso(e.timestamp), pool_id))
        tx.execute("INSERT INTO pool_batches SELECT merchant_id, pool_id, ?, ?, ?, ?, ?, ?, ?, ? "
                   "FROM pool_stock WHERE pool_id = ?",
                   (str(e.batch_id), e.content_hash, e.filename, e.by, e.count, e.rejected,
                    e.first_seq, iso(e.timestamp), pool_id))

    def _low_stock(self, e: CodePool.LowStock, tx: Tx, _: int) -> None:
        tx.execute("UPDATE pool_stock SET low_stock = 1, low_stock_alerts = low_stock_alerts + 1, "
                   "low_stock_at = ?, updated_at = ? WHERE pool_id = ?",
                   (iso(e.timestamp), iso(e.timestamp), str(e.originator_id)))

    def _codes_added(self, e: CodeBatch.CodesAdded, tx: Tx, _: int) -> None:
        pool_id, first = str(e.pool_id), e.first_seq
        tx.executemany("INSERT INTO pool_codes VALUES (?,?,?,?,'available',NULL,NULL,NULL,NULL)",
                       [(e.merchant_id, pool_id, code, first + i) for i, code in enumerate(e.codes)])

    def _sold(self, e: PartnerCode.Sold, tx: Tx, _: int) -> None:
        at = iso(e.timestamp)
        tx.execute("UPDATE pool_codes SET status = 'sold', internal_code = ?, order_id = ?, "
                   "customer_id = ?, changed_at = ? WHERE pool_id = ? AND code = ?",
                   (e.internal_code, e.order_id, e.customer_id, at, str(e.pool_id), e.code))
        self._move(tx, e.pool_id, at, available=-1, sold=1)

    def _returned(self, e: PartnerCode.Returned, tx: Tx, _: int) -> None:
        at = iso(e.timestamp)
        tx.execute("UPDATE pool_codes SET status = 'returned', changed_at = ? WHERE pool_id = ? AND code = ?",
                   (at, str(e.pool_id), e.code))
        self._move(tx, e.pool_id, at, available=-1, returned=1)

    def _redeemed(self, e: PartnerCode.Redeemed, tx: Tx, _: int) -> None:
        at = iso(e.timestamp)
        tx.execute("UPDATE pool_codes SET status = 'redeemed', changed_at = ? WHERE pool_id = ? AND code = ?",
                   (at, str(e.pool_id), e.code))
        self._move(tx, e.pool_id, at, redeemed=1)

    @staticmethod
    def _move(tx: Tx, pool_id: UUID, at: str | None, **deltas: int) -> None:
        sets = ", ".join(f"{column} = {column} + ?" for column in deltas)
        tx.execute(f"UPDATE pool_stock SET {sets}, updated_at = ? WHERE pool_id = ?",
                   (*deltas.values(), at, str(pool_id)))


def stock_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "pool_id": row["pool_id"], "campaign_id": row["campaign_id"],
        "campaign_key": row["campaign_key"],
        **{c: int(row[c]) for c in ("uploaded", "available", "sold", "redeemed", "returned", "batches",
                                    "low_stock_threshold", "low_stock_alerts")},
        "low_stock": bool(row["low_stock"]), "low_stock_at": row["low_stock_at"],
        "updated_at": row["updated_at"],
    }


class PoolStockReader:
    """The pool read model as the pool service and the HTTP layer need it."""

    def __init__(self, hub: ProjectionHub, db: LibraryDatabase, wait_seconds: float) -> None:
        self.hub = hub
        self.db = db
        self.wait_seconds = wait_seconds

    def head(self) -> int:
        return self.hub.ledger.head()

    def caught_up(self, position: int, timeout: float | None = None) -> bool:
        """Wait until the read model includes `position`.

        With no projection loop in this process (CLI, tests), apply the pending
        events here; the runner's conditional tracking makes that safe even while a
        server elsewhere applies them too.
        """
        timeout = self.wait_seconds if timeout is None else timeout
        runner = self.hub.runner(NAME)
        if runner.wait_for(position, 0):
            return True
        if runner.running:
            return runner.wait_for(position, timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                runner.catch_up()
            except TrackingMoved:
                time.sleep(0.01)  # another runner got there first: read its position again
            if runner.wait_for(position, 0):
                return True
        return runner.wait_for(position, 0)

    def available(self, pool_id: UUID, after: int, below: int | None, limit: int) -> list[tuple[str, int]]:
        """Codes the read model thinks available, in seq order after `after` (and below `below`)."""
        sql = "SELECT code, seq FROM pool_codes WHERE pool_id = ? AND status = 'available' AND seq > ?"
        params: list[Any] = [str(pool_id), after]
        if below is not None:
            sql, params = sql + " AND seq < ?", [*params, below]
        with self.db.transaction() as tx:
            rows = tx.query(sql + " ORDER BY seq LIMIT ?", [*params, limit])
        return [(r["code"], int(r["seq"])) for r in rows]

    def statuses(self, pool_id: UUID, codes: Iterable[str]) -> dict[str, str]:
        """The read model's status of each of `codes` that is in the pool."""
        found: dict[str, str] = {}
        pending = list(codes)
        with self.db.transaction() as tx:
            for start in range(0, len(pending), 900):
                chunk = pending[start:start + 900]
                marks = ",".join("?" * len(chunk))
                rows = tx.query("SELECT code, status FROM pool_codes "
                                f"WHERE pool_id = ? AND code IN ({marks})", [str(pool_id), *chunk])
                found.update((r["code"], r["status"]) for r in rows)
        return found

    def remaining(self, pool_id: UUID) -> int:
        with self.db.transaction() as tx:
            row = tx.one("SELECT available FROM pool_stock WHERE pool_id = ?", (str(pool_id),))
        return int(row["available"]) if row else 0

    def stock(self, merchant_id: str, pool_id: UUID) -> dict[str, Any] | None:
        with self.db.transaction() as tx:
            row = tx.one("SELECT * FROM pool_stock WHERE merchant_id = ? AND pool_id = ?",
                         (merchant_id, str(pool_id)))
            if row is None:
                return None
            batches = tx.query("SELECT * FROM pool_batches WHERE merchant_id = ? AND pool_id = ? "
                               "ORDER BY first_seq", (merchant_id, str(pool_id)))
        view = stock_view(row)
        view["imports"] = [{k: b[k] for k in ("batch_id", "content_hash", "filename", "uploaded_by",
                                                "imported_at")}
                           | {k: int(b[k]) for k in ("count", "rejected", "first_seq")} for b in batches]
        return view

    def export(self, merchant_id: str, pool_id: UUID, statuses: Iterable[str], page: int = 5000
               ) -> Iterator[dict[str, Any]]:
        """Every code with one of `statuses`, status by status in upload order, read page by page."""
        for status in statuses:
            after = -1
            while True:
                with self.db.transaction() as tx:
                    rows = tx.query(
                        "SELECT seq, " + ", ".join(EXPORT_COLUMNS) + " FROM pool_codes "
                        "WHERE pool_id = ? AND status = ? AND seq > ? AND merchant_id = ? "
                        "ORDER BY seq LIMIT ?", (str(pool_id), status, after, merchant_id, page))
                yield from rows
                if len(rows) < page:
                    break
                after = int(rows[-1]["seq"])
