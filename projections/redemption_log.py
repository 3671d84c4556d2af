"""Redemption log (R2, A2): every attempt, accepted or rejected with reasons, and reversals."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from domain.clock import iso
from domain.redemption import Redemption
from infrastructure.database import Tx
from projections.base import Handler, Projection, dumps

COLUMNS = (
    "merchant_id", "redemption_id", "position", "occurred_at", "outcome", "status", "code",
    "voucher_id", "campaign_id", "campaign_version", "customer_id", "order_id", "order_amount",
    "currency", "discount", "store_id", "channel", "reasons", "lines", "cost_group", "cost_store",
    "allocations",
)


class RedemptionLog(Projection):
    name = "redemption_log"
    version = 4  # 2: cost split columns; 3: partial reversals; 4: the discount per line (A2)
    tables = {
        "redemption_log": (
            "merchant_id TEXT NOT NULL, redemption_id TEXT NOT NULL, position BIGINT NOT NULL, "
            "occurred_at TEXT NOT NULL, outcome TEXT NOT NULL, status TEXT NOT NULL, "
            "code TEXT NOT NULL, voucher_id TEXT, campaign_id TEXT, campaign_version BIGINT, "
            "customer_id TEXT, order_id TEXT, order_amount BIGINT NOT NULL, currency TEXT NOT NULL, "
            "discount BIGINT NOT NULL, store_id TEXT, channel TEXT, reasons TEXT NOT NULL, "
            "lines TEXT NOT NULL, cost_group BIGINT NOT NULL, cost_store BIGINT NOT NULL, "
            "reversed_at TEXT, reversal_reason TEXT, reversed_by TEXT, allocations TEXT NOT NULL, "
            "PRIMARY KEY (merchant_id, redemption_id)"
        ),
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS redemption_log_position ON redemption_log (merchant_id, position)",
        "CREATE INDEX IF NOT EXISTS redemption_log_campaign "
        "ON redemption_log (merchant_id, campaign_id, position)",
        # the report filters (A2) and the customer 360 (A3) page by customer and by store
        "CREATE INDEX IF NOT EXISTS redemption_log_customer "
        "ON redemption_log (merchant_id, customer_id, position)",
        "CREATE INDEX IF NOT EXISTS redemption_log_store ON redemption_log (merchant_id, store_id, position)",
    )

    def handlers(self) -> dict[type, Handler]:
        return {
            Redemption.Recorded: self._attempt,
            Redemption.Rejected: self._attempt,
            Redemption.Reversed: self._reversed,
            Redemption.PartiallyReversed: self._partly,
        }

    def _partly(self, e: Redemption.PartiallyReversed, tx: Tx, _: int) -> None:
        tx.execute(
            "UPDATE redemption_log SET status='partially_reversed', discount=?, "
            "cost_group = cost_group - ?, cost_store = cost_store - ? WHERE redemption_id=?",
            (e.discount_after, e.costs_reversed.get("group", 0), e.costs_reversed.get("store", 0),
             str(e.originator_id)),
        )

    def _attempt(self, e: Any, tx: Tx, position: int) -> None:
        accepted = isinstance(e, Redemption.Recorded)
        order = e.order
        reasons = [] if accepted else [r["code"] for r in e.reasons]
        values = (
            e.merchant_id, str(e.originator_id), position, iso(e.timestamp),
            "redeemed" if accepted else "rejected", "redeemed" if accepted else "rejected",
            e.code, _s(e.voucher_id), _s(e.campaign_id), e.campaign_version, e.customer_id,
            order.get("id"), order["amount"], order["currency"],
            e.discount if accepted else 0, e.store_id, e.channel, dumps(reasons),
            dumps(order.get("lines", [])), *_costs(e if accepted else None),
            dumps((e.allocations or []) if accepted else []),
        )
        marks = ",".join("?" * len(values))
        tx.execute(f"INSERT INTO redemption_log ({','.join(COLUMNS)}) VALUES ({marks})", values)

    def _reversed(self, e: Redemption.Reversed, tx: Tx, _: int) -> None:
        tx.execute(
            "UPDATE redemption_log SET status='reversed', reversed_at=?, reversal_reason=?, "
            "reversed_by=? WHERE redemption_id=?",
            (iso(e.timestamp), e.reason, e.by, str(e.originator_id)),
        )


def _costs(e: Any) -> tuple[int, int]:
    costs = getattr(e, "costs", None) or {}
    if e is not None and not costs:  # recorded before costs were split: the group paid
        return e.discount, 0
    return costs.get("group", 0), costs.get("store", 0)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class LogFilter:
    campaign_id: str | None = None
    customer_id: str | None = None
    code: str | None = None
    status: str | None = None
    since: str | None = None  # ISO text, inclusive
    until: str | None = None  # ISO text, exclusive
    store_id: str | None = None
    channel: str | None = None
    campaign_ids: tuple[str, ...] = ()  # any of these campaigns (a main one and its subs)


def redemption_log(tx: Tx, merchant_id: str, f: LogFilter, limit: int, before: int | None
                   ) -> list[dict[str, Any]]:
    """Newest first; `before` is the cursor: the position of the last row of the previous page."""
    sql = "SELECT * FROM redemption_log WHERE merchant_id=?"
    params: list[Any] = [merchant_id]
    for column, value in (("campaign_id", f.campaign_id), ("customer_id", f.customer_id),
                          ("code", f.code), ("status", f.status), ("store_id", f.store_id),
                          ("channel", f.channel)):
        if value is not None:
            sql, params = f"{sql} AND {column}=?", [*params, value]
    if f.campaign_ids:
        sql = f"{sql} AND campaign_id IN ({','.join('?' * len(f.campaign_ids))})"
        params = [*params, *f.campaign_ids]
    if f.since is not None:
        sql, params = f"{sql} AND occurred_at >= ?", [*params, f.since]
    if f.until is not None:
        sql, params = f"{sql} AND occurred_at < ?", [*params, f.until]
    if before is not None:
        sql, params = f"{sql} AND position < ?", [*params, before]
    rows = tx.query(f"{sql} ORDER BY position DESC LIMIT ?", [*params, limit])
    return [_entry(row) for row in rows]


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    entry = {c: row[c] for c in COLUMNS
             if c not in ("merchant_id", "reasons", "lines", "cost_group", "cost_store", "allocations")}
    entry["costs"] = {"group": int(row["cost_group"]), "store": int(row["cost_store"])}
    entry["id"] = entry.pop("redemption_id")
    entry["reasons"] = json.loads(row["reasons"])
    entry["lines"] = json.loads(row["lines"])
    entry["allocations"] = json.loads(row["allocations"])
    entry["reversal"] = None if row["reversed_at"] is None else {
        "at": row["reversed_at"], "reason": row["reversal_reason"], "by": row["reversed_by"]}
    return entry
