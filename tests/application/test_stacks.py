"""Stacking (R3): several codes on one order, in the documented order, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from application.commands import Actor
from application.stacks import StackRequest
from domain.eligibility import Order, OrderLine
from domain.errors import InvalidInput
from domain.voucher import Voucher
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign

LINES = [OrderLine("shoe", 1, 6000, "footwear"), OrderLine("sock", 2, 1000, "apparel")]


def order(order_id: str = "o-1") -> Order:
    return Order.build(None, "EUR", order_id, LINES)


def code_for(c: Container, actor: Actor, key: str, **terms: Any) -> str:
    live_campaign(c, actor, key, voucher_type="multi_use", redemption_limit=None, **terms)
    code = key.upper() + "-1"
    c.vouchers.issue_codes(actor, key, codes=[code])
    return code


def stack(*codes: str, customer: str | None = "cust-1", order_id: str = "o-1") -> StackRequest:
    return StackRequest(codes=codes, order=order(order_id), customer_id=customer)


def uses(c: Container, code: str) -> int:
    voucher = c.ledger.find(Voucher.id_for("acme", code), Voucher)
    assert voucher is not None
    return voucher.redemption_count


def test_fixed_amounts_apply_before_percentages_on_what_they_leave(
    container: Container, admin: Actor
) -> None:
    # arrange: 10% off everything, listed first; 1000 off footwear
    ten = code_for(container, admin, "ten", reward={"type": "percent_off", "basis_points": 1000})
    shoes = code_for(container, admin, "shoes", reward={"type": "amount_off", "amount": 1000},
                     rules={"products": {"categories": ["footwear"]}})

    result = container.stacks.validate(admin, stack(ten, shoes))

    # assert: shoes first (6000 -> 5000), then 10% of 5000 + 2000
    assert result["order_of_application"] == [shoes, ten]
    items = {i["code"]: i for i in result["items"]}
    assert items[shoes]["discount"] == 1000
    assert items[shoes]["allocations"] == [{"line": 0, "sku": "shoe", "amount": 1000}]
    assert items[ten]["discount"] == 700
    assert sum(a["amount"] for a in items[ten]["allocations"]) == 700
    assert (result["valid"], result["discount"]) == (True, 1700)


@pytest.mark.parametrize("exclusivity", [{"exclusivity": "exclusive"},
                                         {"exclusivity": "only_with", "combinable_with": ["other"]}])
def test_exclusivity_refuses_the_stack_from_either_side(
    container: Container, admin: Actor, exclusivity: dict[str, Any]
) -> None:
    solo = code_for(container, admin, "solo", rules=exclusivity)
    plain = code_for(container, admin, "plain")

    result = container.stacks.validate(admin, stack(plain, solo))

    assert result["valid"] is False
    items = {i["code"]: i for i in result["items"]}
    assert [r["code"] for r in items[solo]["reasons"]] == ["not_combinable"]
    assert items[plain]["valid"] is True  # its own rules allow it; the stack still fails


def test_a_refused_stack_redeems_nothing_and_records_only_the_failures(
    container: Container, admin: Actor
) -> None:
    good = code_for(container, admin, "good")
    picky = code_for(container, admin, "picky", rules={"stores": ["store-9"]})

    result = container.stacks.redeem(admin, stack(good, picky), "stack-1")

    assert result.status == 422
    assert result.body["reasons"][0]["code"] == "wrong_store"
    assert [r["code"] for r in result.body["rejections"]] == [picky]
    assert (uses(container, good), uses(container, picky)) == (0, 0)


def test_a_stack_redeems_every_code_in_one_transaction_and_replays(
    container: Container, admin: Actor
) -> None:
    first = code_for(container, admin, "first")
    second = code_for(container, admin, "second", reward={"type": "percent_off", "basis_points": 500})

    redeemed = container.stacks.redeem(admin, stack(first, second), "stack-2")
    again = container.stacks.redeem(admin, stack(first, second), "stack-2")

    assert redeemed.status == 201 and redeemed.body["status"] == "redeemed"
    ids = {r["stack_id"] for r in redeemed.body["redemptions"]}
    assert ids == {redeemed.body["id"]}
    assert (again.replayed, again.body) == (True, redeemed.body)
    assert (uses(container, first), uses(container, second)) == (1, 1)


def test_two_codes_of_one_campaign_share_the_customer_limit(container: Container, admin: Actor) -> None:
    live_campaign(container, admin, "once", per_customer_limit=1)
    codes = container.vouchers.issue_codes(admin, "once", count=2).body["codes"]

    result = container.stacks.redeem(admin, stack(*codes), "stack-3")

    assert result.status == 422
    assert result.body["reasons"][0]["code"] == "customer_limit_reached"
    assert [uses(container, c) for c in codes] == [0, 0]


def test_a_stack_refuses_a_repeated_code(container: Container, admin: Actor) -> None:
    code = code_for(container, admin, "dup")
    with pytest.raises(InvalidInput) as refused:
        container.stacks.validate(admin, stack(code, code.lower()))
    assert refused.value.code == "duplicate_codes"


def test_stacks_over_http(client: Any, keys: Any, container: Container, admin: Actor) -> None:
    a = code_for(container, admin, "ha")
    b = code_for(container, admin, "hb", rules={"exclusivity": "exclusive"})
    body = {"codes": [a], "customer_id": "c-1",
            "order": {"currency": "EUR", "lines": [{"sku": "x", "quantity": 1, "unit_price": 3000}]}}

    ok = client.post("/v1/stack-validations", headers=keys("checkout"), json=body)
    redeemed = client.post("/v1/stack-redemptions", headers=keys("checkout"), json=body)
    refused = client.post("/v1/stack-redemptions", headers=keys("checkout"), json={**body, "codes": [b, a]})

    assert ok.status_code == 200 and ok.json()["discount"] == 500
    assert redeemed.status_code == 201 and redeemed.json()["redemptions"][0]["code"] == a
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "not_combinable" and {i["code"] for i in problem["items"]} == {a, b}
