"""What the stateful machines found, kept as minimal tests until the product is fixed (both stores).

Each is `xfail(strict=True)`: it fails today, and passing tells whoever fixes it to drop the mark.
"""

from __future__ import annotations

from uuid import UUID

import pytest

from application.commands import Actor
from application.redemptions import RedeemRequest
from application.stacks import StackRequest
from domain.campaign import Campaign
from domain.eligibility import Order
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign


def cart(code: str, order_id: str, customer: str = "ann") -> StackRequest:
    return StackRequest(codes=(code,), order=Order.build(3000, "EUR", order_id, []), customer_id=customer)


@pytest.mark.xfail(strict=True, reason="R7: a hold does not count against the campaign's per-customer "
                                       "limit, so a second till's hold is granted and then cannot be "
                                       "confirmed")
def test_a_hold_counts_against_the_per_customer_limit(container: Container, admin: Actor) -> None:
    # arrange: a customer may redeem once in the campaign; two codes with room to spare
    live_campaign(container, admin, "once", voucher_type="multi_use", redemption_limit=10,
                  per_customer_limit=1)
    container.vouchers.issue_codes(admin, "once", codes=["ONCE-A", "ONCE-B"])

    # act: the same customer holds a code at each of two tills; the first confirms
    first = container.holds.place(admin, cart("ONCE-A", "till-1"), 600)
    second = container.holds.place(admin, cart("ONCE-B", "till-2"), 600)
    confirmed = container.holds.confirm(admin, UUID(first.body["id"]))

    # assert: the second hold is refused up front (today: granted, and its confirmation refused)
    assert (first.status, confirmed.status) == (201, 201)
    assert second.status == 422, "the second hold was granted although the customer's one use was held"


@pytest.mark.xfail(strict=True, reason="R1/A1: with a per-customer limit on the campaign and on the "
                                       "code, a redemption without a customer gives customer_required "
                                       "twice, and the stats count two rejections by reason for one")
def test_a_missing_customer_is_one_reason_whichever_limits_ask_for_one(
    container: Container, admin: Actor
) -> None:
    live_campaign(container, admin, "limited", voucher_type="multi_use", redemption_limit=5,
                  per_customer_limit=1, rules={"per_customer_per_code": 1})
    container.vouchers.issue_codes(admin, "limited", codes=["LIMITED-1"])

    refused = container.redemptions.redeem(admin, RedeemRequest(
        code="LIMITED-1", order=Order.build(3000, "EUR", "o-1", []), customer_id=None))
    container.projections.catch_up()
    stats = container.queries.campaign_stats("acme", str(Campaign.id_for("acme", "limited")))

    assert [r["code"] for r in refused.body["reasons"]] == ["customer_required"]
    assert (stats["rejected"], stats["rejections_by_reason"]) == (1, {"customer_required": 1})
