"""Holds (R7): a held use counts against the limit; confirm, cancel, or lapse by itself."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.clock import ManualClock
from application.commands import Actor
from application.stacks import StackRequest
from domain.eligibility import Order
from domain.errors import DomainError
from domain.voucher import Voucher
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign


def last_use_code(c: Container, actor: Actor, key: str = "last") -> str:
    """A code with exactly one use left."""
    live_campaign(c, actor, key, voucher_type="multi_use", redemption_limit=1)
    code = key.upper() + "-1"
    c.vouchers.issue_codes(actor, key, codes=[code])
    return code


def cart(code: str, order_id: str, customer: str = "cust-1") -> StackRequest:
    return StackRequest(codes=(code,), order=Order.build(3000, "EUR", order_id, []), customer_id=customer)


def uses(c: Container, code: str) -> int:
    voucher = c.ledger.find(Voucher.id_for("acme", code), Voucher)
    assert voucher is not None
    return voucher.redemption_count


def test_a_held_last_use_is_refused_to_everyone_else_until_confirmed(
    container: Container, admin: Actor
) -> None:
    code = last_use_code(container, admin)

    held = container.holds.place(admin, cart(code, "till-1"), 600)
    rival = container.stacks.redeem(admin, cart(code, "till-2", "cust-2"))
    second_hold = container.holds.place(admin, cart(code, "till-3", "cust-3"), 600)
    confirmed = container.holds.confirm(admin, UUID(held.body["id"]))

    assert held.status == 201 and held.body["status"] == "held"
    assert rival.status == 422 and rival.body["reasons"][0]["code"] == "voucher_held"
    assert second_hold.status == 422
    assert confirmed.status == 201 and confirmed.body["hold_id"] == held.body["id"]
    assert uses(container, code) == 1
    assert container.holds.get("acme", UUID(held.body["id"]))["status"] == "confirmed"


def test_a_cancelled_hold_gives_the_use_back(container: Container, admin: Actor) -> None:
    code = last_use_code(container, admin)
    held = container.holds.place(admin, cart(code, "till-1"), 600)

    cancelled = container.holds.cancel(admin, UUID(held.body["id"]), "customer walked away")
    redeemed = container.stacks.redeem(admin, cart(code, "till-2", "cust-2"))

    assert cancelled.body["status"] == "cancelled"
    assert redeemed.status == 201
    with pytest.raises(DomainError) as refused:
        container.holds.confirm(admin, UUID(held.body["id"]))
    assert refused.value.code == "hold_cancelled"


def test_a_lapsed_hold_stops_counting_without_any_job(
    container: Container, admin: Actor, clock: ManualClock
) -> None:
    code = last_use_code(container, admin)
    held = container.holds.place(admin, cart(code, "till-1"), 60)

    clock.advance(timedelta(seconds=61))
    redeemed = container.stacks.redeem(admin, cart(code, "till-2", "cust-2"))

    assert redeemed.status == 201
    assert container.holds.get("acme", UUID(held.body["id"]))["status"] == "lapsed"
    with pytest.raises(DomainError) as refused:
        container.holds.confirm(admin, UUID(held.body["id"]))
    assert refused.value.code == "hold_lapsed"


def test_two_tills_racing_for_the_last_use_get_one_hold(
    make_container: Callable[..., Container], admin: Actor
) -> None:
    tills = [make_container() for _ in range(3)]
    code = last_use_code(tills[0], admin)
    outcomes: Counter[int] = Counter()
    barrier = threading.Barrier(6)

    def till(n: int) -> None:
        barrier.wait(timeout=10)
        result = tills[n % 3].holds.place(admin, cart(code, f"till-{n}", f"cust-{n}"), 600, f"h-{n}")
        outcomes[result.status] += 1

    threads = [threading.Thread(target=till, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert outcomes == {201: 1, 422: 5}


def test_holds_over_http(client: Any, keys: Any, container: Container, admin: Actor) -> None:
    code = last_use_code(container, admin)
    body = {"codes": [code], "customer_id": "c-1", "seconds": 300,
            "order": {"id": "o-1", "amount": 3000, "currency": "EUR"}}
    checkout = keys("checkout")

    held = client.post("/v1/holds", headers=checkout, json=body)
    hold_id = held.json()["id"]
    confirmed = client.post(f"/v1/holds/{hold_id}/confirmation", headers=checkout)
    again = client.post(f"/v1/holds/{hold_id}/confirmation", headers=checkout)

    assert held.status_code == 201 and held.json()["validation"]["discount"] == 500
    assert confirmed.status_code == 201 and confirmed.json()["status"] == "redeemed"
    assert again.status_code == 409 and again.json()["code"] == "hold_confirmed"
    assert client.get(f"/v1/holds/{hold_id}", headers=checkout).json()["status"] == "confirmed"
