"""Campaign stock and counts (C4, A1): issued, assigned, redeemed, reversed, rejected, remaining."""

from __future__ import annotations

from typing import Any

from domain.campaign import Campaign
from domain.clock import iso
from domain.redemption import Redemption
from domain.voucher import Voucher
from infrastructure.database import Tx
from projections.base import Handler, Projection

COUNTERS = ("issued", "assigned", "redeemed", "reversed", "rejected")
STATUS_EVENTS = {
    Campaign.Submitted: "pending_review", Campaign.Approved: "approved",
    Campaign.Rejected: "rejected", Campaign.Activated: "active",
    Campaign.Ended: "ended", Campaign.Disabled: "disabled",
}


class CampaignStats(Projection):
    name = "campaign_stats"
    version = 4  # 2: cost by bearer; 3: partial reversals; 4: main campaigns (C1)
    tables = {
        "campaign_stats": (
            "merchant_id TEXT NOT NULL, campaign_id TEXT NOT NULL, key TEXT NOT NULL, "
            "name TEXT NOT NULL, status TEXT NOT NULL, currency TEXT NOT NULL, stock BIGINT, "
            "issued BIGINT NOT NULL, assigned BIGINT NOT NULL, redeemed BIGINT NOT NULL, "
            "reversed BIGINT NOT NULL, rejected BIGINT NOT NULL, discount_total BIGINT NOT NULL, "
            "cost_group BIGINT NOT NULL, cost_store BIGINT NOT NULL, parent_id TEXT, "
            "updated_at TEXT NOT NULL, PRIMARY KEY (merchant_id, campaign_id)"
        ),
        "campaign_rejections": (
            "merchant_id TEXT NOT NULL, campaign_id TEXT NOT NULL, reason TEXT NOT NULL, "
            "count BIGINT NOT NULL, PRIMARY KEY (merchant_id, campaign_id, reason)"
        ),
    }

    def handlers(self) -> dict[type, Handler]:
        handlers: dict[type, Handler] = {
            Campaign.Created: self._created,
            Campaign.Revised: self._revised,
            Campaign.VouchersIssued: lambda e, tx, _: self._bump(tx, e.originator_id, e, issued=e.count),
            Voucher.Issued: self._voucher_issued,
            Voucher.Assigned: lambda e, tx, _: self._bump(tx, e.campaign_id, e, assigned=1),
            Redemption.Recorded: lambda e, tx, _: self._bump(
                tx, e.campaign_id, e, redeemed=1, discount_total=e.discount, **_costs(e, 1)),
            Redemption.Reversed: lambda e, tx, _: self._bump(
                tx, e.campaign_id, e, reversed=1, discount_total=-e.discount, **_costs(e, -1)),
            Redemption.Rejected: self._rejected,
            Redemption.PartiallyReversed: lambda e, tx, _: self._bump(
                tx, e.campaign_id, e, discount_total=e.discount_after - e.discount_before,
                cost_group=-e.costs_reversed.get("group", 0), cost_store=-e.costs_reversed.get("store", 0)),
        }
        for event_class in STATUS_EVENTS:
            handlers[event_class] = self._status
        return handlers

    def _created(self, e: Campaign.Created, tx: Tx, _: int) -> None:
        terms = e.terms
        tx.execute(
            "INSERT INTO campaign_stats VALUES (?,?,?,?,?,?,?,0,0,0,0,0,0,0,0,?,?)",
            (e.merchant_id, str(e.originator_id), e.key, terms["name"], "draft",
             terms["currency"], terms.get("stock"), _s(getattr(e, "parent_id", None)), iso(e.timestamp)),
        )

    def _revised(self, e: Campaign.Revised, tx: Tx, _: int) -> None:
        tx.execute(
            "UPDATE campaign_stats SET name=?, currency=?, stock=?, status='draft', updated_at=? "
            "WHERE campaign_id=?",
            (e.terms["name"], e.terms["currency"], e.terms.get("stock"), iso(e.timestamp),
             str(e.originator_id)),
        )

    def _status(self, e: Any, tx: Tx, _: int) -> None:
        tx.execute("UPDATE campaign_stats SET status=?, updated_at=? WHERE campaign_id=?",
                   (STATUS_EVENTS[type(e)], iso(e.timestamp), str(e.originator_id)))

    def _voucher_issued(self, e: Voucher.Issued, tx: Tx, _: int) -> None:
        if e.holder is not None:  # issued straight to a customer
            self._bump(tx, e.campaign_id, e, assigned=1)

    def _rejected(self, e: Redemption.Rejected, tx: Tx, _: int) -> None:
        if e.campaign_id is None:
            return  # unknown codes belong to no campaign; the redemption log keeps them
        self._bump(tx, e.campaign_id, e, rejected=1)
        for reason in e.reasons:
            tx.execute(
                "INSERT INTO campaign_rejections VALUES (?,?,?,1) ON CONFLICT "
                "(merchant_id, campaign_id, reason) DO UPDATE SET count = campaign_rejections.count + 1",
                (e.merchant_id, str(e.campaign_id), reason["code"]),
            )

    @staticmethod
    def _bump(tx: Tx, campaign_id: Any, e: Any, **deltas: int) -> None:
        sets = ", ".join(f"{column} = {column} + ?" for column in deltas)
        tx.execute(f"UPDATE campaign_stats SET {sets}, updated_at=? WHERE campaign_id=?",
                   (*deltas.values(), iso(e.timestamp), str(campaign_id)))


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _costs(e: Any, sign: int) -> dict[str, int]:
    costs = getattr(e, "costs", None) or {"group": e.discount, "store": 0}
    return {"cost_group": sign * costs.get("group", 0), "cost_store": sign * costs.get("store", 0)}


def stats_view(row: dict[str, Any], rejections: dict[str, int]) -> dict[str, Any]:
    stock = row["stock"]
    return {
        "campaign_id": row["campaign_id"], "key": row["key"], "name": row["name"],
        "status": row["status"], "currency": row["currency"], "stock": stock,
        **{c: int(row[c]) for c in COUNTERS},
        "remaining": None if stock is None else int(stock) - int(row["issued"]),
        "net_redeemed": int(row["redeemed"]) - int(row["reversed"]),
        "discount_total": int(row["discount_total"]),
        "cost_by_bearer": {"group": int(row["cost_group"]), "store": int(row["cost_store"])},
        "rejections_by_reason": rejections,
        "updated_at": row["updated_at"],
    }


def campaign_stats(tx: Tx, merchant_id: str, campaign_id: str, rollup: bool = False
                   ) -> dict[str, Any] | None:
    """One campaign's figures; with `rollup`, summed with its sub-campaigns' (C1)."""
    row = tx.one("SELECT * FROM campaign_stats WHERE merchant_id=? AND campaign_id=?",
                 (merchant_id, campaign_id))
    if row is None:
        return None
    ids = [campaign_id]
    if rollup:
        ids += [r["campaign_id"] for r in tx.query(
            "SELECT campaign_id FROM campaign_stats WHERE merchant_id=? AND parent_id=?",
            (merchant_id, campaign_id))]
        subs = tx.query(f"SELECT * FROM campaign_stats WHERE merchant_id=? AND campaign_id IN "
                        f"({','.join('?' * (len(ids) - 1))})", (merchant_id, *ids[1:])) if ids[1:] else []
        row = dict(row)
        for sub_row in subs:
            for column in (*COUNTERS, "discount_total", "cost_group", "cost_store"):
                row[column] = int(row[column]) + int(sub_row[column])
            if row["stock"] is not None:
                row["stock"] = None if sub_row["stock"] is None else int(row["stock"]) + int(sub_row["stock"])
    marks = ",".join("?" * len(ids))
    rejections: dict[str, int] = {}
    for r in tx.query(f"SELECT reason, count FROM campaign_rejections WHERE merchant_id=? AND "
                      f"campaign_id IN ({marks}) ORDER BY reason", (merchant_id, *ids)):
        rejections[r["reason"]] = rejections.get(r["reason"], 0) + int(r["count"])
    view = stats_view(row, rejections)
    view["sub_campaigns"] = len(ids) - 1
    return view


def list_campaigns(tx: Tx, merchant_id: str, status: str | None, limit: int, after: str | None
                   ) -> list[dict[str, Any]]:
    sql, params = "SELECT * FROM campaign_stats WHERE merchant_id=?", [merchant_id]
    if status:
        sql, params = sql + " AND status=?", [*params, status]
    if after:
        sql, params = sql + " AND key > ?", [*params, after]
    rows = tx.query(sql + " ORDER BY key LIMIT ?", [*params, limit])
    return [stats_view(row, {}) for row in rows]
