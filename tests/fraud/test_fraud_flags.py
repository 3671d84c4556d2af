"""A4 fraud flags: the four detectors, thresholds per merchant, review, replay safety (both stores)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from application.clock import ManualClock
from application.commands import Actor
from application.redemptions import RedeemRequest
from domain.eligibility import Order
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign
from tests.http.helpers import KeyMaker, assert_problem

SUPPORT = Actor(merchant_id="acme", role="support", ref="key:support-1")
CHECKOUT = Actor(merchant_id="acme", role="checkout", ref="key:till-7")


def order(order_id: str = "o-1") -> Order:
    return Order.build(3000, "EUR", order_id, [])


def redeem(c: Container, code: str, customer: str | None, store: str = "S1", n: int = 0) -> Any:
    request = RedeemRequest(code=code, order=order(f"o-{n}"), customer_id=customer, store_id=store)
    return c.redemptions.redeem(CHECKOUT, request)


def detect(c: Container, served: bool = False) -> list[dict[str, Any]]:
    """Run the fraud policy to the head, then read the flags from the read model (which the
    app's own runner keeps up to date when `served`)."""
    runner = next(r for r in c.policies.runners if r.name == "fraud")
    runner.catch_up()
    if served:
        assert c.projections.wait("fraud_flags", c.ledger.head(), 10)
    else:
        c.projections.catch_up()
    items: list[dict[str, Any]] = c.fraud_flags.flags("acme", status=None, detector=None, limit=200,
                                                      before=None)["items"]
    return items


def subjects(flags: list[dict[str, Any]], detector: str) -> set[str]:
    return {f["subject"] for f in flags if f["detector"] == detector}


def test_unknown_codes_tried_by_one_customer_raise_one_code_guessing_flag(
        container: Container, admin: Actor, clock: ManualClock) -> None:
    container.fraud.set_thresholds(admin, {"code_guessing": {"count": 3, "window_minutes": 10}})
    for n in range(2):
        redeem(container, f"GUESS{n:04d}", "mallory", n=n)
        clock.advance(timedelta(minutes=1))
    assert detect(container) == []  # two are below the threshold
    for n in range(2, 6):
        redeem(container, f"GUESS{n:04d}", "mallory", n=n)
        clock.advance(timedelta(minutes=1))
    flags = detect(container)
    # one flag per subject and window, however many attempts past the threshold
    assert subjects(flags, "code_guessing") == {"customer:mallory", "key:till-7"}
    flag = next(f for f in flags if f["subject"] == "customer:mallory")
    assert flag["status"] == "open" and flag["threshold"] == 3 and flag["count"] >= 3
    assert len(flag["evidence"]) == flag["count"]  # the rejected redemptions behind it


def test_attempts_spread_wider_than_the_window_raise_nothing(
        container: Container, admin: Actor, clock: ManualClock) -> None:
    container.fraud.set_thresholds(admin, {"code_guessing": {"count": 3, "window_minutes": 10}})
    for n in range(6):
        redeem(container, f"SLOW{n:04d}", "patient", n=n)
        clock.advance(timedelta(minutes=6))
    assert subjects(detect(container), "code_guessing") == set()


def test_a_single_use_code_tried_by_many_customers_is_flagged_and_a_multi_use_code_is_not(
        container: Container, admin: Actor) -> None:
    container.fraud.set_thresholds(admin, {"shared_code": {"count": 3, "window_minutes": 60}})
    live_campaign(container, admin, "single", stock=10)
    code = container.vouchers.issue_codes(admin, "single", count=1).body["codes"][0]
    live_campaign(container, admin, "multi", voucher_type="multi_use", redemption_limit=None)
    container.vouchers.issue_codes(admin, "multi", codes=["HOLIMAN100"])
    for n, customer in enumerate(("ann", "ben", "cat")):
        redeem(container, code, customer, n=n)  # one success, then "already used" rejections
        redeem(container, "HOLIMAN100", customer, n=10 + n)
    assert subjects(detect(container), "shared_code") == {f"code:{code}"}


def test_one_customer_redeeming_at_several_stores_in_an_hour_is_flagged(
        container: Container, admin: Actor, clock: ManualClock) -> None:
    container.fraud.set_thresholds(admin, {"store_hopping": {"count": 3, "window_minutes": 60}})
    live_campaign(container, admin, stock=10)
    codes = container.vouchers.issue_codes(admin, "spring", count=6).body["codes"]
    for n, store in enumerate(("S1", "S2", "S2")):
        redeem(container, codes[n], "hopper", store=store, n=n)
        redeem(container, codes[3 + n], "homebody", store="S1", n=10 + n)
        clock.advance(timedelta(minutes=10))
    assert subjects(detect(container), "store_hopping") == set()  # two stores so far
    extra = container.vouchers.issue_codes(admin, "spring", count=1).body["codes"][0]
    redeem(container, extra, "hopper", store="S3", n=9)
    assert subjects(detect(container), "store_hopping") == {"customer:hopper"}


def test_reversals_by_one_staff_member_are_flagged_by_staff_and_store(
        container: Container, admin: Actor) -> None:
    container.fraud.set_thresholds(admin, {"excessive_reversals": {"count": 2, "window_minutes": 60}})
    live_campaign(container, admin, stock=10)
    codes = container.vouchers.issue_codes(admin, "spring", count=2).body["codes"]
    for n, code in enumerate(codes):
        redemption = UUID(redeem(container, code, f"c{n}", store="S9", n=n).body["id"])
        container.redemptions.reverse(SUPPORT, redemption, "customer changed their mind")
    assert subjects(detect(container), "excessive_reversals") == {"staff:key:support-1", "store:S9"}


def test_a_detector_switched_off_raises_nothing_and_defaults_apply_until_set(
        container: Container, admin: Actor) -> None:
    assert container.fraud.thresholds("acme")["code_guessing"] == {"count": 20, "window_minutes": 10}
    container.fraud.set_thresholds(admin, {"code_guessing": {"count": 0}})
    for n in range(25):
        redeem(container, f"OFF{n:04d}", "mallory", n=n)
    assert detect(container) == []


def test_replaying_the_events_raises_no_second_flag(
        container: Container, admin: Actor, make_container: Any) -> None:
    container.fraud.set_thresholds(admin, {"code_guessing": {"count": 2, "window_minutes": 10}})
    for n in range(4):
        redeem(container, f"AGAIN{n:03d}", "mallory", n=n)
    first = detect(container)
    runner = next(r for r in container.policies.runners if r.name == "fraud")
    with container.db.transaction(write=True) as tx:  # as if the position were lost in a crash
        tx.execute("UPDATE policy_tracking SET position=0 WHERE name='fraud'")
    runner.catch_up()
    again = make_container()  # and a second process reading the same events
    next(r for r in again.policies.runners if r.name == "fraud").catch_up()
    assert sorted(f["id"] for f in detect(container)) == sorted(f["id"] for f in first)
    assert len(first) == 2


def test_support_reviews_a_flag_once_with_a_note_over_http(
        container: Container, admin: Actor, client: TestClient, keys: KeyMaker) -> None:
    container.fraud.set_thresholds(admin, {"code_guessing": {"count": 2, "window_minutes": 10}})
    for n in range(2):
        redeem(container, f"NOPE{n:04d}", "mallory", n=n)
    flag = next(f for f in detect(container, served=True) if f["subject"] == "customer:mallory")
    url = f"/v1/fraud/flags/{flag['id']}"

    listed = client.get("/v1/fraud/flags?status=open", headers=keys("reporting")).json()
    assert flag["id"] in {f["id"] for f in listed["items"]} and listed["counts"]["open"] == 2
    assert_problem(client.post(f"{url}/review", json={"decision": "dismissed", "note": " "},
                               headers=keys("support")), 422)
    assert_problem(client.post(f"{url}/review", json={"decision": "dismissed", "note": "known tester"},
                               headers=keys("support", merchant="globex")), 404, "fraud_flag_not_found")
    assert_problem(client.post(f"{url}/review", json={"decision": "dismissed", "note": "known tester"},
                               headers=keys("checkout")), 403)
    reviewed = client.post(f"{url}/review", json={"decision": "dismissed", "note": "known tester"},
                           headers={**keys("support"), "Idempotency-Key": "r-1"})
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "dismissed"
    replay = client.post(f"{url}/review", json={"decision": "dismissed", "note": "known tester"},
                         headers={**keys("support"), "Idempotency-Key": "r-1"})
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    assert_problem(client.post(f"{url}/review", json={"decision": "confirmed", "note": "on second thought"},
                               headers=keys("support")), 409, "flag_already_reviewed")
    shown = client.get(f"{url}?min_position={reviewed.json()['position']}", headers=keys("auditor")).json()
    assert shown["status"] == "dismissed"
    assert shown["review"]["note"] == "known tester" and shown["review"]["by"].startswith("key:")
    assert client.get(url, headers=keys("support", merchant="globex")).status_code == 404


def test_thresholds_over_http_merge_validate_and_belong_to_the_merchant(
        client: TestClient, keys: KeyMaker) -> None:
    put = client.put("/v1/fraud/thresholds", json={"thresholds": {"shared_code": {"count": 9}}},
                     headers=keys("admin"))
    assert put.status_code == 200, put.text
    assert put.json()["thresholds"]["shared_code"] == {"count": 9, "window_minutes": 60}
    again = client.put("/v1/fraud/thresholds",
                       json={"thresholds": {"store_hopping": {"window_minutes": 30}}}, headers=keys("admin"))
    assert again.json()["thresholds"]["shared_code"]["count"] == 9  # not reset by a later change
    for bad in ({"thresholds": {"nonsense": {"count": 1}}}, {"thresholds": {"shared_code": {"count": -1}}},
                {"thresholds": {"shared_code": {"window_minutes": 0}}},
                {"thresholds": {"shared_code": {"count": "5"}}}):
        assert_problem(client.put("/v1/fraud/thresholds", json=bad, headers=keys("admin")), 422)
    assert_problem(client.put("/v1/fraud/thresholds", json={"thresholds": {}}, headers=keys("operations")),
                   403)
    other = client.get("/v1/fraud/thresholds", headers=keys("reporting", merchant="globex")).json()
    assert other["thresholds"]["shared_code"]["count"] == 5  # globex still has the defaults
