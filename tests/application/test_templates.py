"""Templates: template codes (C2), main and sub-campaigns (C1), description and remarks (C10)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from application.clock import ManualClock
from application.commands import Actor
from application.redemptions import RedeemRequest
from domain.campaign import Campaign
from domain.eligibility import Order
from domain.errors import DomainError
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign, terms


def created(c: Container, actor: Actor, key: str, **kwargs: object) -> dict[str, object]:
    parent = kwargs.pop("parent", None)
    result = c.campaigns.create_campaign(actor, key, terms(**kwargs), parent=parent)  # type: ignore[arg-type]
    return result.body


def test_template_codes_number_each_local_day_from_one(
    container: Container, admin: Actor, clock: ManualClock
) -> None:
    # 2026-03-01 09:00 UTC is still 28 February in Honolulu (UTC-10)
    container.access.register_merchant("acme", timezone="Pacific/Honolulu")

    first, second = created(container, admin, "a"), created(container, admin, "b")
    clock.advance(timedelta(days=1))
    next_day = created(container, admin, "c")

    assert (first["template_code"], second["template_code"]) == ("ACME20260228001", "ACME20260228002")
    assert next_day["template_code"] == "ACME20260301001"


def test_template_codes_stay_unique_when_campaigns_are_created_at_once(
    make_container: Callable[..., Container], admin: Actor
) -> None:
    containers = [make_container() for _ in range(3)]
    codes: list[str] = []
    barrier = threading.Barrier(6)

    def create(n: int) -> None:
        barrier.wait(timeout=10)
        body = containers[n % 3].campaigns.create_campaign(admin, f"k{n}", terms()).body
        codes.append(str(body["template_code"]))

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(codes) == [f"ACME20260301{n:03d}" for n in range(1, 7)]


def test_sub_campaigns_roll_up_into_their_main_campaign(container: Container, admin: Actor) -> None:
    created(container, admin, "summer")
    for key in ("summer-shoes", "summer-socks"):
        created(container, admin, key, parent="summer")
        for action in ("submit", "approve", "activate"):
            container.campaigns.change_status(admin, key, action)
        code = container.vouchers.issue_codes(admin, key, count=1).body["codes"][0]
        container.redemptions.redeem(admin, RedeemRequest(code=code, order=Order.build(3000, "EUR", key, [])))
    container.projections.catch_up()

    main_id = str(Campaign.id_for("acme", "summer"))
    alone = container.queries.campaign_stats("acme", main_id)
    rolled = container.queries.campaign_stats("acme", main_id, rollup=True)

    assert (alone["redeemed"], alone["sub_campaigns"]) == (0, 0)
    assert (rolled["redeemed"], rolled["issued"], rolled["discount_total"], rolled["sub_campaigns"]) == (
        2, 2, 1000, 2)
    with pytest.raises(DomainError) as refused:
        created(container, admin, "too-deep", parent="summer-shoes")
    assert refused.value.code == "invalid_parent"


def test_remarks_stay_internal_while_the_card_reaches_the_wallet(container: Container, admin: Actor) -> None:
    live_campaign(container, admin, "card", description="20% off all shoes",
                  image_url="https://cdn.example/shoes.png", redirect_url="https://shop.example/shoes",
                  internal_remarks="approved by finance; margin 12%")
    container.vouchers.assign_new_voucher(admin, "card", "cust-1")
    container.projections.catch_up()

    campaign = container.campaigns.get_campaign("acme", "card")
    wallet = container.queries.wallet("acme", "cust-1")

    assert campaign["internal_remarks"] == "approved by finance; margin 12%"
    card = wallet["vouchers"][0]["campaign"]
    assert (card["description"], card["image_url"]) == ("20% off all shoes", "https://cdn.example/shoes.png")
    assert "margin" not in repr(wallet)


def test_template_fields_over_http(client: object, keys: object, container: Container) -> None:
    admin = keys("admin")  # type: ignore[operator]
    body = {**terms(), "key": "web", "image_url": "ftp://nope"}
    refused = client.post("/v1/campaigns", headers=admin, json=body)  # type: ignore[attr-defined]
    made = client.post("/v1/campaigns", headers=admin,  # type: ignore[attr-defined]
                       json={**terms(), "key": "web", "internal_remarks": "x"})

    assert refused.status_code == 422
    assert made.status_code == 201 and made.json()["template_code"] == "ACME20260301001"
