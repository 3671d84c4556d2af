"""Campaign report (A1): figures pre-aggregated per campaign, local day and month, store, channel.

Each event adds to a few cells, so a report over any range of days is a small GROUP BY over
them, never over redemptions. A cell is (grain, dimension, campaign, period, value): grain `d`
(period: a local day, ISO), `w` (an ISO week, by its Monday) or `m` (a month, YYYY-MM);
dimension `total` (value ''), `store` and `channel` (value '' when the attempt named none), and
`reason` (a rejection reason; only its `rejected` figure counts). A range is read as its whole
months, then whole weeks, then single days, so what a report reads grows with the stores and the
months it spans (plus at most a few weeks and days at each end), not with redemptions.

Days are the merchant's local days. Reversals and returns count on the day they happened, with
the store and channel of the redemption they correct (hence the small redemption lookup table).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.campaign import Campaign
from domain.claims import CustomerClaims
from domain.merchant import Merchant
from domain.redemption import Redemption
from domain.voucher import Voucher
from infrastructure.database import Tx
from projections.base import Handler, Projection
from projections.campaign_stats import STATUS_EVENTS

FIGURES = ("issued", "assigned", "claimed", "redeemed", "reversed", "returned", "rejected",
           "discount", "cost_group", "cost_store")
_FIGURE_COLUMNS = ", ".join(f"{f} BIGINT NOT NULL" for f in FIGURES)
CELL_KEY = ("merchant_id", "grain", "dim", "campaign_id", "period", "value")
CELL_UPSERT = (
    f"INSERT INTO campaign_report_cells ({', '.join((*CELL_KEY, *FIGURES))}) "
    f"VALUES ({', '.join('?' * (len(CELL_KEY) + len(FIGURES)))}) "
    f"ON CONFLICT ({', '.join(CELL_KEY)}) DO UPDATE SET "
    + ", ".join(f"{f} = campaign_report_cells.{f} + excluded.{f}" for f in FIGURES)
)
REJECTED_ONCE = tuple(int(f == "rejected") for f in FIGURES)
# On SQLite the cells are stored in key order: one campaign's cells lie together on few pages.
CLUSTERED = ("campaign_report_cells",)


class CampaignReport(Projection):
    name = "campaign_report"
    tables = {
        "campaign_report_campaigns": (
            "merchant_id TEXT NOT NULL, campaign_id TEXT NOT NULL, key TEXT NOT NULL, "
            "name TEXT NOT NULL, status TEXT NOT NULL, currency TEXT NOT NULL, parent_id TEXT, "
            "stock BIGINT, issued BIGINT NOT NULL, PRIMARY KEY (merchant_id, campaign_id)"
        ),
        "campaign_report_cells": (
            "merchant_id TEXT NOT NULL, campaign_id TEXT NOT NULL, grain TEXT NOT NULL, dim TEXT NOT NULL, "
            f"period TEXT NOT NULL, value TEXT NOT NULL, {_FIGURE_COLUMNS}, "
            "PRIMARY KEY (merchant_id, grain, dim, campaign_id, period, value)"
        ),
        # what a reversal needs and its event lacks: merchant, store, channel of the redemption
        "campaign_report_redemptions": (
            "redemption_id TEXT NOT NULL PRIMARY KEY, merchant_id TEXT NOT NULL, "
            "campaign_id TEXT NOT NULL, store_id TEXT NOT NULL, channel TEXT NOT NULL"
        ),
        "campaign_report_claimants": (
            "claims_id TEXT NOT NULL PRIMARY KEY, merchant_id TEXT NOT NULL, campaign_id TEXT NOT NULL"
        ),
        # merchants whose time zone is not UTC (the rest fall back to UTC)
        "campaign_report_zones": "merchant_id TEXT NOT NULL PRIMARY KEY, timezone TEXT NOT NULL",
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS campaign_report_campaigns_parent "
        "ON campaign_report_campaigns (merchant_id, parent_id, key)",
    )

    def __init__(self) -> None:
        super().__init__()
        # Facts that never change once recorded, remembered rather than read again.
        self._zones: dict[str, str] = {}
        self._merchant_of: dict[str, str] = {}

    def create_tables(self, tx: Tx) -> None:
        for table, columns in self.tables.items():
            clustered = " WITHOUT ROWID" if tx.dialect == "sqlite" and table in CLUSTERED else ""
            tx.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns}){clustered}")
        for index in self.indexes:
            tx.execute(index)

    def handlers(self) -> dict[type, Handler]:
        handlers: dict[type, Handler] = {
            Merchant.Registered: self._merchant,
            Campaign.Created: self._created,
            Campaign.Revised: self._revised,
            Campaign.VouchersIssued: self._vouchers_issued,
            Voucher.Issued: self._voucher_issued,
            Voucher.Assigned: lambda e, tx, _: self._campaign_cells(tx, e, e.campaign_id, assigned=1),
            CustomerClaims.Started: self._claims_started,
            CustomerClaims.Claimed: self._claimed,
            Redemption.Recorded: self._recorded,
            Redemption.Rejected: self._rejected,
            Redemption.Reversed: self._reversed,
            Redemption.PartiallyReversed: self._partly_reversed,
        }
        for event_class in STATUS_EVENTS:
            handlers[event_class] = self._status
        return handlers

    # -- merchants and campaigns ----------------------------------------------------------------

    def _merchant(self, e: Merchant.Registered, tx: Tx, _: int) -> None:
        self._zones[e.merchant_id] = e.timezone
        if e.timezone != "UTC":
            tx.execute("INSERT INTO campaign_report_zones VALUES (?,?)", (e.merchant_id, e.timezone))

    def _created(self, e: Campaign.Created, tx: Tx, _: int) -> None:
        parent = getattr(e, "parent_id", None)
        tx.execute("INSERT INTO campaign_report_campaigns VALUES (?,?,?,?,'draft',?,?,?,0)",
                   (e.merchant_id, str(e.originator_id), e.key, e.terms["name"], e.terms["currency"],
                    None if parent is None else str(parent), e.terms.get("stock")))
        self._merchant_of[str(e.originator_id)] = e.merchant_id

    def _revised(self, e: Campaign.Revised, tx: Tx, _: int) -> None:
        tx.execute("UPDATE campaign_report_campaigns SET name=?, currency=?, stock=?, status='draft' "
                   "WHERE campaign_id=?",
                   (e.terms["name"], e.terms["currency"], e.terms.get("stock"), str(e.originator_id)))

    def _status(self, e: Any, tx: Tx, _: int) -> None:
        tx.execute("UPDATE campaign_report_campaigns SET status=? WHERE campaign_id=?",
                   (STATUS_EVENTS[type(e)], str(e.originator_id)))

    def _vouchers_issued(self, e: Campaign.VouchersIssued, tx: Tx, _: int) -> None:
        tx.execute("UPDATE campaign_report_campaigns SET issued = issued + ? WHERE campaign_id=?",
                   (e.count, str(e.originator_id)))
        self._campaign_cells(tx, e, e.originator_id, issued=e.count)

    def _voucher_issued(self, e: Voucher.Issued, tx: Tx, _: int) -> None:
        if e.holder is not None:  # issued straight to a customer
            self._campaign_cells(tx, e, e.campaign_id, assigned=1)

    # -- claims ---------------------------------------------------------------------------------

    @staticmethod
    def _claims_started(e: CustomerClaims.Started, tx: Tx, _: int) -> None:
        tx.execute("INSERT INTO campaign_report_claimants VALUES (?,?,?)",
                   (str(e.originator_id), e.merchant_id, str(e.campaign_id)))

    def _claimed(self, e: CustomerClaims.Claimed, tx: Tx, _: int) -> None:
        if e.method != "customer":  # pushes and links are counted as assignments
            return
        row = tx.one("SELECT merchant_id, campaign_id FROM campaign_report_claimants WHERE claims_id=?",
                     (str(e.originator_id),))
        if row is not None:  # cannot be missing: Started is the stream's first event
            self._add(tx, row["merchant_id"], row["campaign_id"], e.local_day, "", e.channel or "",
                      claimed=1)

    # -- redemptions ----------------------------------------------------------------------------

    def _recorded(self, e: Redemption.Recorded, tx: Tx, _: int) -> None:
        store, channel = e.store_id or "", e.channel or ""
        tx.execute("INSERT INTO campaign_report_redemptions VALUES (?,?,?,?,?)",
                   (str(e.originator_id), e.merchant_id, str(e.campaign_id), store, channel))
        group, store_cost = costs_of(e.costs, e.discount)
        self._add(tx, e.merchant_id, str(e.campaign_id), self._day(tx, e.merchant_id, e.timestamp),
                  store, channel, redeemed=1, discount=e.discount, cost_group=group, cost_store=store_cost)

    def _rejected(self, e: Redemption.Rejected, tx: Tx, _: int) -> None:
        if e.campaign_id is None:
            return  # unknown codes belong to no campaign; the redemption log keeps them
        reasons = tuple(dict.fromkeys(r["code"] for r in e.reasons))
        self._write(tx, e.merchant_id, str(e.campaign_id), self._day(tx, e.merchant_id, e.timestamp),
                    e.store_id or "", e.channel or "", {"rejected": 1}, reasons)

    def _reversed(self, e: Redemption.Reversed, tx: Tx, _: int) -> None:
        group, store_cost = costs_of(e.costs, e.discount)
        self._correction(tx, e, reversed=1, discount=-e.discount, cost_group=-group, cost_store=-store_cost)

    def _partly_reversed(self, e: Redemption.PartiallyReversed, tx: Tx, _: int) -> None:
        self._correction(tx, e, returned=1, discount=e.discount_after - e.discount_before,
                         cost_group=-e.costs_reversed.get("group", 0),
                         cost_store=-e.costs_reversed.get("store", 0))

    def _correction(self, tx: Tx, e: Any, **figures: int) -> None:
        row = tx.one("SELECT * FROM campaign_report_redemptions WHERE redemption_id=?",
                     (str(e.originator_id),))
        if row is None:  # cannot be: a redemption is recorded before it is reversed
            return
        self._add(tx, row["merchant_id"], row["campaign_id"], self._day(tx, row["merchant_id"], e.timestamp),
                  row["store_id"], row["channel"], **figures)

    # -- cells ----------------------------------------------------------------------------------

    def _campaign_cells(self, tx: Tx, e: Any, campaign_id: Any, **figures: int) -> None:
        """Figures of a campaign's own (store-less, channel-less) events: issues and assignments."""
        merchant = self._merchant_of.get(str(campaign_id))
        if merchant is None:
            row = tx.one("SELECT merchant_id FROM campaign_report_campaigns WHERE campaign_id=?",
                         (str(campaign_id),))
            if row is None:
                return  # cannot be: a campaign's events follow its creation
            merchant = self._merchant_of[str(campaign_id)] = row["merchant_id"]
        self._add(tx, merchant, str(campaign_id), self._day(tx, merchant, e.timestamp), "", "", **figures)

    def _add(self, tx: Tx, merchant_id: str, campaign_id: str, day: str, store: str, channel: str,
             **figures: int) -> None:
        self._write(tx, merchant_id, campaign_id, day, store, channel, figures, ())

    @staticmethod
    def _write(tx: Tx, merchant_id: str, campaign_id: str, day: str, store: str, channel: str,
               figures: dict[str, int], reasons: tuple[str, ...]) -> None:
        """Add `figures` to the campaign's cells of the day, its week and month; count the reasons."""
        values = tuple(figures.get(f, 0) for f in FIGURES)
        rows = []
        monday = (date.fromisoformat(day) - timedelta(days=date.fromisoformat(day).weekday())).isoformat()
        for grain, period in (("d", day), ("w", monday), ("m", day[:7])):
            rows += [(merchant_id, grain, dim, campaign_id, period, value, *values)
                     for dim, value in (("total", ""), ("store", store), ("channel", channel))]
            rows += [(merchant_id, grain, "reason", campaign_id, period, reason, *REJECTED_ONCE)
                     for reason in reasons]
        tx.executemany(CELL_UPSERT, rows)

    def _day(self, tx: Tx, merchant_id: str, at: datetime) -> str:
        return at.astimezone(ZoneInfo(self.zone(tx, merchant_id))).date().isoformat()

    def zone(self, tx: Tx, merchant_id: str) -> str:
        zone = self._zones.get(merchant_id)
        if zone is None:
            row = tx.one("SELECT timezone FROM campaign_report_zones WHERE merchant_id=?", (merchant_id,))
            if row is None:
                return "UTC"  # not cached: the merchant may yet register with another zone
            zone = self._zones[merchant_id] = str(row["timezone"])
        return zone


def costs_of(costs: dict[str, int] | None, discount: int) -> tuple[int, int]:
    """(group, store); events from before costs were split: the group paid it all."""
    if not costs:
        return discount, 0
    return costs.get("group", 0), costs.get("store", 0)
