"""The campaign report benchmark's data: synthetic attempts, and the rows the projections' handlers
would write for them, computed in bulk and checked against the handlers on a sample."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg
from eventsourcing.utils import get_topic

from application.commands import Actor
from domain.campaign import Campaign
from domain.clock import iso
from domain.merchant import Merchant
from domain.redemption import Redemption
from infrastructure.bootstrap import Container
from infrastructure.database import MemoryDatabase, Tx
from projections.base import Projection
from projections.campaign_report import CELL_KEY, FIGURES, CampaignReport
from projections.redemption_log import COLUMNS, RedemptionLog

MERCHANT, ZONE = "bench", "Europe/Amsterdam"
ACTOR = Actor(merchant_id=MERCHANT, role="admin", ref="bench")
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS, MAINS, SUBS, STORES = 90, 20, 4, 50
REASONS = ("voucher_already_redeemed", "min_spend_not_met", "campaign_ended", "currency_mismatch")
LOG_COLUMNS = (*COLUMNS, "reversed_at", "reversal_reason", "reversed_by")
SAMPLE = 4000


class Attempt(NamedTuple):
    position: int
    at: datetime
    rid: UUID
    campaign: str
    store: str | None
    channel: str
    customer: str
    amount: int
    discount: int
    group: int
    reasons: tuple[str, ...]  # () for a redemption
    fate: tuple[str, datetime, int, int] | None  # ("reversed" | "returned", when, discount, group after)


def campaigns(c: Container) -> list[str]:
    """MAINS main campaigns, each with SUBS sub-campaigns, through the services (real events)."""
    c.access.register_merchant(MERCHANT, timezone=ZONE)
    ids = []
    for m in range(MAINS):
        for s in range(SUBS + 1):
            key = f"main{m:02d}" if s == 0 else f"main{m:02d}-sub{s}"
            c.campaigns.create_campaign(ACTOR, key, {
                "name": key, "currency": "EUR", "reward": {"type": "percent_off", "basis_points": 1000},
                "rules": {"cost_bearer": "split", "group_share_bp": 8000}},
                parent=None if s == 0 else f"main{m:02d}")
            for action in ("submit", "approve", "activate"):
                c.campaigns.change_status(ACTOR, key, action)
            ids.append(str(Campaign.id_for(MERCHANT, key)))
    c.projections.catch_up()
    return ids


def attempts(campaign_ids: list[str], redemptions: int, first_position: int) -> Iterator[Attempt]:
    """Redemptions in time order, one rejected attempt after every 20th; fates decided up front."""
    rng, span = random.Random(7), DAYS * 86400
    position = first_position
    for i in range(redemptions):
        at = START + timedelta(seconds=i * span / redemptions)
        online = rng.random() < 0.3
        store = None if online else f"S{rng.randrange(STORES):02d}"
        channel, customer = "online" if online else "offline", f"c{rng.randrange(200_000):06d}"
        campaign, amount = rng.choice(campaign_ids), rng.randrange(1000, 20000)
        discount = amount // 10
        fate, roll = None, rng.random()
        if roll < 0.03:
            later = at + timedelta(days=rng.randrange(1, 5), minutes=rng.randrange(600))
            fate = ("reversed", later, 0, 0) if roll < 0.02 else ("returned", later, discount // 2,
                                                                   discount // 2 * 8 // 10)
        yield Attempt(position, at, UUID(int=i + 1), campaign, store, channel, customer, amount, discount,
                      discount * 8 // 10, (), fate)
        position += 1
        if i % 20 == 0:
            reasons = (REASONS[rng.randrange(len(REASONS))],)
            yield Attempt(position, at, UUID(int=(1 << 64) + i), campaign, store, channel, customer,
                          amount, 0, 0, reasons, None)
            position += 1


def _order(a: Attempt) -> dict[str, Any]:
    return {"amount": a.amount, "currency": "EUR", "id": f"o{a.rid.int}",
            "lines": [{"sku": f"sku-{a.rid.int % 50}", "quantity": 1, "unit_price": a.amount,
                       "category": None}]}


def _code(a: Attempt) -> str:
    return f"B{a.rid.int:012d}"


def _allocations(a: Attempt) -> list[dict[str, Any]]:
    return [{"line": 0, "sku": f"sku-{a.rid.int % 50}", "amount": a.discount}]


class BulkRows:
    """What the handlers would write for a run of attempts, computed without them."""

    def __init__(self) -> None:
        self.zone = ZoneInfo(ZONE)
        self.cells: dict[tuple[str, str, str, str, str], list[int]] = {}  # CELL_KEY after the merchant
        self._local_days: dict[datetime, str] = {}

    def day(self, at: datetime) -> str:
        hour = at.replace(minute=0, second=0, microsecond=0)  # the zone moves on whole hours
        day = self._local_days.get(hour)
        if day is None:
            day = self._local_days[hour] = hour.astimezone(self.zone).date().isoformat()
        return day

    def add(self, campaign: str, day: str, store: str | None, channel: str, figures: dict[int, int],
            reasons: tuple[str, ...] = ()) -> None:
        monday = (date.fromisoformat(day) - timedelta(days=date.fromisoformat(day).weekday())).isoformat()
        for grain, period in (("d", day), ("w", monday), ("m", day[:7])):
            keys = [(grain, "total", campaign, period, ""), (grain, "store", campaign, period, store or ""),
                    (grain, "channel", campaign, period, channel)]
            for key in keys:
                row = self.cells.setdefault(key, [0] * len(FIGURES))
                for n, amount in figures.items():
                    row[n] += amount
            for reason in reasons:
                self.cells.setdefault((grain, "reason", campaign, period, reason), [0] * len(FIGURES))[
                    REJECTED] += 1

    def rows(self, a: Attempt) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
        """(redemption_log row, lookup row); the cells are accumulated."""
        day, accepted, sku = self.day(a.at), not a.reasons, a.rid.int % 50
        store_cost = a.discount - a.group
        # the JSON `dumps` writes, spelled out (the sample check compares them)
        lines = f'[{{"category":null,"quantity":1,"sku":"sku-{sku}","unit_price":{a.amount}}}]'
        allocations = f'[{{"amount":{a.discount},"line":0,"sku":"sku-{sku}"}}]' if accepted else "[]"
        reasons = "[" + ",".join(f'"{r}"' for r in a.reasons) + "]"
        status = "redeemed" if accepted else "rejected"
        discount, group, store_part = a.discount, a.group, store_cost
        reversal: tuple[str | None, str | None, str | None] = (None, None, None)
        if not accepted:
            self.add(a.campaign, day, a.store, a.channel, {REJECTED: 1}, a.reasons)
        else:
            self.add(a.campaign, day, a.store, a.channel, {REDEEMED: 1, DISCOUNT: a.discount,
                                                           GROUP: a.group, STORE: store_cost})
        if a.fate is not None:
            kind, at, after, after_group = a.fate
            if kind == "reversed":
                status, reversal = "reversed", (iso(at), "bench", "bench")
                self.add(a.campaign, self.day(at), a.store, a.channel, {
                    REVERSED: 1, DISCOUNT: -a.discount, GROUP: -a.group, STORE: -store_cost})
            else:
                status = "partially_reversed"
                discount, group, store_part = after, after_group, after - after_group
                self.add(a.campaign, self.day(at), a.store, a.channel, {
                    RETURNED: 1, DISCOUNT: after - a.discount, GROUP: after_group - a.group,
                    STORE: (after - after_group) - store_cost})
        log = (MERCHANT, str(a.rid), a.position, iso(a.at), "redeemed" if accepted else "rejected", status,
               _code(a), str(a.rid), a.campaign, 4, a.customer, f"o{a.rid.int}", a.amount, "EUR", discount,
               a.store, a.channel, reasons, lines, group, store_part, allocations, *reversal)
        lookup = (str(a.rid), MERCHANT, a.campaign, a.store or "", a.channel) if accepted else None
        return log, lookup

    def summary_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        return {"campaign_report_cells": [(MERCHANT, *key, *figures) for key, figures in self.cells.items()]}


REDEEMED, REVERSED, RETURNED, REJECTED, DISCOUNT, GROUP, STORE = (
    FIGURES.index(f) for f in ("redeemed", "reversed", "returned", "rejected", "discount", "cost_group",
                               "cost_store"))
COLUMNS_OF = {
    "redemption_log": LOG_COLUMNS,
    "campaign_report_redemptions": ("redemption_id", "merchant_id", "campaign_id", "store_id", "channel"),
    "campaign_report_cells": (*CELL_KEY, *FIGURES),
}


def _event(cls: Any, **fields: Any) -> Any:
    """A domain event built field by field, as the library does when it reads one back."""
    return cls(**fields)


def events(a: Attempt) -> list[Any]:
    """The genuine domain events of an attempt (and of its reversal or return)."""
    common: dict[str, Any] = {
        "originator_id": a.rid, "originator_topic": get_topic(Redemption), "merchant_id": MERCHANT,
        "code": _code(a), "voucher_id": a.rid, "campaign_id": UUID(a.campaign), "campaign_version": 4,
        "customer_id": a.customer, "order": _order(a), "store_id": a.store, "channel": a.channel,
        "voucher_version": 2, "customer_uses": 0}
    if a.reasons:
        return [_event(Redemption.Rejected, originator_version=1, timestamp=a.at, reasons=[
            {"code": r, "message": r} for r in a.reasons], **common)]
    costs = {"group": a.group, "store": a.discount - a.group}
    out: list[Any] = [_event(
        Redemption.Recorded, originator_version=1, timestamp=a.at, currency="EUR", discount=a.discount,
        usage_counted=False, points_awarded=0, allocations=_allocations(a), costs=costs, **common)]
    if a.fate is not None:
        kind, at, after, after_group = a.fate
        tail: dict[str, Any] = {"originator_id": a.rid, "originator_version": 2, "timestamp": at,
                                "reason": "bench", "by": "bench", "voucher_id": a.rid,
                                "campaign_id": UUID(a.campaign)}
        if kind == "reversed":
            out.append(_event(Redemption.Reversed, discount=a.discount, costs=costs, **tail))
        else:
            returned = {"group": a.group - after_group,
                        "store": (a.discount - a.group) - (after - after_group)}
            out.append(_event(Redemption.PartiallyReversed, lines=[], discount_before=a.discount,
                              discount_after=after, costs_reversed=returned, **tail))
    return out


def check_bulk_equals_handlers(campaign_ids: list[str]) -> int:
    """The sample through the real handlers and through the bulk path: equal row for row."""
    sample = list(attempts(campaign_ids, SAMPLE, 1))
    projections: list[Projection] = [CampaignReport(), RedemptionLog()]
    by_handlers, by_bulk = MemoryDatabase(), MemoryDatabase()
    with by_handlers.transaction(write=True) as tx:
        for projection in projections:
            projection.create_tables(tx)
        registered = _event(Merchant.Registered, originator_id=Merchant.id_for(MERCHANT),
                            originator_version=1, timestamp=START, originator_topic=get_topic(Merchant),
                            merchant_id=MERCHANT, name=MERCHANT, timezone=ZONE)
        redemption_events = sorted(((a.position, e) for a in sample for e in events(a)),
                                   key=lambda pe: (pe[1].timestamp, pe[0]))
        stream = [(0, registered), *redemption_events]
        for position, event in stream:
            for projection in projections:
                projection.process(event, tx, position)
        handled = {t: _rows(tx, t) for t in COLUMNS_OF}
    with by_bulk.transaction(write=True) as tx:
        for projection in projections:
            projection.create_tables(tx)
        load(tx, sample)
        bulk = {t: _rows(tx, t) for t in COLUMNS_OF}
    for table in COLUMNS_OF:
        assert handled[table] == bulk[table], f"bulk rows differ from the handlers' in {table}"
    return sum(len(rows) for rows in bulk.values())


def _rows(tx: Tx, table: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(sorted(r.items())) for r in tx.query(f"SELECT * FROM {table}"))


def load(tx: Tx, sample: list[Attempt]) -> None:
    """The bulk path into a private database (the sample check)."""
    bulk = BulkRows()
    pairs = [bulk.rows(a) for a in sample]
    tables = {"redemption_log": [log for log, _ in pairs],
              "campaign_report_redemptions": [lookup for _, lookup in pairs if lookup is not None],
              **bulk.summary_rows()}
    for table, rows in tables.items():
        columns = COLUMNS_OF[table]
        tx.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                       rows)


def fill(url: str, campaign_ids: list[str], redemptions: int, first_position: int) -> dict[str, int]:
    """The bulk path into the store: chunks of log and lookup rows, then the cells and counts."""
    bulk, counts = BulkRows(), dict.fromkeys(COLUMNS_OF, 0)
    writer = _Writer(url)
    try:
        logs: list[tuple[Any, ...]] = []
        lookups: list[tuple[Any, ...]] = []
        for a in attempts(campaign_ids, redemptions, first_position):
            log, lookup = bulk.rows(a)
            logs.append(log)
            if lookup is not None:
                lookups.append(lookup)
            if len(logs) >= 50_000:
                counts["redemption_log"] += writer.write("redemption_log", logs)
                counts["campaign_report_redemptions"] += writer.write("campaign_report_redemptions", lookups)
                logs, lookups = [], []
        counts["redemption_log"] += writer.write("redemption_log", logs)
        counts["campaign_report_redemptions"] += writer.write("campaign_report_redemptions", lookups)
        for table, rows in bulk.summary_rows().items():
            counts[table] += writer.write(table, rows)
        writer.finish()
    finally:
        writer.close()
    return counts


class _Writer:
    """COPY on PostgreSQL, executemany on SQLite; one transaction; ANALYZE at the end on both."""

    def __init__(self, url: str) -> None:
        self.pg = not url.startswith("sqlite")
        self.conn: Any = psycopg.connect(url) if self.pg else sqlite3.connect(url.removeprefix("sqlite:///"))

    def write(self, table: str, rows: list[tuple[Any, ...]]) -> int:
        columns = COLUMNS_OF[table]
        if self.pg:
            with self.conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                  f"({', '.join('?' * len(columns))})", rows)
        return len(rows)

    def finish(self) -> None:
        self.conn.commit()
        if self.pg:
            self.conn.autocommit = True
        self.conn.execute("ANALYZE")

    def close(self) -> None:
        self.conn.close()
