"""Read models: rebuilds and audits agree with live runs, crashes roll back, runners race safely,
restarts resume, and read-your-writes waits for exactly the position it needs. Both stores."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.clock import ManualClock
from application.commands import Actor
from application.fraud import window_start
from application.points import EntryContext
from application.redemptions import RedeemRequest
from application.webhook_events import event_id
from domain.campaign import Campaign
from domain.customer import Customer
from domain.eligibility import Order, OrderLine
from domain.errors import InvalidInput
from domain.fraud import FraudFlag
from domain.webhook import WebhookDelivery
from infrastructure.bootstrap import Container
from projections.hub import PROJECTIONS
from projections.queries import ProjectionLagging
from projections.redemption_log import LogFilter
from projections.runner import ProjectionRunner, TrackingMoved
from tests.conftest import live_campaign, reward_amount_off

ACME = Actor(merchant_id="acme", role="admin", ref="test:acme")
GLOBEX = Actor(merchant_id="globex", role="admin", ref="test:globex")
NAMES = [cls.name for cls in PROJECTIONS]
# what a read model's duplicate insert raises on SQLite and (translated by eventsourcing) on PostgreSQL

Rows = dict[str, list[tuple[Any, ...]]]


def order(amount: int = 3000, currency: str = "EUR", order_id: str | None = None) -> Order:
    return Order.build(amount, currency, order_id, [])


def redeem(c: Container, actor: Actor, code: str, customer: str | None, amount: int = 3000,
           currency: str = "EUR") -> Any:
    return c.redemptions.redeem(actor, RedeemRequest(code=code, order=order(amount, currency),
                                                     customer_id=customer))


def activity(c: Container, actor: Actor, tag: str, clock: ManualClock) -> dict[int, int]:
    """A bit of everything every projection handles: returns the statuses it produced."""
    statuses: Counter[int] = Counter()

    def step(result: Any) -> Any:
        statuses[result.status] += 1
        clock.advance(timedelta(minutes=3))
        return result

    # points: every kind of entry, across accounts and customers
    ctx = EntryContext(source="INSTORE", till_id="T1", store_id="S1", transaction_id=f"{tag}-tx")
    fraud_flags(c, actor, tag, step)  # early: the crash test fails two thirds into the batch
    step(c.points.define_program(actor, "main", "Main", 365))
    step(c.points.define_program(actor, "fuel", "Fuel", None))
    automation(c, actor, tag, step)
    alice, bob = f"{tag}-alice", f"{tag}-bob"
    step(c.points.credit(actor, alice, "main", "regular", "allocation", 500, ctx))
    step(c.points.credit(actor, alice, "fuel", "regular", "allocation", 300, ctx))
    step(c.points.credit(actor, alice, "main", "promised", "allocation", 80, ctx))
    step(c.points.debit(actor, alice, "main", "regular", "redemption", 120, ctx))
    step(c.points.group_redeem(actor, alice, [("main", 50), ("fuel", 50)], ctx))
    step(c.points.convert(actor, alice, "main", "promised", 80, ctx))
    step(c.points.transfer(actor, alice, bob, "main", "regular", 100, ctx))
    step(c.points.return_transaction(actor, bob, "main", "regular", 150, 20, ctx))
    step(c.points.merge(actor, bob, alice, ctx))

    single = live_campaign(c, actor, f"{tag}-single", stock=12)
    # a partner code pool (issue 3) with an imported file
    step(c.pools.create_pool(actor, single, {"min_length": 8, "max_length": 8}, 2))
    step(c.pools.import_codes(actor, single, io.BytesIO(b"PC000001\nPC000002\nbad\n"), "a.csv",
                              skip_invalid=True))
    codes = step(c.vouchers.issue_codes(actor, single, count=6)).body["codes"]
    for i, code in enumerate(codes[:4]):
        step(c.vouchers.assign_voucher(actor, code, f"{tag}-cust-{i}"))
    step(c.vouchers.assign_new_voucher(actor, single, f"{tag}-cust-9"))
    first = step(redeem(c, actor, codes[0], f"{tag}-cust-0"))
    step(redeem(c, actor, codes[0], f"{tag}-cust-0"))  # voucher_already_redeemed
    step(redeem(c, actor, codes[1], f"{tag}-cust-2"))  # voucher_not_owned
    step(redeem(c, actor, codes[1], f"{tag}-cust-1", currency="USD"))  # currency_mismatch
    step(redeem(c, actor, codes[4], None))  # an open code: anybody
    step(c.redemptions.reverse(actor, UUID(first.body["id"]), "order returned"))
    step(redeem(c, actor, codes[0], f"{tag}-cust-0"))  # usable again after the reversal
    step(redeem(c, actor, f"{tag}-NOPE", "someone"))  # unknown code
    report_activity(c, actor, tag, single, step)

    multi = live_campaign(c, actor, f"{tag}-multi", voucher_type="multi_use", redemption_limit=5,
                          per_customer_limit=2, reward=reward_amount_off(300, min_spend=1000))
    shared = f"{tag.upper()}-SHARED"
    step(c.vouchers.issue_codes(actor, multi, codes=[shared]))
    for n in range(7):
        step(redeem(c, actor, shared, f"{tag}-buyer-{n % 3}"))  # limits per customer, then per code
    step(redeem(c, actor, shared, f"{tag}-buyer-9", amount=500))  # min_spend_not_met
    step(c.campaigns.change_status(actor, multi, "end"))
    step(redeem(c, actor, shared, f"{tag}-buyer-8"))  # campaign_ended

    draft = f"{tag}-draft"
    step(c.campaigns.create_campaign(actor, draft, {"name": "Draft", "currency": "EUR",
                                                    "reward": reward_amount_off(100)}))
    step(c.campaigns.revise_campaign(actor, draft, {"name": "Draft v2", "currency": "EUR",
                                                    "reward": reward_amount_off(200), "stock": 9}))
    step(c.campaigns.change_status(actor, draft, "submit"))
    step(c.campaigns.change_status(actor, draft, "reject", "too generous"))
    automation_campaigns(c, actor, single, step)
    step(c.campaigns.change_status(actor, single, "disable", "fraud suspected"))

    step(redeem(c, actor, codes[5], None))  # campaign_disabled
    return dict(statuses)


def fraud_flags(c: Container, actor: Actor, tag: str, step: Callable[[Any], Any]) -> None:
    """Two flags raised by the detectors' service, one of them reviewed (A4)."""
    at = c.clock()
    for subject in ("customer", "key"):
        c.fraud.raise_flag(actor.merchant_id, "code_guessing", f"{subject}:{tag}", at, 25, 20, 10,
                           [f"{tag}/1", f"{tag}/2"])
    flag_id = FraudFlag.id_for(actor.merchant_id, "code_guessing", f"customer:{tag}", window_start(at, 10))
    step(c.fraud.review(actor, flag_id, "dismissed", "a tester"))


def report_activity(c: Container, actor: Actor, tag: str, parent: str, step: Callable[[Any], Any]) -> None:
    """Issue 7 (A1-A3): a merchant time zone, a sub-campaign, a claim, a redemption in a store and
    channel with lines, and a partial return (the campaign report's cells, lookups and zones)."""
    c.access.register_merchant(actor.merchant_id, timezone="Europe/Amsterdam")  # once per merchant
    sub = f"{tag}-sub"
    step(c.campaigns.create_campaign(actor, sub, {"name": "Sub", "currency": "EUR", "stock": 5, "reward": {
        "type": "percent_off", "basis_points": 1000}}, parent=parent))
    for action in ("submit", "approve", "activate"):
        step(c.campaigns.change_status(actor, sub, action))
    code = step(c.vouchers.claim_voucher(actor, sub, f"{tag}-claimer", "online")).body["code"]
    lines = [OrderLine("hat", 1, 1000), OrderLine("shoe", 1, 2000)]
    redeemed = step(c.redemptions.redeem(actor, RedeemRequest(
        code=code, order=Order.build(None, "EUR", f"{tag}-o2", lines), customer_id=f"{tag}-claimer",
        store_id="S1", channel="offline")))
    step(c.returns.return_lines(actor, UUID(redeemed.body["id"]), [("hat", 1)], "came back"))


def automation(c: Container, actor: Actor, tag: str, step: Callable[[Any], Any]) -> None:
    """Issue 6 near the start (the crash tests fault two-thirds in): customer and order facts, a
    workflow that fires, a webhook with deliveries and an attempt."""
    step(c.webhooks.create_subscription(actor, f"{tag}-hook", "http://127.0.0.1:9/hook",
                                        ["customer.registered", "workflow.completed"]))
    step(c.workflows.define(actor, f"{tag}-welcome", {
        "name": "Welcome", "trigger": {"type": "customer_registered"},
        "effects": [{"type": "credit_points", "program": "main", "points": 10}]}))
    step(c.customer_facts.register_customer(actor, f"{tag}-carol", birthday="1990-03-01"))
    step(c.customer_facts.complete_order(actor, f"{tag}-o1", customer_id=f"{tag}-carol", amount=150_000,
                                         currency="EUR", channel="online"))
    step(c.customer_facts.return_order(actor, f"{tag}-o1", 50_000, "damaged"))
    c.policies.run_once()  # the workflow fires; the outbox schedules deliveries
    registered = next(iter(c.ledger.events.get(Customer.id_for(actor.merchant_id, f"{tag}-carol"))))
    first = WebhookDelivery.id_for(actor.merchant_id, f"{tag}-hook", event_id(registered))
    claimed = c.webhooks.start_attempt(first)
    assert claimed is not None
    c.webhooks.finish_attempt(first, claimed[2], 503, "HTTP 503", 12)
    step(c.workflows.set_paused(actor, f"{tag}-welcome", True))


def automation_campaigns(c: Container, actor: Actor, campaign: str, step: Callable[[Any], Any]) -> None:
    """Issue 6 on a live campaign with stock and codes: a stock alert. (Exports catch their read
    model up first, which this activity must not do: tests/automation audits them instead.)"""
    step(c.stock_alerts.set_threshold(actor, campaign, 8))
    assert c.stock_alerts.check(actor.merchant_id, campaign)  # fewer than 8 left: alerted once


def rows(c: Container, name: str) -> Rows:
    projection = c.projections.runner(name).projection
    with c.db.transaction() as tx:
        return {t: sorted((tuple(sorted(r.items())) for r in tx.query(f"SELECT * FROM {t}")), key=repr)
                for t in projection.tables}


def rebuilt(c: Container, name: str) -> Rows:
    c.projections.rebuild(name)
    return rows(c, name)


def notification_ids(c: Container, after: int = 0) -> list[int]:
    return [n.id for n in c.ledger.recorder.select_notifications(after + 1, 1_000_000)]


# -- rebuild and audit -------------------------------------------------------------------------------


def test_a_rebuilt_projection_equals_the_live_one_row_for_row(
    make_container: Callable[..., Container], clock: ManualClock,
) -> None:
    # small batches, caught up between rounds: the live rows grew through many batch boundaries
    c = make_container(projection_batch_size=7)
    for tag in ("r1", "r2", "r3"):
        activity(c, ACME, tag, clock)
        activity(c, GLOBEX, tag, clock)
        c.projections.catch_up()
    assert all(c.projections.runner(n).stored_position() == c.ledger.head() for n in NAMES)

    for name in c.projections.runners:
        live = rows(c, name)
        assert any(live.values()), f"{name} has no rows: the comparison would prove nothing"
        assert rebuilt(c, name) == live, f"{name} rebuilt differently"
        assert c.projections.runner(name).stored_position() == c.ledger.head()


def test_audit_reports_ok_after_lots_of_activity_and_catches_a_tampered_row(
    make_container: Callable[..., Container], clock: ManualClock,
) -> None:
    c = make_container(projection_batch_size=11)
    c.start_projections()
    for tag in ("a1", "a2"):
        activity(c, ACME, tag, clock)
        activity(c, GLOBEX, tag, clock)
    head = c.ledger.head()
    assert all(c.projections.wait(name, head, 10) for name in NAMES)
    c.projections.stop()

    for name in NAMES:
        for merchant in (None, "acme", "globex"):
            report = c.projections.audit(name, merchant_id=merchant)
            assert report.ok, report.as_dict()
            assert report.position == head
            assert all(t.live_rows == t.replayed_rows for t in report.tables)
            assert sum(t.live_rows for t in report.tables) > 0

    # the audit is no rubber stamp: one wrong counter shows, for its merchant only
    right = c.queries.campaign_stats("globex", str(Campaign.id_for("globex", "a1-single")))["redeemed"]
    with c.db.transaction(write=True) as tx:
        tx.execute("UPDATE campaign_stats SET redeemed = redeemed + 1 WHERE merchant_id='globex' "
                   "AND key='a1-single'")
    report = c.projections.audit("campaign_stats")
    stats = next(t for t in report.tables if t.table == "campaign_stats")
    assert not report.ok
    assert [(r["merchant_id"], r["key"], r["redeemed"]) for r in stats.missing] == [
        ("globex", "a1-single", right)]
    assert [(r["merchant_id"], r["key"], r["redeemed"]) for r in stats.unexpected] == [
        ("globex", "a1-single", right + 1)]
    assert c.projections.audit("campaign_stats", merchant_id="acme").ok
    assert not c.projections.audit("campaign_stats", merchant_id="globex").ok


# -- crash mid-batch ----------------------------------------------------------------------------------


class Crash(RuntimeError):
    pass


@pytest.mark.parametrize("name", NAMES)
def test_a_crash_mid_batch_rolls_back_the_rows_and_the_position(
    make_container: Callable[..., Container], clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    c = make_container()
    runner = c.projections.runner(name)
    activity(c, ACME, "before", clock)
    runner.catch_up()
    activity(c, ACME, "during", clock)
    position, before = runner.stored_position(), rows(c, name)
    pending = notification_ids(c, position)
    k = len(pending) * 2 // 3  # deep in the batch: the handlers wrote plenty before the fault
    seen: dict[str, Any] = {"calls": 0}
    process = runner.projection.process

    def faulty(event: Any, tx: Any, at: int) -> None:
        seen["calls"] += 1
        if seen["calls"] == k:
            seen["rows_in_tx"] = {t: len(tx.query(f"SELECT * FROM {t}")) for t in before}
            seen["at"] = at
            raise Crash(f"handler failed on event {at}")
        process(event, tx, at)

    monkeypatch.setattr(runner.projection, "process", faulty)
    with pytest.raises(Crash):
        runner.run_once()

    assert seen["at"] == pending[k - 1]
    assert runner.stored_position() == position
    assert rows(c, name) == before, "a failed batch left rows behind"
    assert seen["rows_in_tx"] != {t: len(r) for t, r in before.items()}, "the batch had written nothing"

    monkeypatch.undo()
    assert runner.catch_up() == c.ledger.head()
    live = rows(c, name)
    assert live != before
    assert rebuilt(c, name) == live


def test_a_crash_in_the_hub_loop_rolls_back_every_projection_of_the_batch(
    make_container: Callable[..., Container], clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = make_container()
    hub = c.projections
    activity(c, ACME, "before", clock)
    while hub.run_once():
        pass
    activity(c, ACME, "during", clock)
    positions = {n: r.stored_position() for n, r in hub.runners.items()}
    before = {n: rows(c, n) for n in NAMES}
    stats = hub.runner("campaign_stats").projection
    k, calls = len(notification_ids(c, positions["campaign_stats"])) // 2, {"n": 0}
    process = stats.process

    def faulty(event: Any, tx: Any, at: int) -> None:
        calls["n"] += 1
        if calls["n"] == k:
            raise Crash("campaign_stats failed")
        process(event, tx, at)

    monkeypatch.setattr(stats, "process", faulty)
    with pytest.raises(Crash):
        hub.run_once()

    # wallet was applied before campaign_stats in the same transaction: it is rolled back too
    assert {n: r.stored_position() for n, r in hub.runners.items()} == positions
    assert {n: rows(c, n) for n in NAMES} == before
    monkeypatch.undo()
    while hub.run_once():
        pass
    assert {r.stored_position() for r in hub.runners.values()} == {c.ledger.head()}
    for name in NAMES:
        live = rows(c, name)
        assert live != before[name]
        assert rebuilt(c, name) == live


# -- two runners on one projection ------------------------------------------------------------------


@pytest.mark.parametrize("driver", ["runner", "hub"])
def test_two_runners_racing_on_one_projection_apply_every_event_exactly_once(
    make_container: Callable[..., Container], driver: str,
) -> None:
    """Two "processes" (own pools) step the same read model at once: by one projection's runner,
    or by the hub's loop step that applies a batch to every projection in one transaction."""
    writer = make_container()
    keys = ("east", "west", "north")
    for key in keys:
        live_campaign(writer, ACME, key, voucher_type="multi_use", redemption_limit=20)
        writer.vouchers.issue_codes(ACME, key, codes=[f"{key.upper()}-ALL"])
        for n in range(24):  # 20 accepted, 4 refused: the limit
            redeem(writer, ACME, f"{key.upper()}-ALL", f"c-{n}")
    notifications = notification_ids(writer)

    hubs = [make_container(projection_batch_size=5).projections for _ in range(2)]
    steps: list[Callable[[], int]] = [
        h.runner("campaign_stats").run_once if driver == "runner" else h.run_once for h in hubs]
    applied: list[list[int]] = [[], []]
    losses: Counter[str] = Counter()
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait(timeout=10)
        while True:
            try:
                processed = steps[i]()
            except TrackingMoved:
                losses["TrackingMoved"] += 1
                continue
            except BaseException as exc:
                failures.append(exc)
                return
            if not processed:
                return
            applied[i].append(processed)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert not failures, failures
    assert losses or all(applied), "one runner did everything unopposed: the runners did not race"

    assert sum(map(sum, applied)) == len(notifications), "an event was applied twice or never"
    moved = ["campaign_stats"] if driver == "runner" else NAMES
    assert {n: hubs[0].runner(n).stored_position() for n in moved} == dict.fromkeys(moved, notifications[-1])
    for key in keys:
        stats = writer.queries.campaign_stats("acme", str(Campaign.id_for("acme", key)))
        assert {k: stats[k] for k in ("issued", "redeemed", "rejected", "discount_total")} == {
            "issued": 1, "redeemed": 20, "rejected": 4, "discount_total": 20 * 500}
        assert stats["rejections_by_reason"] == {"redemption_limit_reached": 4}
    for name in moved:
        assert writer.projections.audit(name).ok, name


def _stale_run_once(stale: ProjectionRunner, winner: ProjectionRunner,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The stale runner reads its batch; the winner then applies it; then the stale one goes on."""
    select = stale.ledger.recorder.select_notifications

    def read_then_lose(*args: Any, **kwargs: Any) -> Any:
        batch = select(*args, **kwargs)
        assert winner.run_once() == len(batch)  # another pool: commits before the stale write
        return batch

    monkeypatch.setattr(stale.ledger.recorder, "select_notifications", read_then_lose)
    stale.run_once()


def test_a_runner_that_lost_a_batch_of_updates_gets_tracking_moved_and_writes_nothing(
    make_container: Callable[..., Container], monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = make_container()
    live_campaign(first, ACME, "hot", voucher_type="multi_use", redemption_limit=None)
    first.vouchers.issue_codes(ACME, "hot", codes=["HOT-1"])
    stale, winner = (make_container().projections.runner("campaign_stats") for _ in range(2))
    stale.catch_up()
    for n in range(3):  # only updates of existing campaign_stats rows follow
        redeem(first, ACME, "HOT-1", f"c-{n}")
    before = rows(first, "campaign_stats")

    with pytest.raises(TrackingMoved):
        _stale_run_once(stale, winner, monkeypatch)

    stats = first.queries.campaign_stats("acme", str(Campaign.id_for("acme", "hot")))
    assert stats["redeemed"] == 3
    assert rows(first, "campaign_stats") != before
    assert stale.stored_position() == first.ledger.head()


def test_a_runner_that_lost_a_batch_of_inserts_gets_tracking_moved(
    make_container: Callable[..., Container], monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = make_container()
    stale, winner = (make_container().projections.runner("campaign_stats") for _ in range(2))
    live_campaign(first, ACME, "fresh")  # Campaign.Created inserts a campaign_stats row

    with pytest.raises(TrackingMoved):
        _stale_run_once(stale, winner, monkeypatch)


# -- a read model ahead of the others -----------------------------------------------------------


def test_the_hub_loop_never_moves_a_read_model_that_is_ahead_back(
    make_container: Callable[..., Container],
) -> None:
    c = make_container(projection_batch_size=5)
    live_campaign(c, ACME, "ahead", voucher_type="multi_use", redemption_limit=None)
    c.vouchers.issue_codes(ACME, "ahead", codes=["AHEAD-1"])
    c.projections.catch_up()
    for n in range(20):
        redeem(c, ACME, "AHEAD-1", f"c-{n}")
    head = c.ledger.head()
    # campaign_stats alone is caught up (`promo projections rebuild campaign_stats`, or a
    # catch-up that stopped half-way through the projections); the server's loop then runs
    assert c.projections.runner("campaign_stats").catch_up() == head

    seen = []
    while c.projections.run_once():
        seen.append(c.projections.runner("campaign_stats").stored_position())

    stats = c.queries.campaign_stats("acme", str(Campaign.id_for("acme", "ahead")))
    assert stats["redeemed"] == 20, "redemptions counted twice"
    assert c.projections.audit("campaign_stats").ok
    assert seen == [head] * len(seen), "campaign_stats was moved back"


def test_rebuilding_one_read_model_while_the_server_loop_runs_leaves_the_others_intact(
    make_container: Callable[..., Container], clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = make_container(projection_batch_size=5)
    activity(server, ACME, "live", clock)
    while server.projections.run_once():
        pass
    before = {n: rows(server, n) for n in NAMES}

    cli = make_container(projection_batch_size=5)  # `promo projections rebuild wallet`
    wallet = cli.projections.runner("wallet")
    server_errors: list[str] = []

    def replay_while_the_server_loop_runs() -> int:
        while wallet.run_once():
            try:  # one step of the server's loop, which retries whatever fails
                server.projections.run_once()
            except Exception as exc:
                server_errors.append(type(exc).__name__)
        return wallet.stored_position()

    monkeypatch.setattr(wallet, "catch_up", replay_while_the_server_loop_runs)
    wallet.rebuild()
    for _ in range(100):
        try:
            if not server.projections.run_once():
                break
        except Exception as exc:
            server_errors.append(type(exc).__name__)

    assert server_errors == []
    assert {n: rows(server, n) for n in NAMES} == before
    assert all(server.projections.audit(n).ok for n in NAMES)


# -- restart --------------------------------------------------------------------------------------------


def test_a_new_process_resumes_from_the_stored_position_not_from_zero(
    make_container: Callable[..., Container], clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = make_container(projection_batch_size=10)
    activity(old, ACME, "x", clock)
    activity(old, GLOBEX, "x", clock)
    for _ in range(3):
        for runner in old.projections.runners.values():
            assert runner.run_once() == 10
    stopped_at = {name: r.stored_position() for name, r in old.projections.runners.items()}
    old.close()  # the process goes away mid-way

    new = make_container()
    processed: dict[str, list[int]] = {name: [] for name in NAMES}
    for name, runner in new.projections.runners.items():
        assert runner.stored_position() == stopped_at[name] > 0
        process = runner.projection.process

        def counting(event: Any, tx: Any, at: int, _name: str = name, _process: Any = process) -> None:
            processed[_name].append(at)
            _process(event, tx, at)

        monkeypatch.setattr(runner.projection, "process", counting)
    while new.projections.run_once():  # the restarted server's loop
        pass

    monkeypatch.undo()
    for name in NAMES:
        assert processed[name] == notification_ids(new, stopped_at[name]), f"{name} did not resume"
        live = rows(new, name)
        assert rebuilt(new, name) == live


# -- waiting for positions ----------------------------------------------------------------------------


def test_read_your_writes_sees_an_assignment_at_once(
    make_container: Callable[..., Container],
) -> None:
    c = make_container(read_wait_seconds=5)
    live_campaign(c, ACME, "ryw", stock=50)
    c.start_projections()
    for n in range(10):
        result = c.vouchers.assign_new_voucher(ACME, "ryw", f"cust-{n}", idempotency_key=f"ryw-{n}")
        started = time.monotonic()
        wallet = c.queries.wallet("acme", f"cust-{n}", min_position=result.position)
        assert [v["code"] for v in wallet["vouchers"]] == [result.body["code"]]
        assert time.monotonic() - started < 2
        stats = c.queries.campaign_stats("acme", result.body["campaign_id"], min_position=result.position)
        assert stats["assigned"] == n + 1


def test_wait_for_times_out_while_the_runner_is_stopped(
    make_container: Callable[..., Container],
) -> None:
    c = make_container(read_wait_seconds=0.2)
    c.start_projections()
    live_campaign(c, ACME, "stopped", stock=5)
    assert c.projections.wait("wallet", c.ledger.head(), 5)
    c.projections.stop()

    result = c.vouchers.assign_new_voucher(ACME, "stopped", "cust-1")
    started = time.monotonic()
    assert c.projections.runner("wallet").wait_for(result.position, 0.3) is False
    assert time.monotonic() - started >= 0.3
    with pytest.raises(ProjectionLagging) as lagging:
        c.queries.wallet("acme", "cust-1", min_position=result.position)
    assert lagging.value.code == "projection_lagging"
    with pytest.raises(InvalidInput) as beyond:
        c.queries.wallet("acme", "cust-1", min_position=result.position + 1000)
    assert beyond.value.code == "unknown_position"

    # a runner elsewhere (another process) does the work: the stopped one sees it in the table
    elsewhere = make_container()
    elsewhere.projections.catch_up()
    assert c.projections.runner("wallet").wait_for(result.position, 5) is True
    assert [v["code"] for v in c.queries.wallet("acme", "cust-1", result.position)["vouchers"]] == [
        result.body["code"]]


def test_events_a_projection_ignores_still_advance_its_position(
    make_container: Callable[..., Container],
) -> None:
    c = make_container()
    c.start_projections()
    # campaign and idempotency events only: the redemption log handles none of them, and the
    # last event of this command (its idempotency record) is handled by no projection at all
    c.campaigns.create_campaign(ACME, "quiet", {"name": "Quiet", "currency": "EUR",
                                                "reward": reward_amount_off()})
    result = c.campaigns.change_status(ACME, "quiet", "submit", idempotency_key="submit-quiet")
    assert result.position == c.ledger.head()

    for name in NAMES:
        assert c.projections.wait(name, result.position, 5), f"{name} never reached the head"
    assert c.projections.runner("redemption_log").stored_position() == result.position
    assert rows(c, "redemption_log") == {"redemption_log": []}
    log = c.queries.redemptions("acme", LogFilter(), limit=10, before=None, min_position=result.position)
    assert log["items"] == []
