"""Validate latency with the rules engine, on SQLite and PostgreSQL.

A cart of 20 lines; a customer holding 50 vouchers of 50 campaigns with rules (product scope,
stores, days, split costs). Measures p50/p99 of:
  * validate one code, in-process and over HTTP (a real uvicorn process);
  * best offer over the whole wallet (50 candidates ranked, best stack built), in-process.
PostgreSQL is a throwaway cluster with fsync on. Prints one table.

    python benchmarks/rules.py [--runs 200] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from application.commands import Actor
from application.redemptions import RedeemRequest
from benchmarks.redemptions import free_port, wait_healthy
from domain.eligibility import Order, OrderLine
from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings
from tests.support.pgcluster import PostgresCluster

ACTOR = Actor(merchant_id="bench", role="admin", ref="bench")
LINES = [OrderLine(f"sku-{i}", 1 + i % 3, 500 + 100 * i, f"cat-{i % 5}") for i in range(20)]
Row = tuple[str, str, float, float]


def wallet(container: Container, size: int) -> list[str]:
    """`size` campaigns with rules, one voucher of each held by customer c-1."""
    codes = []
    for n in range(size):
        key = f"c{n}"
        reward = ({"type": "percent_off", "basis_points": 500 + 10 * n} if n % 2
                  else {"type": "amount_off", "amount": 100 + n})
        rules = {"products": {"categories": [f"cat-{n % 5}", f"cat-{(n + 1) % 5}"]},
                 "cost_bearer": "split", "group_share_bp": 8000,
                 "exclusivity": "exclusive" if n % 7 == 0 else "combinable"}
        container.campaigns.create_campaign(ACTOR, key, {"name": key, "currency": "EUR",
                                                         "reward": reward, "rules": rules})
        for action in ("submit", "approve", "activate"):
            container.campaigns.change_status(ACTOR, key, action)
        codes.append(container.vouchers.assign_new_voucher(ACTOR, key, "c-1").body["code"])
    container.projections.catch_up()
    return codes


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def measure(store: str, url: str, runs: int) -> list[Row]:
    container = build(Settings(database_url=url, seed_demo=False))
    order = Order.build(None, "EUR", "o-1", LINES)
    try:
        codes = wallet(container, 50)
        key = container.access.create_key("bench", "checkout").secret
        rows: list[Row] = []
        request = RedeemRequest(code=codes[1], order=order, customer_id="c-1")
        rows.append((store, "validate one code, in-process",
                     *timed(lambda: container.redemptions.validate(ACTOR, request), runs)))
        rows.append((store, "best offer over 50 vouchers, in-process", *timed(
            lambda: container.offers.best_offers(ACTOR, "c-1", order), max(10, runs // 10))))
    finally:
        container.close()
    rows.append((store, "validate one code, over HTTP", *http_validate(url, key, codes[1], runs)))
    return rows


def http_validate(url: str, key: str, code: str, runs: int) -> tuple[float, float]:
    port = free_port()
    env = {**os.environ, "PROMO_DATABASE_URL": url, "PROMO_LOG_LEVEL": "warning",
           "PROMO_AUTOMATION": "false"}
    server = subprocess.Popen([sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port),
                               "--no-seed"], env=env, cwd=Path(__file__).resolve().parents[1])
    body = {"code": code, "customer_id": "c-1",
            "order": {"id": "o-1", "currency": "EUR",
                      "lines": [{"sku": line.sku, "quantity": line.quantity, "unit_price": line.unit_price,
                                 "category": line.category} for line in LINES]}}
    try:
        wait_healthy(port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          headers={"Authorization": f"Bearer {key}"}) as client:
            def call() -> None:
                assert client.post("/v1/validations", json=body).status_code == 200
            call()
            return timed(call, runs)
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    rows: list[Row] = []
    stores = args.stores.split(",")
    if "sqlite" in stores:
        with tempfile.TemporaryDirectory() as tmp:
            rows += measure("sqlite", f"sqlite:///{tmp}/rules.db", args.runs)
    if "postgres" in stores:
        with PostgresCluster(fsync=True) as pg:
            rows += measure("postgres", pg.create_database("rules"), args.runs)
    print(f"\n{'store':<10} {'what':<42} {'p50 ms':>8} {'p99 ms':>8}")
    for store, what, p50, p99 in rows:
        print(f"{store:<10} {what:<42} {p50:>8.2f} {p99:>8.2f}")
    print("\ncart of 20 lines; wallet of 50 vouchers with rules; 2 CPUs")


if __name__ == "__main__":
    main()
