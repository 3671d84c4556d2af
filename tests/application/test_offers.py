"""Best offer (R6) and linked codes (V6)."""

from __future__ import annotations

from typing import Any

import pytest

from application.commands import Actor
from application.stacks import StackRequest
from domain.eligibility import Order, OrderLine
from domain.errors import InvalidInput
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign

CART = Order.build(None, "EUR", "o-1", [OrderLine("shoe", 1, 6000, "footwear"), OrderLine("sock", 2, 1000)])


def held(c: Container, actor: Actor, key: str, customer: str = "cust-1", **terms: Any) -> str:
    """A campaign with one code in the customer's wallet."""
    live_campaign(c, actor, key, **terms)
    return c.vouchers.assign_new_voucher(actor, key, customer).body["code"]


def test_best_offers_rank_the_wallet_and_build_the_best_valid_stack(
    container: Container, admin: Actor
) -> None:
    small = held(container, admin, "small", reward={"type": "amount_off", "amount": 300})
    big = held(container, admin, "big", reward={"type": "percent_off", "basis_points": 2000},
               rules={"exclusivity": "exclusive"})
    mid = held(container, admin, "mid", reward={"type": "amount_off", "amount": 1000})
    wrong = held(container, admin, "wrong", rules={"stores": ["elsewhere"]})
    container.projections.catch_up()

    result = container.offers.best_offers(admin, "cust-1", CART)

    ranked = [(o["code"], o["valid"], o["discount"]) for o in result["offers"]]
    assert ranked[:3] == [(big, True, 1600), (mid, True, 1000), (small, True, 300)]
    assert ranked[3][0] == wrong and ranked[3][1] is False
    # greedy from the best single: the exclusive 20% refuses company, and 1,300 would be less
    assert result["best_stack"]["codes"] == [big]
    assert result["best_stack"]["discount"] == 1600


def test_the_best_stack_combines_what_may_combine(container: Container, admin: Actor) -> None:
    a = held(container, admin, "a", reward={"type": "amount_off", "amount": 1000})
    b = held(container, admin, "b", reward={"type": "amount_off", "amount": 500})

    container.projections.catch_up()
    result = container.offers.best_offers(admin, "cust-1", CART)

    assert sorted(result["best_stack"]["codes"]) == sorted([a, b])
    assert result["best_stack"]["discount"] == 1500


def test_a_linked_code_is_applied_when_it_gives_more(container: Container, admin: Actor) -> None:
    live_campaign(container, admin, "flyer", reward={"type": "amount_off", "amount": 700})
    container.vouchers.issue_codes(admin, "flyer", codes=["FLYER-42"])
    linked = container.vouchers.link_voucher(admin, "FLYER-42", "cust-1")
    assert linked.body["linked"] is True
    container.projections.catch_up()

    plain = container.stacks.validate(admin, StackRequest(codes=(), order=CART, customer_id="cust-1",
                                                          apply_linked=True))
    redeemed = container.stacks.redeem(admin, StackRequest(codes=(), order=CART, customer_id="cust-1",
                                                           apply_linked=True), "linked-1")

    assert plain["order_of_application"] == ["FLYER-42"] and plain["discount"] == 700
    assert redeemed.status == 201 and redeemed.body["redemptions"][0]["code"] == "FLYER-42"
    again = container.stacks.validate
    with pytest.raises(InvalidInput) as nothing:  # used up: nothing linked applies any more
        container.projections.catch_up()
        again(admin, StackRequest(codes=(), order=CART, customer_id="cust-1", apply_linked=True))
    assert nothing.value.code == "no_codes"


def test_best_offers_over_http(client: Any, keys: Any, container: Container, admin: Actor) -> None:
    code = held(container, admin, "web", reward={"type": "amount_off", "amount": 400})
    body = {"customer_id": "cust-1", "order": {"currency": "EUR", "amount": 5000}}

    response = client.post("/v1/best-offers", headers=keys("checkout"), json=body,
                           params={"min_position": container.ledger.head()})

    assert response.status_code == 200
    assert response.json()["best_stack"] == {"codes": [code], "discount": 400, "points": 0,
                                             "order_of_application": [code]}
