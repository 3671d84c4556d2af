"""Partner code pools: import 1,000,000 codes, then sell a pool dry from 32 workers.

Per store (SQLite file; throwaway PostgreSQL cluster, fsync on):
  * import — `PoolService.import_codes` of a CSV of 20-character codes, in a fresh child
    process so its peak memory (ru_maxrss) is the import's own; then the time the stock
    read model takes to hold every code, and a streamed export of the unsold codes;
  * sell   — a pool of --sell-codes codes sold by 32 threads (one order each sale) until
    `sold_out`; checks zero duplicates and zero lost (sold + unsold = uploaded) and that
    LowStock fired exactly once.
Prints one table.

    python benchmarks/pools.py [--codes 1000000] [--sell-codes 5000] [--workers 32]
                               [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from application.commands import Actor  # noqa: E402
from application.pools import SoldOut  # noqa: E402
from domain.pool import CodePool  # noqa: E402
from infrastructure.bootstrap import Container, build  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402
from tests.support.pgcluster import PostgresCluster  # noqa: E402

ACTOR = Actor(merchant_id="bench", role="admin", ref="bench")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def write_codes(path: Path, count: int, seed: int) -> None:
    """`count` distinct random 20-character codes, one per line (like a partner's file)."""
    rng, seen = random.Random(seed), set[str]()
    with path.open("w") as out:
        while len(seen) < count:
            code = "".join(rng.choices(ALPHABET, k=20))
            if code not in seen:
                seen.add(code)
                out.write(code + "\n")


def container_for(url: str) -> Container:
    return build(Settings(database_url=url, seed_demo=False, postgres_pool_size=16,
                          postgres_max_overflow=32), rng=random.Random(1))


def pool_campaign(container: Container, key: str, threshold: int = 0) -> None:
    container.campaigns.create_campaign(ACTOR, key, {
        "name": key, "currency": "THB", "reward": {"type": "cash_voucher", "price": 400,
                                                   "face_value": 500}})
    for action in ("submit", "approve", "activate"):
        container.campaigns.change_status(ACTOR, key, action)
    container.pools.create_pool(ACTOR, key, {"min_length": 20, "max_length": 20}, threshold)


def child_import(url: str, path: str, count: int) -> None:
    """Runs in its own process: import, catch the read model up, export; print JSON figures."""
    container = container_for(url)
    pool_campaign(container, "import")
    start = time.perf_counter()
    with open(path, "rb") as stream:
        result = container.pools.import_codes(ACTOR, "import", stream, Path(path).name)
    imported = time.perf_counter() - start
    assert result.body["accepted"] == count, result.body
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    container.projections.catch_up()
    caught_up = time.perf_counter() - start
    start = time.perf_counter()
    exported = sum(1 for _ in container.pool_stock.export("bench", CodePool.id_for("bench", "import"),
                                                          ("available",)))
    export_s = time.perf_counter() - start
    assert exported == count, exported
    container.close()
    print(json.dumps({"import_s": imported, "rss_mb": rss, "projection_s": caught_up,
                      "export_s": export_s}))


def import_figures(url: str, path: Path, count: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child-import", url, str(path), str(count)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def sell_figures(url: str, path: Path, count: int, workers: int) -> dict[str, Any]:
    container = container_for(url)
    try:
        pool_campaign(container, "sell", threshold=max(1, count // 10))
        with path.open("rb") as stream:
            container.pools.import_codes(ACTOR, "sell", stream, path.name)
        container.start_projections()
        container.pool_stock.caught_up(container.ledger.head(), 120)
        sold: list[str] = []
        counter, lock = iter(range(10**9)), threading.Lock()

        def worker() -> None:
            while True:
                with lock:
                    order = next(counter)
                try:
                    result = container.pools.sell(ACTOR, "sell", f"order-{order}",
                                                  customer_id=f"c-{order % 997}")
                except SoldOut:
                    return
                with lock:
                    sold.extend(c["partner_code"] for c in result.body["codes"])

        threads = [threading.Thread(target=worker) for _ in range(workers)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        container.pool_stock.caught_up(container.ledger.head(), 120)
        pool_id = CodePool.id_for("bench", "sell")
        unsold = [r["code"] for r in container.pool_stock.export("bench", pool_id, ("available",))]
        uploaded = path.read_text().split()
        low_stock = sum(1 for e in container.ledger.events.get(pool_id)
                        if type(e).__name__ == "LowStock")
        stats: dict[str, float] = {"sales_per_s": len(sold) / elapsed, "sold": len(sold),
                "duplicates": sum(n - 1 for n in Counter(sold).values()),
                "lost": len(set(uploaded) - set(sold) - set(unsold)), "low_stock_events": low_stock}
        return stats
    finally:
        container.close()


def measure(store: str, url_for: Any, big: Path, small: Path, args: argparse.Namespace
            ) -> dict[str, Any]:
    print(f"{store}: importing {args.codes:,} codes…", file=sys.stderr, flush=True)
    imported = import_figures(url_for("imports"), big, args.codes)
    print(f"{store}: selling {args.sell_codes:,} codes from {args.workers} workers…", file=sys.stderr,
          flush=True)
    return {"store": store, **imported, **sell_figures(url_for("sales"), small, args.sell_codes,
                                                       args.workers)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--sell-codes", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--child-import", nargs=3, metavar=("URL", "FILE", "COUNT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        url, path, count = args.child_import
        child_import(url, path, int(count))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp, "partner-codes.csv"), Path(tmp, "sell-codes.csv")
        write_codes(big, args.codes, seed=1)
        write_codes(small, args.sell_codes, seed=2)
        stores = args.stores.split(",")
        if "sqlite" in stores:
            rows.append(measure("sqlite", lambda name: f"sqlite:///{tmp}/{name}.db", big, small, args))
        if "postgres" in stores:
            with PostgresCluster(fsync=True) as pg:
                rows.append(measure("postgres", pg.create_database, big, small, args))
    print(f"\n{'store':<9} {'import s':>9} {'codes/s':>10} {'peak MB':>8} {'read model s':>13} "
          f"{'export s':>9} {'sales/s':>8} {'sold':>6} {'dupes':>6} {'lost':>5} {'LowStock':>9}")
    for r in rows:
        print(f"{r['store']:<9} {r['import_s']:>9.1f} {args.codes / r['import_s']:>10,.0f} "
              f"{r['rss_mb']:>8.0f} {r['projection_s']:>13.1f} {r['export_s']:>9.1f} "
              f"{r['sales_per_s']:>8,.0f} {r['sold']:>6} {r['duplicates']:>6} {r['lost']:>5} "
              f"{r['low_stock_events']:>9}")
    print(f"\nimport: {args.codes:,} codes of 20 characters in one file (peak memory of the importing "
          f"process); sell: {args.sell_codes:,} codes, {args.workers} workers, one code per order; "
          f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
