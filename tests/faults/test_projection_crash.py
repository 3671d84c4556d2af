"""A projection runner dies in the middle of a batch; after a restart the read models equal a
rebuild from zero."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from application.redemptions import RedeemRequest
from domain.eligibility import Order
from infrastructure.bootstrap import Container
from projections.hub import PROJECTIONS
from tests.faults.helpers import (
    ADMIN,
    ROOT,
    live_campaign,
    open_container,
    read_model_rows,
    server_env,
    tracking_positions,
)

BATCH = 100
STALL_AT = 2 * BATCH + 37  # inside the third batch: two batches are committed before it
STALLED = "redemption_log"  # third in the hub's order: wallet and campaign_stats have the whole batch

pytestmark = pytest.mark.timeout(120)


def seed_history(container: Container) -> int:
    """Vouchers issued, assigned to customers and redeemed: rows in most read models.
    Returns the ledger head."""
    live_campaign(container, "history")
    codes = container.vouchers.issue_codes(ADMIN, "history", count=120).body["codes"]
    for i, code in enumerate(codes[:60]):
        container.vouchers.assign_voucher(ADMIN, code, f"customer-{i % 7}")
    for i, code in enumerate(codes[:90]):
        container.redemptions.redeem(ADMIN, RedeemRequest(
            code=code, order=Order.build(4000, "EUR", f"order-{i}", []), customer_id=f"customer-{i % 7}"))
    head = container.ledger.head()
    assert head > STALL_AT + BATCH, head
    return head


def test_a_runner_killed_mid_batch_resumes_and_equals_a_rebuild(database_url: str, tmp_path: Path) -> None:
    container = open_container(database_url)  # projections not started: everything is backlog
    try:
        head = seed_history(container)
    finally:
        container.close()
    assert set(tracking_positions(database_url).values()) == {0}

    marker = tmp_path / "stalled"
    with (tmp_path / "runner.log").open("wb") as log:
        stalled = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.helpers", "stall-projections", database_url,
             str(marker), str(STALL_AT), STALLED, str(BATCH)],
            cwd=ROOT, env=server_env(database_url), stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert stalled.poll() is None, (tmp_path / "runner.log").read_text()
            assert time.monotonic() < deadline, "the runner never reached the stall point"
            time.sleep(0.05)
        # The third batch is open: wallet and campaign_stats hold all of it, redemption_log part.
        stalled.send_signal(signal.SIGKILL)
        stalled.wait(timeout=10)
    finally:
        if stalled.poll() is None:
            stalled.kill()
            stalled.wait()
    assert int(marker.read_text()) == STALL_AT

    container = open_container(database_url)
    try:
        # Nothing of the open batch is visible: every read model stands at the two committed
        # batches and equals a replay of exactly those events.
        positions = tracking_positions(database_url)
        assert {positions[cls.name] for cls in PROJECTIONS} == {2 * BATCH}, positions
        assert all(row_position(r) <= 2 * BATCH for r in read_model_rows(database_url)["redemption_log"])
        assert_audits_clean(container, 2 * BATCH)

        # Restart: a fresh runner (the hub `promo serve` runs) on the same store catches up.
        container.start_projections()
        for runner in container.projections.runners.values():
            assert runner.wait_for(head, timeout=30), container.projections.status()
        container.projections.stop()
        resumed = read_model_rows(database_url)
        assert_audits_clean(container, head)  # what `promo projections audit` runs
        for cls in PROJECTIONS:  # and literally: drop every read model and replay it from zero
            assert container.projections.rebuild(cls.name) == head
    finally:
        container.close()
    assert read_model_rows(database_url) == resumed


def assert_audits_clean(container: Container, position: int) -> None:
    """Each read model, row by row, against a private replay of the log up to its position."""
    for cls in PROJECTIONS:
        report = container.projections.audit(cls.name)
        assert report.ok and report.position == position, report.as_dict()


def row_position(row: tuple[tuple[str, Any], ...]) -> int:
    return int(dict(row)["position"])


def test_a_handler_failing_mid_batch_rolls_the_batch_back_and_is_retried(
        make_container: Callable[..., Container]) -> None:
    """In-process: the hub's loop survives a projection raising halfway through a batch; the
    batch is applied whole on the retry, never partly and never skipped."""
    container = make_container(projection_batch_size=BATCH)
    head = seed_history(container)
    projection = container.projections.runner(STALLED).projection
    apply = projection.process
    failed = threading.Event()

    def process(event: Any, tx: Any, at: int) -> None:
        apply(event, tx, at)
        if at == STALL_AT and not failed.is_set():
            failed.set()
            raise RuntimeError("injected: the handler fails once, mid-batch")

    projection.process = process  # type: ignore[method-assign, assignment]
    container.start_projections()
    for runner in container.projections.runners.values():
        assert runner.wait_for(head, timeout=30), container.projections.status()
    assert failed.is_set()
    container.projections.stop()
    assert {s["position"] for s in container.projections.status()} == {head}
    assert_audits_clean(container, head)
