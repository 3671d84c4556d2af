"""Claim rules (C6): method, claim channel, per-customer limits per natural period, segments."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import ManualClock
from application.commands import Actor
from domain.errors import DomainError
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign, terms
from tests.http.helpers import KeyMaker


def claim(c: Container, actor: Actor, customer: str = "c1", channel: str | None = "online",
          key: str = "spring") -> dict[str, Any]:
    return c.vouchers.claim_voucher(actor, key, customer, channel).body


def refused(call: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value


def test_a_customer_claims_a_voucher_into_the_wallet_with_the_redirect_url(
    container: Container, admin: Actor
) -> None:
    live_campaign(container, admin, redirect_url="https://shop.example/spring", stock=2)

    body = claim(container, admin)

    assert body["holder"] == "c1" and body["state"] == "assigned"
    assert body["redirect_url"] == "https://shop.example/spring"
    assert container.campaigns.get_campaign("acme", "spring")["remaining_stock"] == 1


def test_claims_need_a_live_campaign_and_stock(container: Container, admin: Actor) -> None:
    container.campaigns.create_campaign(admin, "draft", terms())
    assert refused(lambda: claim(container, admin, key="draft")).code == "campaign_not_active"

    live_campaign(container, admin, stock=1)
    claim(container, admin, "c1")
    assert refused(lambda: claim(container, admin, "c2")).code == "stock_exhausted"


def test_claim_method_decides_who_may_put_vouchers_in_wallets(container: Container, admin: Actor
                                                              ) -> None:
    live_campaign(container, admin, "self", rules={"claim": {"method": "customer"}})
    live_campaign(container, admin, "pushed", rules={"claim": {"method": "push"}})

    claim(container, admin, key="self")
    error = refused(lambda: container.vouchers.assign_new_voucher(admin, "self", "c1"))
    assert error.code == "claim_method_not_allowed"

    container.vouchers.assign_new_voucher(admin, "pushed", "c1")
    assert refused(lambda: claim(container, admin, key="pushed")).code == "claim_method_not_allowed"


def test_the_claim_channel_is_enforced(container: Container, admin: Actor) -> None:
    live_campaign(container, admin, rules={"claim": {"channel": "offline"}})

    error = refused(lambda: claim(container, admin, channel="online"))
    assert error.code == "wrong_claim_channel"
    assert refused(lambda: claim(container, admin, channel=None)).code == "wrong_claim_channel"
    claim(container, admin, channel="offline")


def test_claim_limits_count_natural_days_weeks_months_in_the_merchant_time_zone(
    container: Container, admin: Actor, clock: ManualClock
) -> None:
    # Tokyo is UTC+9: 2026-03-01 09:00 UTC is 18:00 on Sunday 1 March locally.
    container.access.register_merchant("acme", timezone="Asia/Tokyo")
    live_campaign(container, admin, rules={"claim": {"per_day": 1, "per_week": 2, "per_month": 3,
                                                     "total": 4}})
    claim(container, admin)
    assert refused(lambda: claim(container, admin)).code == "claim_limit_day"

    clock.set(datetime(2026, 3, 1, 15, 0, tzinfo=UTC))  # 00:00 Monday 2 March in Tokyo: new day, new week
    claim(container, admin)
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # Tuesday 3 March: same ISO week
    claim(container, admin)
    clock.set(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))  # Wednesday: two this week already
    error = refused(lambda: claim(container, admin))
    assert error.code == "claim_limit_week" and error.extra.get("reasons") is not None

    clock.set(datetime(2026, 3, 9, 15, 0, tzinfo=UTC))  # the next week; but 3 this month
    assert refused(lambda: claim(container, admin)).code == "claim_limit_month"

    clock.set(datetime(2026, 3, 31, 15, 0, tzinfo=UTC))  # 1 April in Tokyo, still March in UTC
    claim(container, admin)
    clock.set(datetime(2026, 5, 2, 15, 0, tzinfo=UTC))
    assert refused(lambda: claim(container, admin)).code == "claim_limit_total"
    claim(container, admin, customer="c2")  # other customers are not affected


def test_pushes_and_assignments_count_against_claim_limits(container: Container, admin: Actor
                                                           ) -> None:
    live_campaign(container, admin, rules={"claim": {"total": 2}})
    container.vouchers.issue_codes(admin, "spring", codes=["SPRING-OPEN"])

    container.vouchers.assign_new_voucher(admin, "spring", "c1")
    container.vouchers.assign_voucher(admin, "SPRING-OPEN", "c1")

    assert refused(lambda: claim(container, admin)).code == "claim_limit_total"
    assert refused(lambda: container.vouchers.assign_new_voucher(admin, "spring", "c1")
                   ).code == "claim_limit_total"


def test_a_segment_campaign_is_claimed_by_members_only(container: Container, admin: Actor) -> None:
    live_campaign(container, admin, rules={"segment": "vip"})
    container.segments.add_members(admin, "vip", ["c1"])

    claim(container, admin, "c1")
    assert refused(lambda: claim(container, admin, "c2")).code == "not_in_segment"
    assert refused(lambda: container.vouchers.assign_new_voucher(admin, "spring", "c2")
                   ).code == "not_in_segment"


def test_a_refusal_gives_every_reason(container: Container, admin: Actor) -> None:
    live_campaign(container, admin, rules={"segment": "vip", "claim": {"channel": "offline",
                                                                        "method": "push"}})
    error = refused(lambda: claim(container, admin, channel="online"))
    codes = [r["code"] for r in error.extra["reasons"]]
    assert codes == ["claim_method_not_allowed", "wrong_claim_channel", "not_in_segment"]


def test_racing_claims_never_pass_the_daily_limit(
    make_container: Callable[..., Container], admin: Actor
) -> None:
    first = make_container()
    live_campaign(first, admin, rules={"claim": {"per_day": 2}})
    containers = [first, make_container(), make_container()]
    outcomes: list[str] = []
    barrier = threading.Barrier(9)

    def attempt(n: int) -> None:
        barrier.wait(timeout=10)
        try:
            claim(containers[n % 3], admin)
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(outcomes) == ["claim_limit_day"] * 7 + ["ok"] * 2


def test_the_claim_endpoint_answers_with_reasons(client: TestClient, keys: KeyMaker,
                                                 container: Container, admin: Actor,
                                                 clock: ManualClock) -> None:
    live_campaign(container, admin, rules={"claim": {"per_day": 1}},
                  redirect_url="https://shop.example/x")
    checkout = keys("checkout")
    body = {"customer_id": "c1", "channel": "online"}

    first = client.post("/v1/campaigns/spring/claims", headers=checkout | {"Idempotency-Key": "k1"},
                        json=body)
    again = client.post("/v1/campaigns/spring/claims", headers=checkout | {"Idempotency-Key": "k1"},
                        json=body)
    second = client.post("/v1/campaigns/spring/claims", headers=checkout, json=body)
    bad = client.post("/v1/campaigns/spring/claims", headers=checkout,
                      json={"customer_id": "c1", "channel": "moon"})

    assert first.status_code == 201 and first.json()["redirect_url"] == "https://shop.example/x"
    assert again.json() == first.json()
    assert second.status_code == 409 and second.json()["code"] == "claim_limit_day"
    assert second.json()["reasons"][0]["code"] == "claim_limit_day"
    assert bad.status_code == 422
    clock.advance(timedelta(days=1))
    assert client.post("/v1/campaigns/spring/claims", headers=checkout, json=body).status_code == 201
