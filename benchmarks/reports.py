"""Reports (A1-A3) over 1,000,000 redemptions in the read models, on SQLite and PostgreSQL.

20 main campaigns with 4 sub-campaigns each (100 campaigns, made through the services), one
merchant in Europe/Amsterdam; N (default 1,000,000) redemptions over 90 days in 50 stores and
online, plus one rejected attempt in 20, 2% reversed and 1% partly returned a few days later.

The read models are filled in bulk: the rows the projections' handlers would write (the report's
day, week and month cells, its redemption lookups, the redemption log) are computed in Python from
the synthetic attempts and inserted (PostgreSQL: COPY; SQLite: executemany); then ANALYZE. That
this is what the handlers write is checked on every run: a sample of 4,000 attempts is sent as
genuine domain events through `CampaignReport` and `RedemptionLog` in a private database, and its
rows must equal the bulk path's row for row. Then p50/p99 over `--runs` calls of the campaign
report (one main campaign rolled up: 50,000 redemptions), the other reports and redemption-detail
pages, in-process. PostgreSQL is a throwaway cluster with fsync on. Prints one table.

    python benchmarks/reports.py [--redemptions 1000000] [--runs 200] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from application.reports import RedemptionQuery, ReportService
from benchmarks._report_data import (
    DAYS,
    MAINS,
    MERCHANT,
    SAMPLE,
    STORES,
    SUBS,
    campaigns,
    check_bulk_equals_handlers,
    fill,
)
from infrastructure.bootstrap import build
from infrastructure.settings import Settings
from tests.support.pgcluster import PostgresCluster

Row = tuple[str, str, float, float]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()  # warm: the first call pays for imports and cold pages
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def measure(store: str, url: str, redemptions: int, runs: int) -> list[Row]:
    c = build(Settings(database_url=url, seed_demo=False))
    try:
        campaign_ids = campaigns(c)
        started = time.perf_counter()
        counts = fill(url, campaign_ids, redemptions, c.ledger.head() + 1)
        took = time.perf_counter() - started
        print(f"{store}: filled in {took:.0f} s: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        return cases(store, ReportService(c.queries), runs)
    finally:
        c.close()


def cases(store: str, reports: ReportService, runs: int) -> list[Row]:
    since, until = date(2026, 3, 25), date(2026, 3, 31)  # the last week
    newest = reports.redemptions(MERCHANT, RedemptionQuery(), limit=1, before=None)["items"][0]
    middle, customer = int(newest["position"]) // 2, newest["customer_id"]
    report = reports.campaign_report(MERCHANT, "main07")
    assert sum(t["redeemed"] for t in report["totals"]) > 0
    checks: list[tuple[str, Callable[[], object]]] = [
        ("campaign report: main + 4 subs, all 90 days", lambda: reports.campaign_report(MERCHANT, "main07")),
        ("campaign report: main + 4 subs, 15 Jan-14 Mar", lambda: reports.campaign_report(
            MERCHANT, "main07", since=date(2026, 1, 15), until=date(2026, 3, 14))),
        ("campaign report: main + 4 subs, last 7 days",
         lambda: reports.campaign_report(MERCHANT, "main07", since=since, until=until)),
        ("campaign report: one sub-campaign, 90 days",
         lambda: reports.campaign_report(MERCHANT, "main07-sub2", rollup=False)),
        ("main campaigns, rolled up (20)", lambda: reports.campaigns(MERCHANT, limit=50)),
        ("rejections by reason, all campaigns", lambda: reports.rejections(MERCHANT)),
        ("redemption detail: newest 50", lambda: reports.redemptions(
            MERCHANT, RedemptionQuery(), limit=50, before=None)),
        ("redemption detail: 50 of main + subs", lambda: reports.redemptions(
            MERCHANT, RedemptionQuery(campaign="main07", rollup=True), limit=50, before=None)),
        ("redemption detail: 50 of a store, last week", lambda: reports.redemptions(
            MERCHANT, RedemptionQuery(store_id="S07", since=since, until=until), limit=50, before=None)),
        ("redemption detail: 50, cursor mid-history", lambda: reports.redemptions(
            MERCHANT, RedemptionQuery(), limit=50, before=middle)),
        ("customer 360", lambda: reports.customer(MERCHANT, customer)),
    ]
    return [(store, what, *timed(fn, runs)) for what, fn in checks]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--redemptions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    ids = [str(UUID(int=n)) for n in range(MAINS * (SUBS + 1))]
    print(f"bulk rows equal the handlers' for a sample of {SAMPLE:,} attempts "
          f"({check_bulk_equals_handlers(ids):,} rows compared)")
    rows: list[Row] = []
    stores = args.stores.split(",")
    if "sqlite" in stores:
        with tempfile.TemporaryDirectory() as tmp:
            rows += measure("sqlite", f"sqlite:///{tmp}/reports.db", args.redemptions, args.runs)
    if "postgres" in stores:
        with PostgresCluster(fsync=True) as pg:
            rows += measure("postgres", pg.create_database("reports"), args.redemptions, args.runs)
    print(f"\n{'store':<10} {'what':<46} {'p50 ms':>8} {'p99 ms':>8}")
    for store, what, p50, p99 in rows:
        print(f"{store:<10} {what:<46} {p50:>8.2f} {p99:>8.2f}")
    print(f"\n{args.redemptions:,} redemptions (+1 in 20 rejected) in 100 campaigns, {DAYS} days, "
          f"{STORES} stores + online; {args.runs} calls each, in-process; 2 CPUs shared")


if __name__ == "__main__":
    main()
