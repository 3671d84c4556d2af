"""Reward types that hand something over (C5 gift, partner code; W2 offer) and budgets (C4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from application.commands import Actor
from application.redemptions import RedeemRequest
from domain.eligibility import Order, OrderLine
from domain.errors import DomainError
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign, terms
from tests.http.helpers import KeyMaker
from tests.pools.helpers import code, pool_campaign, upload

GIFT = {"type": "gift", "sku": "MUG-1", "name": "Mug", "cost": 300, "quantity": 2, "min_spend": 5_000}
CART = [OrderLine("A", 2, 3_000, "food")]


def refused(call: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value


def one_code(c: Container, actor: Actor, key: str, code_text: str) -> str:
    c.vouchers.issue_codes(actor, key, codes=[code_text])
    return code_text


def redeem(c: Container, actor: Actor, code_text: str, customer: str | None = "c1",
           lines: list[OrderLine] | None = None) -> tuple[int, dict[str, Any]]:
    order = Order.build(None, "EUR", None, lines or CART)
    result = c.redemptions.redeem(actor, RedeemRequest(code_text, order, customer_id=customer))
    return result.status, result.body


# -- C4: stock from budget ÷ unit cost ------------------------------------------------------------

@pytest.mark.parametrize(("reward", "unit_cost"), [
    ({"type": "amount_off", "amount": 2_000, "min_spend": 10_000}, 2_000),  # 100 off 20
    ({"type": "percent_off", "basis_points": 1_200, "list_price": 10_000}, 1_200),  # 88% pays 88
    ({"type": "cash_voucher", "price": 20_000, "face_value": 25_000}, 5_000),  # pay 200 get 250
    (GIFT, 600),
    ({"type": "partner_code", "pool": "cards", "cost": 1_500}, 1_500),
])
def test_a_budget_buys_its_stock_at_the_reward_unit_cost(
    container: Container, admin: Actor, reward: dict[str, Any], unit_cost: int
) -> None:
    body = container.campaigns.create_campaign(admin, "b", terms(reward=reward, budget=100_000)).body
    assert (body["unit_cost"], body["stock"], body["budget"]) == (unit_cost, 100_000 // unit_cost,
                                                                  100_000)


def test_a_budget_refuses_what_it_cannot_pay_for(container: Container, admin: Actor) -> None:
    def create(**kw: Any) -> str:
        return refused(lambda: container.campaigns.create_campaign(admin, "b", terms(**kw))).code

    assert create(budget=10_000, stock=21) == "stock_exceeds_budget"  # 500 each: 20 at most
    assert create(budget=499) == "budget_too_small"
    assert create(budget=10_000, reward={"type": "percent_off", "basis_points": 1_000}) \
        == "unit_cost_unknown"
    assert create(budget=10_000, reward={"type": "offer", "campaign": "x"}) == "unit_cost_unknown"
    ok = container.campaigns.create_campaign(admin, "b", terms(budget=10_000, stock=15)).body
    assert ok["stock"] == 15


# -- C5: gift item ----------------------------------------------------------------------------------

def test_a_gift_is_handed_over_with_its_cost_split_and_no_money_off(container: Container,
                                                                    admin: Actor) -> None:
    live_campaign(container, admin, reward=GIFT, rules={"cost_bearer": "split", "group_share_bp": 8_000})
    mug = one_code(container, admin, "spring", "MUG-CODE-1")

    short = container.redemptions.validate(admin, RedeemRequest(
        mug, Order.build(None, "EUR", None, [OrderLine("A", 1, 3_000)])))
    status, body = redeem(container, admin, mug)

    assert [r["code"] for r in short["reasons"]] == ["min_spend_not_met"]
    assert status == 201 and body["discount"] == 0
    assert body["reward"] == {"type": "gift", "sku": "MUG-1", "name": "Mug", "quantity": 2}
    assert body["costs"] == {"group": 480, "store": 120}


# -- C5: third-party reward code from a partner pool ----------------------------------------------

def test_a_partner_code_is_drawn_from_the_pool_with_the_redemption(container: Container,
                                                                   admin: Actor) -> None:
    pool_campaign(container, admin, "cards")
    upload(container, admin, [code(1), code(2)], key="cards")
    live_campaign(container, admin, reward={"type": "partner_code", "pool": "cards", "cost": 1_000},
                  voucher_type="multi_use", redemption_limit=10)
    promo = one_code(container, admin, "spring", "CARD-PROMO")

    first = redeem(container, admin, promo, "c1")
    second = redeem(container, admin, promo, "c2")
    dry = redeem(container, admin, promo, "c3")

    drawn = {first[1]["reward"]["code"], second[1]["reward"]["code"]}
    assert first[0] == second[0] == 201 and drawn == {code(1), code(2)}
    assert first[1]["reward"]["internal_code"] and first[1]["costs"]["group"] == 1_000
    assert dry[0] == 422 and [r["code"] for r in dry[1]["reasons"]] == ["reward_sold_out"]
    voucher = container.vouchers.get_voucher("acme", promo)
    assert voucher["redemption_count"] == 2  # the refused one used nothing up


# -- W2: a promo code whose outcome is an offer in the wallet -------------------------------------

def test_a_promo_code_places_an_offer_that_is_redeemed_later(container: Container, admin: Actor
                                                             ) -> None:
    live_campaign(container, admin, "comeback", reward={"type": "amount_off", "amount": 700}, stock=5)
    live_campaign(container, admin, reward={"type": "offer", "campaign": "comeback"},
                  voucher_type="multi_use", redemption_limit=None)
    promo = one_code(container, admin, "spring", "WELCOMEBACK")

    status, body = redeem(container, admin, promo, "c1")
    offer = body["reward"]
    placed = container.vouchers.get_voucher("acme", offer["voucher_code"])
    later = redeem(container, admin, offer["voucher_code"], "c1")
    anonymous = redeem(container, admin, promo, None)

    assert status == 201 and body["discount"] == 0 and offer["campaign"] == "comeback"
    assert placed["holder"] == "c1" and placed["campaign_key"] == "comeback"
    assert later[0] == 201 and later[1]["discount"] == 700
    assert anonymous[0] == 422 and [r["code"] for r in anonymous[1]["reasons"]] == ["customer_required"]
    assert container.campaigns.get_campaign("acme", "comeback")["issued"] == 1


def test_an_offer_that_cannot_be_placed_rejects_the_redemption_and_uses_nothing(
    container: Container, admin: Actor
) -> None:
    container.campaigns.create_campaign(admin, "later", terms())  # in draft: no offers yet
    live_campaign(container, admin, "once", reward={"type": "amount_off", "amount": 100},
                  rules={"claim": {"total": 1}})
    live_campaign(container, admin, reward={"type": "offer", "campaign": "later"},
                  voucher_type="multi_use", redemption_limit=None)
    live_campaign(container, admin, "twice", reward={"type": "offer", "campaign": "once"},
                  voucher_type="multi_use", redemption_limit=None)
    promo = one_code(container, admin, "spring", "OFFER-DRAFT")
    repeat = one_code(container, admin, "twice", "OFFER-ONCE")

    status, body = redeem(container, admin, promo)
    assert status == 422 and [r["code"] for r in body["reasons"]] == ["offer_unavailable"]
    assert container.vouchers.get_voucher("acme", promo)["redemption_count"] == 0

    assert redeem(container, admin, repeat, "c1")[0] == 201
    status, body = redeem(container, admin, repeat, "c1")
    assert status == 422 and [r["code"] for r in body["reasons"]] == ["claim_limit_total"]


def test_reward_types_and_budgets_over_http(client: TestClient, keys: KeyMaker) -> None:
    ops = keys("operations")
    body = {"key": "g", "name": "Gift", "currency": "EUR", "reward": GIFT, "budget": 6_000}
    created = client.post("/v1/campaigns", headers=ops, json=body)
    bad = client.post("/v1/campaigns", headers=ops, json={**body, "key": "h", "stock": 11})
    unknown = client.post("/v1/campaigns", headers=ops,
                          json={**body, "key": "i", "reward": {"type": "gift", "sku": "X"}})

    assert created.status_code == 201 and created.json()["stock"] == 10
    assert created.json()["unit_cost"] == 600
    assert bad.status_code == 422 and bad.json()["code"] == "stock_exceeds_budget"
    assert unknown.status_code == 422


def test_reversing_the_promo_redemption_withdraws_an_unused_offer(container: Container, admin: Actor
                                                                  ) -> None:
    live_campaign(container, admin, "comeback", reward={"type": "amount_off", "amount": 700})
    live_campaign(container, admin, reward={"type": "offer", "campaign": "comeback"},
                  voucher_type="multi_use", redemption_limit=None)
    promo = one_code(container, admin, "spring", "WELCOMEBACK")
    _, unused = redeem(container, admin, promo, "c1")
    _, used = redeem(container, admin, promo, "c1")
    assert redeem(container, admin, used["reward"]["voucher_code"], "c1")[0] == 201

    for body in (unused, used):
        container.redemptions.reverse(admin, UUID(body["id"]), "order cancelled")

    withdrawn = container.vouchers.get_voucher("acme", unused["reward"]["voucher_code"])
    spent = container.vouchers.get_voucher("acme", used["reward"]["voucher_code"])
    status, late = redeem(container, admin, unused["reward"]["voucher_code"], "c1")
    container.projections.catch_up()
    in_wallet = {v["code"] for v in container.queries.wallet("acme", "c1")["vouchers"]}
    assert withdrawn["state"] == "withdrawn" and spent["state"] == "redeemed"
    assert unused["reward"]["voucher_code"] not in in_wallet
    assert used["reward"]["voucher_code"] in in_wallet
    assert status == 422 and "voucher_withdrawn" in [r["code"] for r in late["reasons"]]
