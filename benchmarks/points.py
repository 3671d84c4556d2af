"""Points ledger at scale, on SQLite and PostgreSQL.

  * one account with N (default 100,000) ledger entries: write it, project it, load it with
    and without snapshots, fetch one filtered ledger page, replay the customer's history;
  * ledger entries per second for 1,000 accounts credited concurrently through the service.
PostgreSQL is a throwaway cluster with fsync on. Prints one table.

    python benchmarks/points.py [--entries 100000] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from application.clock import ManualClock
from application.commands import Actor
from application.ledger import replay
from application.points import EntryContext
from domain.clock import iso
from domain.points import PointsAccount
from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings
from projections.points_ledger import LedgerFilter
from tests.support.pgcluster import PostgresCluster

ACTOR = Actor(merchant_id="bench", role="admin", ref="bench")
START = datetime(2026, 1, 1, tzinfo=UTC)
Row = tuple[str, str, float, str]


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Seconds per call, best of `repeat`."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def long_account(c: Container, clock: ManualClock, entries: int) -> PointsAccount:
    """One account with `entries` entries, written in batches of 2,000 per transaction."""
    c.points.define_program(ACTOR, "main", "Main", None)
    c.points.open_account(ACTOR, "whale", "main", "regular", 0, EntryContext(source="SYSTEM"))
    account = c.ledger.load(PointsAccount.id_for("bench", "whale", "main", "regular"), PointsAccount)
    for n in range(1, entries):
        clock.advance(timedelta(seconds=1))
        ctx = EntryContext(source="INSTORE" if n % 2 else "ECOMMERCE", till_id=f"T{n % 7}")
        if n % 5:
            account.credit("allocation", 10, clock(), ctx.meta("TRANSACTION_ADD", 10))
        else:
            account.debit("redemption", 5, clock(), ctx.meta("REDEMPTION", -5))
        if n % 2000 == 0 or n == entries - 1:
            c.ledger.save_all(account)
    return account


def measure(store: str, url_for: Callable[[str], str], entries: int) -> list[Row]:
    clock = ManualClock(START)
    c = build(Settings(database_url=url_for("long"), seed_demo=False), clock=clock)
    rows: list[Row] = []
    try:
        start = time.perf_counter()
        account = long_account(c, clock, entries)
        rows.append((store, f"write {entries:,} entries (2,000 per transaction)",
                     entries / (time.perf_counter() - start), "entries/s"))
        rows.append((store, "project them (ledger + balances)",
                     entries / timed(c.projections.catch_up), "entries/s"))
        rows.append((store, "load the account, with snapshots",
                     timed(lambda: c.ledger.load(account.id, PointsAccount), 5) * 1000, "ms"))
        rows.append((store, "load the account, replaying every event",
                     timed(lambda: replay(None, c.ledger.events.get(account.id)), 3) * 1000, "ms"))
        f = LedgerFilter(since=iso(clock() - timedelta(days=7)) or "", until=iso(clock()) or "",
                         source="INSTORE", till_id="T3", entry_type="credit")
        middle = c.ledger.head() // 2
        rows.append((store, "one filtered ledger page (10, mid-history)", timed(
            lambda: c.queries.points_ledger("bench", "whale", f, limit=10, after=middle), 5) * 1000,
            "ms"))
        rows.append((store, "replay the customer's history from events",
                     timed(lambda: c.points_history.history("bench", "whale")) * 1000, "ms"))
    finally:
        c.close()
    rows.append((store, "1,000 accounts credited concurrently (8 threads)",
                 concurrent_rate(url_for("many"), 4000), "entries/s"))
    return rows


def concurrent_rate(url: str, entries: int) -> float:
    c = build(Settings(database_url=url, seed_demo=False))
    try:
        c.points.define_program(ACTOR, "main", "Main", 365)
        customers = [f"c{i}" for i in range(1000)]
        for customer in customers:  # accounts exist: the race is on entries, not openings
            c.points.open_account(ACTOR, customer, "main", "regular", 0, EntryContext())
        rng = random.Random(7)
        picks = [rng.choice(customers) for _ in range(entries)]
        ctx = EntryContext(source="INSTORE", till_id="T1")

        def credit(customer: str) -> None:
            c.points.credit(ACTOR, customer, "main", "regular", "allocation", 10, ctx)

        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(credit, picks))
        return entries / (time.perf_counter() - start)
    finally:
        c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    rows: list[Row] = []
    stores = args.stores.split(",")
    if "sqlite" in stores:
        with tempfile.TemporaryDirectory() as tmp:
            rows += measure("sqlite", lambda name: f"sqlite:///{tmp}/{name}.db", args.entries)
    if "postgres" in stores:
        with PostgresCluster(fsync=True) as pg:
            rows += measure("postgres", pg.create_database, args.entries)
    print(f"\n{'store':<10} {'what':<50} {'figure':>12}")
    for store, what, value, unit in rows:
        print(f"{store:<10} {what:<50} {value:>12,.1f} {unit}")


if __name__ == "__main__":
    main()
