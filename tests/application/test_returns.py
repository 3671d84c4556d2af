"""Partial returns (R8): the discount on kept lines is decided again; the difference goes back."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from application.commands import Actor
from application.redemptions import RedeemRequest
from domain.campaign import Campaign
from domain.eligibility import Order, OrderLine
from domain.errors import InvalidInput
from domain.voucher import Voucher
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign

LINES = [OrderLine("shoe", 1, 6000, "footwear"), OrderLine("sock", 2, 1000, "apparel")]


def redeemed(c: Container, actor: Actor, key: str = "ret", **terms: Any) -> UUID:
    live_campaign(c, actor, key, voucher_type="multi_use", redemption_limit=None, **terms)
    code = key.upper() + "-1"
    c.vouchers.issue_codes(actor, key, codes=[code])
    result = c.redemptions.redeem(actor, RedeemRequest(
        code=code, order=Order.build(None, "EUR", "o-1", LINES), customer_id="cust-1"))
    assert result.status == 201, result.body
    return UUID(result.body["id"])


def stats(c: Container, key: str) -> dict[str, Any]:
    c.projections.catch_up()
    return c.queries.campaign_stats("acme", str(Campaign.id_for("acme", key)))


def uses(c: Container, key: str) -> int:
    voucher = c.ledger.find(Voucher.id_for("acme", key.upper() + "-1"), Voucher)
    assert voucher is not None
    return voucher.redemption_count


def test_returning_a_line_reverses_the_discount_it_no_longer_earns(
    container: Container, admin: Actor
) -> None:
    rid = redeemed(container, admin, reward={"type": "percent_off", "basis_points": 1000})  # 800 off 8000

    result = container.returns.return_lines(admin, rid, [("sock", 1)], "one sock came back")

    assert result.body["status"] == "partially_reversed"
    assert (result.body["discount"], result.body["discount_in_force"]) == (800, 700)
    assert result.body["returned"] == [{"sku": "sock", "quantity": 1}]
    assert (stats(container, "ret")["discount_total"], uses(container, "ret")) == (700, 1)


def test_kept_lines_below_the_minimum_spend_lose_the_whole_discount_but_not_the_use(
    container: Container, admin: Actor
) -> None:
    rid = redeemed(container, admin, reward={"type": "amount_off", "amount": 500, "min_spend": 7000})

    result = container.returns.return_lines(admin, rid, [("shoe", 1)], "shoes returned")

    assert result.body["discount_in_force"] == 0
    assert (stats(container, "ret")["discount_total"], uses(container, "ret")) == (0, 1)


def test_returning_everything_reverses_the_redemption(container: Container, admin: Actor) -> None:
    rid = redeemed(container, admin)
    container.returns.return_lines(admin, rid, [("sock", 1)], "first sock")

    result = container.returns.return_lines(admin, rid, [("sock", 1), ("shoe", 1)], "the rest")

    assert result.body["status"] == "reversed"
    assert uses(container, "ret") == 0
    assert stats(container, "ret")["discount_total"] == 0


def test_split_costs_are_given_back_to_each_party_exactly(container: Container, admin: Actor) -> None:
    rid = redeemed(container, admin, reward={"type": "percent_off", "basis_points": 1234},
                   rules={"cost_bearer": "split", "group_share_bp": 8000})

    container.returns.return_lines(admin, rid, [("sock", 1)], "sock back")
    container.redemptions.reverse(admin, rid, "order cancelled")

    s = stats(container, "ret")
    assert (s["discount_total"], s["cost_by_bearer"]) == (0, {"group": 0, "store": 0})


def test_a_return_cannot_exceed_what_was_bought(container: Container, admin: Actor) -> None:
    rid = redeemed(container, admin)
    with pytest.raises(InvalidInput) as refused:
        container.returns.return_lines(admin, rid, [("sock", 3)], "too many")
    assert refused.value.code == "return_exceeds_order"


def test_returns_over_http(client: Any, keys: Any, container: Container, admin: Actor) -> None:
    rid = redeemed(container, admin, reward={"type": "percent_off", "basis_points": 1000})
    body = {"lines": [{"sku": "sock", "quantity": 1}], "reason": "sock back"}

    refused = client.post(f"/v1/redemptions/{rid}/returns", headers=keys("checkout"), json=body)
    done = client.post(f"/v1/redemptions/{rid}/returns", headers=keys("support"), json=body)

    assert refused.status_code == 403
    assert done.status_code == 200 and done.json()["discount_in_force"] == 700
    log = client.get("/v1/redemptions", headers=keys("support"),
                     params={"min_position": done.json()["position"]}).json()
    assert (log["items"][0]["status"], log["items"][0]["discount"]) == ("partially_reversed", 700)
