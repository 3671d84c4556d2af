"""Reports (A1-A3) from read models only: campaign report, redemption detail, rejections, customer 360.

Dates are the merchant's local days (its time zone), both ends included. Every answer waits for
`min_position` in each read model it reads, like every other query.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.campaign import Campaign
from domain.clock import iso
from domain.errors import InvalidInput, NotFound
from infrastructure.database import Tx
from projections.customer_report import customer_summary
from projections.points_ledger import balances
from projections.queries import QueryService
from projections.redemption_log import LogFilter, redemption_log
from projections.report_queries import (
    Days,
    campaign_report,
    campaign_rows,
    family,
    main_campaigns,
    rejection_report,
    zone,
)
from projections.wallet import wallet

REPORT = "campaign_report"
LOG = "redemption_log"
EXPORT_PAGE = 1000


@dataclass(frozen=True)
class RedemptionQuery:
    """A2's filters. `campaign` is a key; with `rollup`, its sub-campaigns' redemptions too."""

    campaign: str | None = None
    rollup: bool = False
    customer_id: str | None = None
    store_id: str | None = None
    channel: str | None = None
    status: str | None = None
    since: date | None = None
    until: date | None = None


class ReportService:
    """Answers A1-A3 with small queries over the read models, never over the event streams."""

    def __init__(self, queries: QueryService) -> None:
        self.queries = queries
        self.db = queries.db

    def campaign_report(self, merchant_id: str, key: str, *, rollup: bool = True,
                        since: date | None = None, until: date | None = None,
                        min_position: int | None = None) -> dict[str, Any]:
        """A1: one campaign (rolled up with its sub-campaigns) over a range of local days."""
        days = _days(since, until)
        self.queries.await_position(min_position, REPORT)
        with self.db.transaction() as tx:
            report = campaign_report(tx, merchant_id, str(Campaign.id_for(merchant_id, key)), rollup, days)
            timezone = zone(tx, merchant_id)
        if report is None:
            raise NotFound("no such campaign", code="campaign_not_found")
        return {**report, "rollup": rollup, "timezone": timezone, "since": days.since, "until": days.until}

    def campaigns(self, merchant_id: str, *, since: date | None = None, until: date | None = None,
                  limit: int = 50, after: str | None = None, min_position: int | None = None
                  ) -> dict[str, Any]:
        """A1 for every main campaign, each rolled up with its sub-campaigns; by key, paged."""
        days = _days(since, until)
        self.queries.await_position(min_position, REPORT)
        with self.db.transaction() as tx:
            items = main_campaigns(tx, merchant_id, days, limit + 1, after)
            timezone = zone(tx, merchant_id)
        more = len(items) > limit
        items = items[:limit]
        return {"items": items, "next_cursor": items[-1]["campaign"]["key"] if more else None,
                "timezone": timezone, "since": days.since, "until": days.until}

    def rejections(self, merchant_id: str, key: str | None = None, *, rollup: bool = True,
                   since: date | None = None, until: date | None = None,
                   min_position: int | None = None) -> dict[str, Any]:
        """Rejected attempts by reason with counts: one campaign (and its subs) or all of them."""
        days = _days(since, until)
        self.queries.await_position(min_position, REPORT)
        with self.db.transaction() as tx:
            ids = None
            if key is not None:
                ids = [c["campaign_id"] for c in
                       family(tx, merchant_id, str(Campaign.id_for(merchant_id, key)), rollup)]
                if not ids:
                    raise NotFound("no such campaign", code="campaign_not_found")
            report = rejection_report(tx, merchant_id, ids, days)
            timezone = zone(tx, merchant_id)
        return {**report, "campaign": key, "rollup": rollup if key else None, "timezone": timezone,
                "since": days.since, "until": days.until}

    def redemption_filter(self, merchant_id: str, q: RedemptionQuery, min_position: int | None = None
                          ) -> LogFilter:
        """The log filter for `q`, once the read models reached `min_position` (check before streaming)."""
        _days(q.since, q.until)
        self.queries.await_position(min_position, LOG, REPORT)
        f = LogFilter(customer_id=q.customer_id, store_id=q.store_id, channel=q.channel, status=q.status)
        with self.db.transaction() as tx:
            timezone = ZoneInfo(zone(tx, merchant_id))
            if q.campaign is not None:
                campaign_id = str(Campaign.id_for(merchant_id, q.campaign))
                ids = [c["campaign_id"] for c in family(tx, merchant_id, campaign_id, q.rollup)]
                f = replace(f, campaign_ids=tuple(ids or [campaign_id]))
        return replace(f, since=_instant(q.since, timezone, 0), until=_instant(q.until, timezone, 1))

    def redemptions(self, merchant_id: str, q: RedemptionQuery, *, limit: int, before: int | None,
                    min_position: int | None = None) -> dict[str, Any]:
        """A2: newest first, with what was bought, discount, customer, store, channel, costs."""
        f = self.redemption_filter(merchant_id, q, min_position)
        with self.db.transaction() as tx:
            items = _with_keys(tx, merchant_id, redemption_log(tx, merchant_id, f, limit + 1, before))
        more = len(items) > limit
        items = items[:limit]
        return {"items": items, "next_cursor": str(items[-1]["position"]) if more else None}

    def iter_redemptions(self, merchant_id: str, f: LogFilter, page: int = EXPORT_PAGE
                         ) -> Iterator[dict[str, Any]]:
        """Every matching row, newest first, read a page per short transaction (for exports)."""
        before: int | None = None
        while True:
            with self.db.transaction() as tx:
                rows = _with_keys(tx, merchant_id, redemption_log(tx, merchant_id, f, page, before))
            yield from rows
            if len(rows) < page:
                return
            before = int(rows[-1]["position"])

    def customer(self, merchant_id: str, customer_id: str, *, history: int = 10, favourites: int = 5,
                 min_position: int | None = None) -> dict[str, Any]:
        """A3: wallet, points balances, recent redemptions, favourite campaigns, discount received."""
        self.queries.await_position(min_position, "wallet", "points_ledger", LOG, REPORT, "customer_facts")
        with self.db.transaction() as tx:
            vouchers = wallet(tx, merchant_id, customer_id, self.queries.clock())
            points = balances(tx, merchant_id, customer_id)
            summary = customer_summary(tx, merchant_id, customer_id, favourites)
            recent = _with_keys(tx, merchant_id, redemption_log(
                tx, merchant_id, LogFilter(customer_id=customer_id), history + 1, None))
        more = len(recent) > history
        recent = recent[:history]
        return {"customer_id": customer_id, **summary, "wallet": vouchers, "points": points,
                "redemptions": {"items": recent,
                                "next_cursor": str(recent[-1]["position"]) if more else None}}


def _days(since: date | None, until: date | None) -> Days:
    if since is not None and until is not None and since > until:
        raise InvalidInput("since must not be after until", code="invalid_date_range")
    return Days(since, until)


def _instant(day: date | None, timezone: ZoneInfo, days_after: int) -> str | None:
    """The UTC instant the local day (plus `days_after`) starts at, as log text."""
    if day is None:
        return None
    return iso(datetime.combine(day + timedelta(days=days_after), time(0), tzinfo=timezone))


def _with_keys(tx: Tx, merchant_id: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each log entry with its campaign's key (None for unknown codes)."""
    rows = campaign_rows(tx, merchant_id, {e["campaign_id"] for e in entries if e["campaign_id"]})
    for entry in entries:
        row = rows.get(entry["campaign_id"] or "")
        entry["campaign_key"] = row["key"] if row else None
    return entries
