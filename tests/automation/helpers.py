"""Shared helpers of the automation tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from application.clock import ManualClock

# Fast loops for tests: policies, deliveries and job ticks every few tens of milliseconds.
FAST = {"scheduler_tick_seconds": 0.05, "policy_poll_seconds": 0.02, "webhook_poll_seconds": 0.02,
        "webhook_backoff_seconds": 60.0, "webhook_max_attempts": 5}


def eventually(check: Callable[[], Any], *, timeout: float = 15.0, clock: ManualClock | None = None,
               step_seconds: float = 0, message: str = "") -> Any:
    """Poll until `check()` is truthy; optionally move the manual clock on each round (retries)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {message or check}")
        if clock is not None and step_seconds:
            from datetime import timedelta
            clock.advance(timedelta(seconds=step_seconds))
        time.sleep(0.03)


def automation_rows(c: Any, actor: Any, tag: str = "x") -> None:
    """A little of everything issue 6 projects, so every automation read model has rows:
    customer and order facts, a workflow run, a webhook delivery, a stock watch, an export."""
    c.webhooks.create_subscription(actor, f"{tag}-hook", "http://127.0.0.1:9/hook", ["*"])
    c.workflows.define(actor, f"{tag}-welcome", {
        "name": "Welcome", "trigger": {"type": "customer_registered"},
        "effects": [{"type": "credit_points", "program": "main", "points": 10}]})
    c.customer_facts.register_customer(actor, f"{tag}-carol", birthday="1990-03-01")
    c.customer_facts.complete_order(actor, f"{tag}-o1", customer_id=f"{tag}-carol", amount=1000,
                                    currency="EUR")
    c.policies.run_once()
    c.campaigns.create_campaign(actor, f"{tag}-stock", {
        "name": "Stock", "currency": "EUR", "stock": 5,
        "reward": {"type": "amount_off", "amount": 100, "min_spend": 0}})
    c.stock_alerts.set_threshold(actor, f"{tag}-stock", 3)
    c.vouchers.issue_codes(actor, f"{tag}-stock", count=2)
    c.stock_alerts.check(actor.merchant_id, f"{tag}-stock")
    c.distribution.export_codes(actor, f"{tag}-stock", "b1", 1)
    c.automation_reader.freshen(["webhook_log"])
    for delivery in c.automation_reader.due_deliveries("9999", 2):
        claimed = c.webhooks.start_attempt(delivery)
        if claimed is not None:
            c.webhooks.finish_attempt(delivery, claimed[2], 200, None, 3)
