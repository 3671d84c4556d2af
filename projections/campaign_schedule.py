"""When campaigns start and end (C3), and their stock against a low-stock threshold (C4).

The scheduler's jobs find due campaigns here; they act on the aggregates, which decide.
"""

from __future__ import annotations

from typing import Any

from domain.campaign import Campaign
from domain.clock import iso
from domain.stock_watch import StockWatch
from infrastructure.database import Tx
from projections.base import Handler, Projection


def _status_events() -> dict[type, str]:
    names = {"Submitted": "pending_review", "Approved": "approved", "Rejected": "rejected",
             "Scheduled": "scheduled", "Activated": "active", "Ended": "ended", "Disabled": "disabled",
             "Revised": "draft"}
    return {getattr(Campaign, n): status for n, status in names.items() if hasattr(Campaign, n)}


class CampaignSchedule(Projection):
    name = "campaign_schedule"
    tables = {
        "campaign_schedule": (
            "merchant_id TEXT NOT NULL, campaign_id TEXT NOT NULL PRIMARY KEY, key TEXT NOT NULL, "
            "status TEXT NOT NULL, starts_at TEXT, ends_at TEXT, stock BIGINT, issued BIGINT NOT NULL, "
            "low_stock_threshold BIGINT NOT NULL, low_stock_alerted BIGINT NOT NULL, updated_at TEXT NOT NULL"
        ),
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS campaign_schedule_starts ON campaign_schedule (status, starts_at)",
        "CREATE INDEX IF NOT EXISTS campaign_schedule_ends ON campaign_schedule (status, ends_at)",
        "CREATE INDEX IF NOT EXISTS campaign_schedule_key ON campaign_schedule (merchant_id, key)",
    )

    def handlers(self) -> dict[type, Handler]:
        handlers: dict[type, Handler] = {
            Campaign.Created: self._created,
            Campaign.VouchersIssued: self._issued,
            StockWatch.ThresholdSet: self._threshold,
            StockWatch.Alerted: lambda e, tx, _: self._alert(tx, e, 1),
            StockWatch.Cleared: lambda e, tx, _: self._alert(tx, e, 0),
        }
        for cls, status in _status_events().items():
            handlers[cls] = self._status_handler(status)
        return handlers

    def _created(self, e: Campaign.Created, tx: Tx, _: int) -> None:
        terms = e.terms
        tx.execute("INSERT INTO campaign_schedule VALUES (?,?,?,'draft',?,?,?,0,0,0,?)",
                   (e.merchant_id, str(e.originator_id), e.key, iso(terms.get("starts_at")),
                    iso(terms.get("ends_at")), terms.get("stock"), iso(e.timestamp)))

    def _status_handler(self, status: str) -> Handler:
        def handle(e: Any, tx: Tx, _: int) -> None:
            self._status(tx, e, status)
        return handle

    def _status(self, tx: Tx, e: Any, status: str) -> None:
        terms = getattr(e, "terms", None)
        if isinstance(terms, dict):  # a revision: new dates and stock, back to draft
            tx.execute("UPDATE campaign_schedule SET starts_at=?, ends_at=?, stock=? WHERE campaign_id=?",
                       (iso(terms.get("starts_at")), iso(terms.get("ends_at")), terms.get("stock"),
                        str(e.originator_id)))
        tx.execute("UPDATE campaign_schedule SET status=?, updated_at=? WHERE campaign_id=?",
                   (status, iso(e.timestamp), str(e.originator_id)))

    def _issued(self, e: Campaign.VouchersIssued, tx: Tx, _: int) -> None:
        tx.execute("UPDATE campaign_schedule SET issued = issued + ?, updated_at=? WHERE campaign_id=?",
                   (e.count, iso(e.timestamp), str(e.originator_id)))

    def _threshold(self, e: StockWatch.ThresholdSet, tx: Tx, _: int) -> None:
        tx.execute("UPDATE campaign_schedule SET low_stock_threshold=? WHERE campaign_id=?",
                   (e.threshold, str(e.campaign_id)))

    def _alert(self, tx: Tx, e: Any, alerted: int) -> None:
        tx.execute("UPDATE campaign_schedule SET low_stock_alerted=? WHERE campaign_id=?",
                   (alerted, str(e.campaign_id)))
