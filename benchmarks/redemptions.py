"""Redemptions per second of distinct single-use codes, on SQLite and PostgreSQL.

Measures, in one run and on one machine:
  * raw   — single-row INSERT + COMMIT of an event-sized row (the store's own limit);
  * app   — RedemptionService.redeem through the application layer (1 and 8 threads);
  * http  — POST /v1/redemptions against a real uvicorn process (8 client threads).
PostgreSQL is a throwaway cluster with fsync on. Prints one table.

    python benchmarks/redemptions.py [--codes 2000] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psycopg

from application.commands import Actor
from application.redemptions import RedeemRequest
from domain.eligibility import Order
from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings
from tests.support.pgcluster import PostgresCluster

ACTOR = Actor(merchant_id="bench", role="admin", ref="bench")
ROW = os.urandom(300)  # about the size of a stored Redeemed event


def prepare(url: str, key: str, codes: int) -> tuple[Container, list[str]]:
    container = build(Settings(database_url=url, seed_demo=False), rng=random.Random(1))
    container.campaigns.create_campaign(ACTOR, key, {
        "name": key, "currency": "EUR", "reward": {"type": "amount_off", "amount": 100}})
    for action in ("submit", "approve", "activate"):
        container.campaigns.change_status(ACTOR, key, action)
    issued: list[str] = []
    while len(issued) < codes:
        batch = min(5000, codes - len(issued))
        issued += container.vouchers.issue_codes(ACTOR, key, count=batch).body["codes"]
    return container, issued


def timed(work: list[str], threads: int, fn: Callable[[str], None]) -> float:
    start = time.perf_counter()
    if threads == 1:
        for item in work:
            fn(item)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fn, work))
    return len(work) / (time.perf_counter() - start)


def app_rate(url: str, codes: int, threads: int) -> float:
    container, issued = prepare(url, f"app-{threads}", codes)
    order = Order.build(1000, "EUR", None, [])

    def redeem(code: str) -> None:
        result = container.redemptions.redeem(ACTOR, RedeemRequest(code=code, order=order), code)
        assert result.status == 201, result.body

    try:
        return timed(issued, threads, redeem)
    finally:
        container.close()


def http_rate(url: str, codes: int, threads: int) -> float:
    container, issued = prepare(url, "http", codes)
    key = container.access.create_key("bench", "checkout").secret
    container.close()
    port = free_port()
    env = {**os.environ, "PROMO_DATABASE_URL": url, "PROMO_LOG_LEVEL": "warning"}
    server = subprocess.Popen([sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port),
                               "--no-seed"], env=env, cwd=Path(__file__).resolve().parents[1])
    local = threading.local()
    try:
        wait_healthy(port)

        def redeem(code: str) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                                     headers={"Authorization": f"Bearer {key}"})
            r = client.post("/v1/redemptions", headers={"Idempotency-Key": code},
                            json={"code": code, "order": {"amount": 1000, "currency": "EUR"}})
            assert r.status_code == 201, r.text

        return timed(issued, threads, redeem)
    finally:
        server.terminate()
        server.wait(10)


def raw_sqlite_rate(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(f"{tmp}/raw.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE e (id TEXT, v INTEGER, topic TEXT, state BLOB, PRIMARY KEY (id, v))")
        start = time.perf_counter()
        for i in range(n):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO e VALUES (?,?,?,?)", (f"agg-{i}", 1, "t", ROW))
            conn.execute("COMMIT")
        rate = n / (time.perf_counter() - start)
        conn.close()
        return rate


def raw_postgres_rate(url: str, n: int) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS raw_e (id TEXT, v BIGINT, topic TEXT, state BYTEA, "
                      "nid BIGSERIAL, PRIMARY KEY (id, v))")
        start = time.perf_counter()
        for i in range(n):
            conn.execute("INSERT INTO raw_e (id, v, topic, state) VALUES (%s,1,'t',%s)", (f"agg-{i}", ROW))
        return n / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def measure(store: str, url_for: Callable[[str], str], raw: Callable[[], float], codes: int
            ) -> list[tuple[str, str, float]]:
    rows = [(store, "raw insert+commit, 1 connection", raw())]
    rows.append((store, "app redeem, 1 thread", app_rate(url_for("a1"), codes, 1)))
    rows.append((store, "app redeem, 8 threads", app_rate(url_for("a8"), codes, 8)))
    rows.append((store, "http redeem, 8 client threads", http_rate(url_for("h8"), codes, 8)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codes", type=int, default=2000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    rows: list[tuple[str, str, float]] = []
    stores = args.stores.split(",")
    if "sqlite" in stores:
        with tempfile.TemporaryDirectory() as tmp:
            rows += measure("sqlite", lambda name: f"sqlite:///{tmp}/{name}.db",
                            lambda: raw_sqlite_rate(args.codes), args.codes)
    if "postgres" in stores:
        with PostgresCluster(fsync=True) as pg:
            rows += measure("postgres", pg.create_database,
                            lambda: raw_postgres_rate(pg.create_database("raw"), args.codes), args.codes)
    raw = {store: rate for store, what, rate in rows if what.startswith("raw")}
    print(f"\n{'store':<10} {'what':<34} {'per second':>12} {'of raw':>8}")
    for store, what, rate in rows:
        print(f"{store:<10} {what:<34} {rate:>12,.0f} {rate / raw[store]:>8.0%}")
    print(f"\n{args.codes} distinct single-use codes per row; {os.cpu_count()} CPUs; "
          f"Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
