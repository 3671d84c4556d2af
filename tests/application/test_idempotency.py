"""Idempotency-Key: the first answer is stored with the command's effects and replayed after.

Both stores. Multi-use codes with room to spare are used where a double application would
succeed (and so show), rather than be refused by the voucher itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from application.commands import Actor, CommandResult, ConcurrencyConflict, IdempotencyKeyReused
from application.redemptions import RedeemRequest
from domain.campaign import Campaign
from domain.eligibility import Order
from domain.voucher import Voucher
from infrastructure.bootstrap import Container
from projections.redemption_log import LogFilter
from tests.conftest import live_campaign

ACME = Actor(merchant_id="acme", role="admin", ref="test:acme")
GLOBEX = Actor(merchant_id="globex", role="admin", ref="test:globex")


def order(order_id: str = "o-1", amount: int = 3000) -> Order:
    return Order.build(amount, "EUR", order_id, [])


def multi_use(c: Container, actor: Actor = ACME, key: str = "multi", code: str = "SHARED-10",
              limit: int = 100) -> str:
    live_campaign(c, actor, key, voucher_type="multi_use", redemption_limit=limit)
    c.vouchers.issue_codes(actor, key, codes=[code])
    return code


def redemption_count(c: Container, merchant_id: str, code: str) -> int:
    voucher = c.ledger.find(Voucher.id_for(merchant_id, code), Voucher)
    assert voucher is not None
    return voucher.redemption_count


def log(c: Container, merchant_id: str = "acme") -> list[dict[str, Any]]:
    c.projections.catch_up()
    items: list[dict[str, Any]] = c.queries.redemptions(merchant_id, LogFilter(), limit=100,
                                                        before=None)["items"]
    return items


def test_the_same_key_and_request_replays_the_first_answer_and_applies_once(container: Container) -> None:
    code = multi_use(container)
    request = RedeemRequest(code=code, order=order(), customer_id="cust-1")

    first = container.redemptions.redeem(ACME, request, "checkout-1")
    head = container.ledger.head()
    again = container.redemptions.redeem(ACME, request, "checkout-1")
    # the same request, spelt as a till might: the code is case-insensitive
    spelt = container.redemptions.redeem(ACME, RedeemRequest(code=f" {code.lower()} ", order=order(),
                                                             customer_id="cust-1"), "checkout-1")

    assert (first.status, first.replayed) == (201, False)
    for replay in (again, spelt):
        assert (replay.status, replay.body, replay.position, replay.replayed) == (
            first.status, first.body, first.position, True)
    assert container.ledger.head() == head, "a replay wrote events"
    assert redemption_count(container, "acme", code) == 1
    assert [(e["id"], e["status"]) for e in log(container)] == [(first.body["id"], "redeemed")]


def test_other_commands_replay_too_without_taking_stock_twice(container: Container) -> None:
    live_campaign(container, ACME, "stocked", stock=10)
    issued = container.vouchers.issue_codes(ACME, "stocked", count=3, idempotency_key="issue-1")
    assigned = container.vouchers.assign_new_voucher(ACME, "stocked", "cust-1", idempotency_key="give-1")

    assert container.vouchers.issue_codes(ACME, "stocked", count=3, idempotency_key="issue-1").body == (
        issued.body)
    again = container.vouchers.assign_new_voucher(ACME, "stocked", "cust-1", idempotency_key="give-1")
    assert (again.body["code"], again.position, again.replayed) == (
        assigned.body["code"], assigned.position, True)
    campaign = container.ledger.find(Campaign.id_for("acme", "stocked"), Campaign)
    assert campaign is not None and campaign.issued == 4
    container.projections.catch_up()
    wallet = container.queries.wallet("acme", "cust-1", again.position)["vouchers"]
    assert [v["code"] for v in wallet] == [assigned.body["code"]]


def test_the_same_key_for_a_different_request_is_refused(container: Container) -> None:
    code = multi_use(container)
    container.redemptions.redeem(ACME, RedeemRequest(code=code, order=order(), customer_id="cust-1"),
                                 "checkout-1")
    head = container.ledger.head()

    different: list[Callable[[], Any]] = [
        lambda: container.redemptions.redeem(  # another order
            ACME, RedeemRequest(code=code, order=order("o-2"), customer_id="cust-1"), "checkout-1"),
        lambda: container.redemptions.redeem(  # another customer
            ACME, RedeemRequest(code=code, order=order(), customer_id="cust-2"), "checkout-1"),
        lambda: container.vouchers.assign_voucher(ACME, code, "cust-1", "checkout-1"),  # another command
    ]
    for call in different:
        with pytest.raises(IdempotencyKeyReused) as refused:
            call()
        assert refused.value.code == "idempotency_key_reused"
        assert refused.value.kind == "invalid"
        assert refused.value.extra == {"key": "checkout-1"}
    assert container.ledger.head() == head
    assert redemption_count(container, "acme", code) == 1


def test_a_rejection_is_idempotent_too(container: Container) -> None:
    live_campaign(container, ACME, "single")
    code = container.vouchers.issue_codes(ACME, "single", count=1).body["codes"][0]
    won = container.redemptions.redeem(ACME, RedeemRequest(code=code, order=order("o-1"), customer_id="a"),
                                       "try-a")
    late = RedeemRequest(code=code, order=order("o-2"), customer_id="b")
    refused = container.redemptions.redeem(ACME, late, "try-b")
    assert (refused.status, refused.body["reasons"][0]["code"]) == (422, "voucher_already_redeemed")

    replay = container.redemptions.redeem(ACME, late, "try-b")
    assert (replay.status, replay.body, replay.position, replay.replayed) == (
        422, refused.body, refused.position, True)
    # the stored answer stands even when the world has changed since: the key asked once
    container.redemptions.reverse(ACME, UUID(won.body["id"]), "order cancelled")
    assert container.redemptions.redeem(ACME, late, "try-b").body == refused.body

    unknown = RedeemRequest(code="NO-SUCH-CODE", order=order("o-3"), customer_id="c")
    missing = container.redemptions.redeem(ACME, unknown, "try-c")
    assert missing.status == 404
    assert container.redemptions.redeem(ACME, unknown, "try-c").body == missing.body

    entries = log(container)
    assert sorted((e["status"], e["id"]) for e in entries if e["status"] == "rejected") == sorted([
        ("rejected", refused.body["id"]), ("rejected", missing.body["id"])])
    assert len(entries) == 3
    stats = container.queries.campaign_stats("acme", won.body["campaign_id"])
    assert (stats["rejected"], stats["rejections_by_reason"]) == (1, {"voucher_already_redeemed": 1})


def test_keys_are_scoped_per_merchant(container: Container) -> None:
    # the same code text, the same key and the same request at two merchants
    for actor in (ACME, GLOBEX):
        multi_use(container, actor)
    request = RedeemRequest(code="SHARED-10", order=order(), customer_id="cust-1")

    at_acme = container.redemptions.redeem(ACME, request, "checkout-1")
    at_globex = container.redemptions.redeem(GLOBEX, request, "checkout-1")
    # and a different request under the same key at a third merchant is no reuse either
    multi_use(container, Actor("initech", "admin", "test:initech"), code="OTHER-10")
    at_initech = container.redemptions.redeem(
        Actor("initech", "admin", "test:initech"),
        RedeemRequest(code="OTHER-10", order=order("o-9"), customer_id="cust-9"), "checkout-1")

    assert [r.replayed for r in (at_acme, at_globex, at_initech)] == [False, False, False]
    assert len({at_acme.body["id"], at_globex.body["id"], at_initech.body["id"]}) == 3
    assert at_acme.body["campaign_id"] != at_globex.body["campaign_id"]
    assert redemption_count(container, "acme", "SHARED-10") == 1
    assert redemption_count(container, "globex", "SHARED-10") == 1
    assert container.redemptions.redeem(GLOBEX, request, "checkout-1").body == at_globex.body
    assert container.redemptions.redeem(ACME, request, "checkout-1").body == at_acme.body
    assert [e["id"] for e in log(container, "globex")] == [at_globex.body["id"]]


def _race(containers: list[Container], calls: list[Callable[[Container], Any]], threads: int = 12
          ) -> list[Any]:
    """Run `calls` from `threads` threads spread over the containers, all released at once."""
    results: list[Any] = [None] * len(calls)
    pending = list(range(len(calls)))
    lock, barrier = threading.Lock(), threading.Barrier(threads)

    def worker(n: int) -> None:
        container = containers[n % len(containers)]
        barrier.wait(timeout=30)
        while True:
            with lock:
                if not pending:
                    return
                i = pending.pop()
            while True:
                try:
                    results[i] = calls[i](container)
                except ConcurrencyConflict:
                    continue  # a client retries with the same key
                except Exception as exc:
                    results[i] = exc
                break

    workers = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not any(w.is_alive() for w in workers)
    return results


def test_concurrent_duplicates_apply_once_and_every_caller_gets_the_same_answer(
    make_container: Callable[..., Container],
) -> None:
    containers = [make_container() for _ in range(3)]
    code = multi_use(containers[0])
    request = RedeemRequest(code=code, order=order(), customer_id="cust-1")

    results: list[CommandResult] = _race(
        containers, [lambda c: c.redemptions.redeem(ACME, request, "double-click")] * 36)

    assert all(isinstance(r, CommandResult) for r in results), results
    assert [r.replayed for r in results].count(False) == 1
    assert len({(r.status, repr(r.body), r.position) for r in results}) == 1
    assert redemption_count(containers[0], "acme", code) == 1
    assert [e["id"] for e in log(containers[0])] == [results[0].body["id"]]


def test_concurrent_different_requests_under_one_key_apply_one_and_refuse_the_rest(
    make_container: Callable[..., Container],
) -> None:
    containers = [make_container() for _ in range(3)]
    code = multi_use(containers[0])
    requests = [RedeemRequest(code=code, order=order(f"o-{n}"), customer_id=f"cust-{n}") for n in range(24)]

    def under_the_shared_key(request: RedeemRequest) -> Callable[[Container], CommandResult]:
        return lambda c: c.redemptions.redeem(ACME, request, "shared-key")

    results = _race(containers, [under_the_shared_key(r) for r in requests])

    applied = [r for r in results if isinstance(r, CommandResult)]
    assert len(applied) == 1 and not applied[0].replayed
    assert all(isinstance(r, IdempotencyKeyReused) for r in results if r is not applied[0])
    assert redemption_count(containers[0], "acme", code) == 1
