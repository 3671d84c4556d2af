"""Pure rules of issue 6: workflow definitions and triggers, signatures, backoff, delivery states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidInput, InvalidTransition
from domain.webhook import DeliveryStatus, WebhookDelivery, backoff, sign, verify
from domain.workflow import TriggerFacts, WorkflowBook, check_definition, trigger_matches

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def order(amount: int, **extra: object) -> TriggerFacts:
    return TriggerFacts("order_completed", "acme", "alice", AT, amount=amount, currency="EUR", **extra)  # type: ignore[arg-type]


def test_order_trigger_fires_from_the_minimum_amount_in_its_currency_store_and_channel() -> None:
    trigger = check_definition({"name": "Spend", "trigger": {
        "type": "order_completed", "min_amount": 100_000, "currency": "EUR", "channel": "online"},
        "effects": [{"type": "credit_points", "program": "main", "points": 100}]})["trigger"]
    assert trigger_matches(trigger, order(100_000, channel="online"))
    assert not trigger_matches(trigger, order(99_999, channel="online"))
    assert not trigger_matches(trigger, order(200_000, channel="offline"))
    usd = TriggerFacts("order_completed", "acme", "alice", AT, amount=200_000, currency="USD",
                       channel="online")
    assert not trigger_matches(trigger, usd)


def test_points_threshold_fires_only_on_the_upward_crossing() -> None:
    trigger = check_definition({"name": "Gold", "trigger": {
        "type": "points_threshold", "program": "main", "threshold": 1000},
        "effects": [{"type": "assign_voucher", "campaign": "gold"}]})["trigger"]

    def points(before: int, after: int) -> TriggerFacts:
        return TriggerFacts("points_threshold", "acme", "alice", AT, program="main", category="regular",
                            balance_before=before, balance_after=after)

    assert trigger_matches(trigger, points(900, 1000))
    assert not trigger_matches(trigger, points(1000, 1100))  # already above
    assert not trigger_matches(trigger, points(1100, 900))  # downwards
    assert not trigger_matches(trigger, points(0, 999))


@pytest.mark.parametrize("definition", [
    {"name": "", "trigger": {"type": "customer_registered"}, "effects": [{"type": "assign_voucher",
                                                                          "campaign": "w"}]},
    {"name": "x", "trigger": {"type": "moon_phase"},
     "effects": [{"type": "assign_voucher", "campaign": "w"}]},
    {"name": "x", "trigger": {"type": "customer_registered"}, "effects": []},
    {"name": "x", "trigger": {"type": "customer_registered"}, "effects": [{"type": "teleport"}]},
    {"name": "x", "trigger": {"type": "customer_registered"},
     "effects": [{"type": "credit_points", "program": "main", "points": 0}]},
    {"name": "x", "trigger": {"type": "date", "date": "full_moon"},
     "effects": [{"type": "assign_voucher", "campaign": "w"}]},
    {"name": "x", "trigger": {"type": "customer_registered"},
     "effects": [{"type": "assign_voucher", "campaign": "w"}], "delivery": {"channel": "pigeon"}},
])
def test_malformed_workflow_definitions_are_refused(definition: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        check_definition(definition)


def test_a_workflow_fires_only_while_active_and_for_facts_after_it_was_defined() -> None:
    book = WorkflowBook.start("acme", AT)
    book.define("welcome", {"name": "W", "trigger": {"type": "customer_registered"},
                            "effects": [{"type": "assign_voucher", "campaign": "w"}]}, "ops", AT)
    registered = TriggerFacts("customer_registered", "acme", "alice", AT + timedelta(seconds=1))
    assert [w["key"] for w in book.firing(registered)] == ["welcome"]
    assert book.firing(TriggerFacts("customer_registered", "acme", "old", AT - timedelta(days=1))) == []
    book.pause("welcome", "ops", AT)
    assert book.firing(registered) == []
    with pytest.raises(InvalidTransition):
        book.pause("welcome", "ops", AT)
    book.resume("welcome", "ops", AT)
    book.define("welcome", {"name": "W2", "trigger": {"type": "customer_registered"},
                            "effects": [{"type": "assign_voucher", "campaign": "w2"}]}, "ops", AT)
    assert book.require("welcome")["revision"] == 2


def test_signatures_verify_for_the_same_body_and_secret_within_the_tolerance_only() -> None:
    body, secret, t = b'{"id":"evt_1"}', "s" * 32, 1_700_000_000
    header = sign(secret, t, body)
    assert header.startswith(f"t={t},v1=")
    assert verify(secret, header, body, t + 299)
    assert not verify(secret, header, body, t + 301)  # a replay, later
    assert not verify(secret, header, body + b" ", t)  # a changed body
    assert not verify("x" * 32, header, body, t)  # another secret
    assert not verify(secret, "garbage", body, t)


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff(n, 30, 3600).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_a_delivery_retries_then_dead_letters_and_is_replayed_by_an_admin() -> None:
    d = WebhookDelivery.schedule("acme", "crm", "evt_1", "customer.registered", 7, "{}", AT)
    at = AT
    for attempt in (1, 2, 3):
        assert d.start_attempt(at, timedelta(minutes=1)) == attempt
        with pytest.raises(InvalidTransition):  # claimed: a second worker cannot start it
            d.start_attempt(at, timedelta(minutes=1))
        d.fail(attempt, 500, "HTTP 500", 5, 3, at)
        at += timedelta(minutes=1)
    assert d.status == DeliveryStatus.DEAD and not d.due(at + timedelta(days=1))
    d.replay("admin", at)
    assert (d.status, d.attempts) == (DeliveryStatus.PENDING, 0)
    d.start_attempt(at, timedelta(minutes=1))
    d.succeed(1, 204, 3, at)
    assert d.status == DeliveryStatus.DELIVERED
    with pytest.raises(InvalidTransition):
        d.replay("admin", at)


def test_an_attempt_whose_lease_ran_out_can_be_taken_by_another_worker() -> None:
    d = WebhookDelivery.schedule("acme", "crm", "evt_1", "customer.registered", 7, "{}", AT)
    d.start_attempt(AT, timedelta(seconds=30))  # this worker dies mid-attempt
    assert not d.due(AT + timedelta(seconds=29))
    assert d.start_attempt(AT + timedelta(seconds=30), timedelta(seconds=60)) == 2
    d.fail(1, None, "late answer of the dead worker", 1, 8, AT)  # stale: ignored
    assert d.status == DeliveryStatus.IN_FLIGHT and d.attempts == 2
