"""Event-driven policies, exactly once: a crash between an effect and the tracking position,
two runners racing on one policy, and the webhook outbox's retries and dead letters. Both stores."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.clock import ManualClock
from application.commands import Actor
from domain.webhook import WebhookSubscription
from infrastructure.bootstrap import Container
from infrastructure.policy_runner import PolicyRunner
from tests.application.test_projections import rebuilt, rows
from tests.automation.helpers import automation_rows
from tests.automation.receiver import running_receiver
from tests.conftest import live_campaign

ACME = Actor(merchant_id="acme", role="admin", ref="test:acme")
WELCOME = {"name": "Welcome", "trigger": {"type": "customer_registered"},
           "effects": [{"type": "assign_voucher", "campaign": "welcome"},
                       {"type": "credit_points", "program": "main", "points": 50}]}


def arrange(c: Container) -> None:
    c.points.define_program(ACME, "main", "Main", None)
    live_campaign(c, ACME, "welcome", stock=100)
    c.workflows.define(ACME, "welcome", WELCOME)


def workflow_runner(c: Container) -> PolicyRunner:
    return next(r for r in c.policies.runners if r.name == "workflows")


def outcome(c: Container, customers: list[str]) -> dict[str, Any]:
    c.projections.catch_up()
    with c.db.transaction() as tx:
        vouchers = tx.query("SELECT customer_id, COUNT(*) AS n FROM wallet_vouchers GROUP BY customer_id")
        runs = tx.query("SELECT customer_id, COUNT(*) AS n FROM workflow_runs GROUP BY customer_id")
    return {"vouchers": {r["customer_id"]: int(r["n"]) for r in vouchers},
            "runs": {r["customer_id"]: int(r["n"]) for r in runs},
            "points": {c_: c.queries.points_balance("acme", c_, None)["total"] for c_ in customers}}


class Crash(RuntimeError):
    pass


def test_a_crash_after_the_effects_but_before_the_position_moved_changes_nothing_on_replay(
    make_container: Callable[..., Container], monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = make_container()
    arrange(c)
    customers = [f"c-{n}" for n in range(5)]
    for customer in customers:
        c.customer_facts.register_customer(ACME, customer)
    runner = workflow_runner(c)
    start = runner.position()

    # the process dies after handling three events: their effects committed, the position did not
    handle, handled = runner.policy.handle, []

    def dies_on_the_fourth(event: Any, position: int) -> None:
        if len(handled) == 3:
            raise Crash("power cut")
        handle(event, position)
        handled.append(position)

    monkeypatch.setattr(runner.policy, "handle", dies_on_the_fourth)
    with pytest.raises(Crash):
        runner.run_once()
    assert runner.position() == handled[-1] > start  # progress kept up to the last handled event

    # a new process replays from the stored position, and a careless one from zero
    again = make_container()
    workflow_runner(again).catch_up()
    with again.db.transaction(write=True) as tx:
        tx.execute("UPDATE policy_tracking SET position = 0 WHERE name = 'workflows'")
    workflow_runner(again).catch_up()

    assert outcome(again, customers) == {"vouchers": dict.fromkeys(customers, 1),
                                         "runs": dict.fromkeys(customers, 1),
                                         "points": dict.fromkeys(customers, 50)}


def test_two_processes_running_one_policy_at_once_fire_each_trigger_once(
    make_container: Callable[..., Container],
) -> None:
    c = make_container()
    arrange(c)
    customers = [f"r-{n}" for n in range(12)]
    for customer in customers:
        c.customer_facts.register_customer(ACME, customer)
    runners = [workflow_runner(make_container()) for _ in range(3)]
    for runner in runners:
        runner.batch_size = 2
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(runners))

    def run(runner: PolicyRunner) -> None:
        barrier.wait(timeout=10)
        try:
            runner.catch_up()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert outcome(c, customers) == {"vouchers": dict.fromkeys(customers, 1),
                                     "runs": dict.fromkeys(customers, 1),
                                     "points": dict.fromkeys(customers, 50)}


def test_deliveries_retry_with_backoff_dead_letter_and_are_replayed_by_an_admin(
    make_container: Callable[..., Container], clock: ManualClock,
) -> None:
    c = make_container(webhook_max_attempts=3, webhook_backoff_seconds=60)
    with running_receiver(fail_first=3, now=clock) as rx:
        c.webhooks.create_subscription(ACME, "crm", f"{rx.url}/crm", ["customer.registered"])
        rx.secrets["/crm"] = c.webhooks.secret("acme", "crm")["secret"]
        c.customer_facts.register_customer(ACME, "alice")
        c.policies.run_once()

        def attempt() -> int:
            c.projections.catch_up()
            return c.webhook_worker.run_once()

        assert attempt() == 1  # fails (500)
        assert attempt() == 0  # not due before its backoff
        clock.advance(timedelta(seconds=60))
        assert attempt() == 1  # fails again
        clock.advance(timedelta(seconds=119))
        assert attempt() == 0  # the second retry waits 120 s
        clock.advance(timedelta(seconds=1))
        assert attempt() == 1  # the third and last: dead-lettered
        clock.advance(timedelta(days=1))
        assert attempt() == 0
        c.projections.catch_up()
        dead = c.automation_reader.deliveries("acme", None, "dead", 10, None)
        assert [(d["event_type"], d["attempts"], d["last_status_code"]) for d in dead] == [
            ("customer.registered", 3, 500)]
        assert rx.events() == []

        replayed = c.webhooks.replay(ACME, UUID(dead[0]["delivery_id"]))
        assert replayed.body["status"] == "pending"
        assert attempt() == 1  # the receiver accepts the fourth try
        c.projections.catch_up()
        detail = c.automation_reader.delivery("acme", dead[0]["delivery_id"])
        assert detail is not None and detail["status"] == "delivered"
        assert [a["outcome"] for a in detail["attempt_log"]] == ["failed", "failed", "dead", "delivered"]
        assert [e["type"] for e in rx.events()] == ["customer.registered"]


def test_the_outbox_schedules_one_delivery_per_subscription_and_event_even_when_run_twice(
    make_container: Callable[..., Container], clock: ManualClock,
) -> None:
    c = make_container()
    c.customer_facts.register_customer(ACME, "before-any-hook")  # predates the subscriptions
    clock.advance(timedelta(seconds=1))
    c.webhooks.create_subscription(ACME, "crm", "http://127.0.0.1:9/crm", ["customer.registered"])
    c.webhooks.create_subscription(ACME, "all", "http://127.0.0.1:9/all", ["*"])
    c.webhooks.create_subscription(ACME, "orders", "http://127.0.0.1:9/orders", ["order.completed"])
    c.webhooks.create_subscription(Actor("globex", "admin", "t"), "g", "http://127.0.0.1:9/g", ["*"])
    c.customer_facts.register_customer(ACME, "alice")
    c.customer_facts.complete_order(ACME, "o-1", customer_id="alice", amount=100, currency="EUR")
    outbox = next(r for r in c.policies.runners if r.name == "webhook_outbox")
    outbox.catch_up()
    with c.db.transaction(write=True) as tx:
        tx.execute("UPDATE policy_tracking SET position = 0 WHERE name = 'webhook_outbox'")
    outbox.catch_up()
    c.projections.catch_up()
    rows = c.automation_reader.deliveries("acme", None, None, 50, None)
    assert sorted((d["subscription_key"], d["event_type"]) for d in rows) == [
        ("all", "customer.registered"), ("all", "order.completed"), ("crm", "customer.registered"),
        ("orders", "order.completed")]
    assert c.automation_reader.deliveries("globex", None, None, 50, None) == []
    # the secret never shows in the subscription's audited stream
    stream = c.audit.stream("acme", WebhookSubscription.id_for("acme", "crm"))
    assert "secret" not in stream["events"][0]["data"]


AUTOMATION_PROJECTIONS = ("customer_facts", "workflow_runs", "webhook_log", "campaign_schedule",
                          "distribution")


def test_every_automation_read_model_rebuilds_to_the_same_rows_and_passes_its_audit(
    make_container: Callable[..., Container],
) -> None:
    c = make_container()
    c.points.define_program(ACME, "main", "Main", None)
    automation_rows(c, ACME, "a")
    automation_rows(c, ACME, "b")
    c.projections.catch_up()
    for name in AUTOMATION_PROJECTIONS:
        live = rows(c, name)
        assert all(live.values()), f"{name} has an empty table: the comparison would prove little"
        assert rebuilt(c, name) == live, name
        assert c.projections.audit(name).ok, name
