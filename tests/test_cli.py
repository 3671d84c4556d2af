"""The `promo` command line, run as a subprocess against a SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from application.commands import Actor
from application.redemptions import RedeemRequest
from domain.eligibility import Order
from infrastructure.bootstrap import build
from infrastructure.settings import Settings
from projections.hub import PROJECTIONS as ALL_PROJECTIONS
from tests.conftest import live_campaign

ROOT = Path(__file__).resolve().parents[1]
PROJECTIONS = {cls.name for cls in ALL_PROJECTIONS}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cli.db"


def promo(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROMO_DATABASE_URL": db_url, "PROMO_LOG_LEVEL": "warning"}
    return subprocess.run([sys.executable, "-m", "interfaces.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_keys_create_prints_only_the_key_and_the_key_authenticates(db_url: str) -> None:
    result = promo(db_url, "keys", "create", "--merchant", "m1", "--role", "checkout")

    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert result.stdout == f"{key}\n"
    assert len(result.stdout.splitlines()) == 1 and key.startswith("pl_") and " " not in key
    container = build(Settings(database_url=db_url, seed_demo=False))
    try:
        actor = container.access.authenticate(key)
        assert actor is not None and (actor.merchant_id, actor.role) == ("m1", "checkout")
        assert container.access.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    finally:
        container.close()


@pytest.mark.parametrize("args", [
    ("--merchant", "m1", "--role", "superuser"),
    ("--merchant", "m1"),
    ("--role", "checkout"),
    ("--merchant", "m1", "--role", "checkout", "--timezone", "Mars/Olympus_Mons"),
])
def test_keys_create_refuses_bad_arguments_and_prints_no_key(db_url: str, args: tuple[str, ...]) -> None:
    result = promo(db_url, "keys", "create", *args)
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip()


def test_projections_rebuild_status_and_audit(db_url: str) -> None:
    container = build(Settings(database_url=db_url, seed_demo=False))
    try:
        admin = Actor(merchant_id="acme", role="admin", ref="test:admin")
        live_campaign(container, admin)
        code = container.vouchers.issue_codes(admin, "spring", count=1).body["codes"][0]
        container.redemptions.redeem(admin, RedeemRequest(code=code, order=Order.build(3000, "EUR", "o", [])))
        head = container.ledger.head()
    finally:
        container.close()

    rebuilt = promo(db_url, "projections", "rebuild", "all")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert {line.split(":")[0] for line in rebuilt.stderr.splitlines() if "rebuilt to position" in line} \
        == PROJECTIONS, rebuilt.stderr

    status = promo(db_url, "projections", "status")
    assert status.returncode == 0, status.stderr
    assert {(s["name"], s["position"], s["lag"]) for s in json.loads(status.stdout)} == {
        (name, head, 0) for name in PROJECTIONS}

    audit = promo(db_url, "projections", "audit")
    assert audit.returncode == 0, audit.stderr + audit.stdout
    reports = json.loads(audit.stdout)
    assert {r["projection"] for r in reports} == PROJECTIONS
    assert all(r["ok"] is True and r["position"] == head for r in reports), reports

    one = promo(db_url, "projections", "audit", "wallet")
    assert one.returncode == 0, one.stderr
    assert [r["projection"] for r in json.loads(one.stdout)] == ["wallet"]

    unknown = promo(db_url, "projections", "rebuild", "nope")
    assert unknown.returncode != 0
    assert "unknown_projection" in unknown.stderr
