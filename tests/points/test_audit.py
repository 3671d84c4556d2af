"""A5's audit on SQLite and PostgreSQL: `verify_points` replays every points account and compares
it with the ledger and wallet read models; a tampered projection is caught by it, by the generic
projection audit, and by `promo audit verify` (which exits non-zero)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application.clock import ManualClock
from application.commands import Actor
from application.points import EntryContext
from application.redemptions import RedeemRequest
from domain.eligibility import Order
from domain.points import PointsAccount
from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings
from projections.points_audit import verify_points
from tests.conftest import live_campaign
from tests.points.helpers import ADMIN, account

ROOT = Path(__file__).resolve().parents[2]
GLOBEX = Actor(merchant_id="globex", role="admin", ref="test:globex")


def lots_of_activity(c: Container, clock: ManualClock) -> None:
    """Every kind of entry (and a little for globex), a points code redeemed and reversed, expiry."""
    p = c.points
    p.define_program(GLOBEX, "main", "Main", 30)
    p.credit(GLOBEX, "alice", "main", "regular", "allocation", 40, EntryContext())
    p.transfer(GLOBEX, "alice", "bob", "main", "regular", 15, EntryContext())
    ctx = EntryContext(source="INSTORE", till_id="T1", transaction_id="acme-tx")
    p.define_program(ADMIN, "main", "Main", 30)
    p.define_program(ADMIN, "fuel", "Fuel", None)
    p.open_account(ADMIN, "alice", "main", "regular", 0, ctx)
    p.open_account(ADMIN, "dave", "fuel", "regular", 120, ctx)
    p.credit(ADMIN, "alice", "main", "regular", "allocation", 500, ctx)
    p.credit(ADMIN, "alice", "fuel", "regular", "referral_award", 300, ctx)
    p.credit(ADMIN, "alice", "main", "promised", "allocation", 80, ctx)
    p.debit(ADMIN, "alice", "main", "regular", "redemption", 120, ctx)
    p.group_redeem(ADMIN, "alice", [("main", 50), ("fuel", 50)], ctx)
    p.convert(ADMIN, "alice", "main", "promised", 80, ctx)
    p.transfer(ADMIN, "alice", "bob", "main", "regular", 100, ctx)
    p.return_transaction(ADMIN, "bob", "main", "regular", 150, 20, ctx)
    p.merge(ADMIN, "bob", "alice", ctx)
    p.debit(ADMIN, "dave", "fuel", "regular", "import", 200, ctx)
    p.merge(ADMIN, "dave", "alice", ctx)
    clock.advance(timedelta(hours=1))
    live_campaign(c, ADMIN, "bonus", reward={"type": "points", "points": 75, "program": "main"})
    codes = c.vouchers.issue_codes(ADMIN, "bonus", count=2).body["codes"]
    order = Order.build(3000, "EUR", "o-1", [])
    for code in codes:
        redeemed = c.redemptions.redeem(ADMIN, RedeemRequest(code=code, order=order, customer_id="carol"))
    c.redemptions.reverse(ADMIN, UUID(redeemed.body["id"]), "returned")
    clock.advance(timedelta(days=40))
    p.expire(ADMIN, "alice")
    p.expire(ADMIN, "carol")
    c.projections.catch_up()


@pytest.fixture
def c(container: Container, clock: ManualClock) -> Container:
    lots_of_activity(container, clock)
    return container


def tamper(c: Container, sql: str, *params: Any) -> None:
    with c.db.transaction(write=True) as tx:
        tx.execute(sql, params)


def accounts_in_the_log(c: Container, merchant: str | None = None) -> dict[str, int]:
    """Account id -> number of its events, read from the log (not the projection)."""
    found: dict[str, int] = {}
    for n in c.ledger.recorder.select_notifications(1, 100_000):
        event: Any = c.ledger.mapper.to_domain_event(n)
        if isinstance(event, PointsAccount.Opened) and merchant in (None, event.merchant_id):
            found[str(event.originator_id)] = len(list(c.ledger.events.get(event.originator_id)))
    return found


def test_verify_is_ok_after_lots_of_activity(c: Container) -> None:
    report = verify_points(c.ledger, c.db)

    assert report.ok, report.mismatches
    in_log = accounts_in_the_log(c)
    assert (report.accounts, report.entries) == (len(in_log), sum(in_log.values()))
    assert report.position == c.ledger.head()
    acme = verify_points(c.ledger, c.db, "acme")
    assert acme.ok and acme.accounts == len(accounts_in_the_log(c, "acme")) < report.accounts
    assert report.as_dict() == {"ok": True, "position": report.position, "accounts": report.accounts,
                                "entries": report.entries, "mismatches": []}
    assert c.projections.audit("points_ledger").ok

    # entries the projection has not reached yet are not mismatches
    c.points.credit(ADMIN, "alice", "main", "regular", "allocation", 5, EntryContext())
    c.points.credit(ADMIN, "erin", "main", "regular", "allocation", 5, EntryContext())
    lagging = verify_points(c.ledger, c.db)
    assert lagging.ok, lagging.mismatches
    assert (lagging.position, lagging.accounts) == (report.position, report.accounts)


# each tamper: SQL on one of alice's rows, and what verify must say about it
TAMPERS: dict[str, tuple[str, str]] = {
    "entry balance": ("UPDATE points_entries SET balance=balance+1 WHERE account_id=? AND version=3",
                      "entry differs"),
    "entry amount": ("UPDATE points_entries SET debit=debit+5 WHERE account_id=? AND version=3",
                     "entry differs"),
    "entry kind": ("UPDATE points_entries SET kind='bulk_award' WHERE account_id=? AND version=2",
                   "entry differs"),
    "entry lost": ("DELETE FROM points_entries WHERE account_id=? AND version=2", "entry count differs"),
    "wallet row lost": ("DELETE FROM points_accounts WHERE account_id=?", "wallet account differs"),
    "wallet balance": ("UPDATE points_accounts SET balance=balance+1 WHERE account_id=?",
                       "wallet account differs"),
}


def test_verify_reports_each_tampered_projection_row(c: Container) -> None:
    target = str(account(c, "alice").id)
    for name, (sql, what) in TAMPERS.items():
        tamper(c, sql, target)

        report = verify_points(c.ledger, c.db)

        assert not report.ok, name
        assert {m["account_id"] for m in report.mismatches} == {target}, name
        assert what in {m["what"] for m in report.mismatches}, (name, report.mismatches)
        mismatch = next(m for m in report.mismatches if m["what"] == what)
        assert mismatch["customer_id"] == "alice"
        if name == "entry balance":
            assert mismatch["found"]["balance"] == mismatch["expected"]["balance"] + 1
            assert {k for k in mismatch["expected"] if mismatch["expected"][k] != mismatch["found"][k]} == {
                "balance"}
        if name == "wallet row lost":
            assert mismatch["found"] is None
            assert mismatch["expected"]["balance"] == account(c, "alice").balance
        if name == "wallet balance":
            assert mismatch["found"]["balance"] == mismatch["expected"]["balance"] + 1
            assert mismatch["expected"]["balance"] == account(c, "alice").balance
        assert not verify_points(c.ledger, c.db, "acme").ok, name
        assert verify_points(c.ledger, c.db, "globex").ok, name  # another merchant's are fine
        assert not c.projections.audit("points_ledger").ok, name  # the generic audit catches it too
        assert c.projections.audit("points_ledger", merchant_id="globex").ok, name

        c.projections.rebuild("points_ledger")  # repaired from the log
        assert verify_points(c.ledger, c.db).ok, name

    # an account the log never opened
    tamper(c, "INSERT INTO points_accounts VALUES ('acme', 'forged', 'mallory', 'main', 'regular', 999, "
              "NULL, '2026-03-01T00:00:00.000000Z')")
    report = verify_points(c.ledger, c.db)
    assert report.mismatches == [{"account_id": "forged", "what": "account not in the ledger"}]
    assert verify_points(c.ledger, c.db, "globex").ok
    assert not c.projections.audit("points_ledger").ok


# columns a customer sees in the ledger (who, when, the event's total) that verify does not compare
UNCOMPARED = {
    "customer_id": "UPDATE points_entries SET customer_id='mallory' WHERE account_id=? AND version=2",
    "points_on_event": "UPDATE points_entries SET points_on_event=points_on_event+1 "
                       "WHERE account_id=? AND version=2",
    "entry_at": "UPDATE points_entries SET entry_at='2020-01-01T00:00:00.000000Z' "
                "WHERE account_id=? AND version=2",
}


def test_the_generic_audit_catches_a_tampered_column_the_customer_sees(c: Container) -> None:
    for column, sql in UNCOMPARED.items():
        tamper(c, sql, str(account(c, "alice").id))
        assert not c.projections.audit("points_ledger").ok, column
        c.projections.rebuild("points_ledger")
        assert c.projections.audit("points_ledger").ok, column


def test_verify_reports_a_tampered_column_the_customer_sees(c: Container) -> None:
    missed = []
    for column, sql in UNCOMPARED.items():
        tamper(c, sql, str(account(c, "alice").id))
        if verify_points(c.ledger, c.db).ok:
            missed.append(column)
        c.projections.rebuild("points_ledger")
    assert missed == []


# -- `promo audit verify` --------------------------------------------------------------------------------


def promo(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROMO_DATABASE_URL": db_url, "PROMO_LOG_LEVEL": "warning"}
    return subprocess.run([sys.executable, "-m", "interfaces.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_promo_audit_verify_exits_non_zero_and_prints_the_mismatch(
    tmp_path: Path, clock: ManualClock,
) -> None:
    db_url = f"sqlite:///{tmp_path}/cli.db"
    c = build(Settings(database_url=db_url, seed_demo=False), clock=clock)
    try:
        lots_of_activity(c, clock)
        c.points.credit(ADMIN, "alice", "main", "regular", "allocation", 5, EntryContext())  # not projected
        target = str(account(c, "alice").id)
    finally:
        c.close()

    clean = promo(db_url, "audit", "verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    report = json.loads(clean.stdout)
    assert report["ok"] is True and report["mismatches"] == []
    assert report["accounts"] > 0 and report["entries"] > report["accounts"]

    c = build(Settings(database_url=db_url, seed_demo=False), clock=clock)
    try:
        assert c.projections.status()[0]["lag"] == 0  # the CLI caught the projections up first
        tamper(c, "UPDATE points_entries SET balance=balance+1 WHERE account_id=? AND version=2", target)
    finally:
        c.close()

    tampered = promo(db_url, "audit", "verify")
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    report = json.loads(tampered.stdout)
    assert report["ok"] is False
    assert [(m["account_id"], m["what"]) for m in report["mismatches"]] == [(target, "entry differs")]

    other = promo(db_url, "audit", "verify", "--merchant", "globex")
    assert other.returncode == 0, other.stdout + other.stderr
    assert json.loads(other.stdout)["ok"] is True
