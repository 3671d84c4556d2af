"""The rules over HTTP, on SQLite and PostgreSQL: campaigns with rules, what validate and redeem
answer (allocations per line, qualifying amount, costs), bad rules as problems, the merchant's
holiday calendar and customer segments with their roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import ManualClock
from infrastructure.bootstrap import Container
from interfaces.http.app import create_app
from tests.conftest import START
from tests.http.helpers import KeyMaker, assert_problem, make_keys

HUNDRED_OFF_20 = {"type": "amount_off", "amount": 2000, "min_spend": 10_000}
FOOD_80_20 = {"products": {"categories": ["food"], "exclude_skus": ["C"]}, "cost_bearer": "split",
              "group_share_bp": 8_000}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    """The app without background projection runners (quicker); reads catch up explicitly."""
    with TestClient(create_app(container, run_projections=False), raise_server_exceptions=False) as api:
        yield api


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def campaign(key: str = "spring", rules: Any = None, **terms: Any) -> dict[str, Any]:
    body = {"key": key, "name": "Spring", "currency": "EUR", "reward": HUNDRED_OFF_20, **terms}
    if rules is not None:
        body["rules"] = rules
    return body


def live(client: TestClient, keys: KeyMaker, body: dict[str, Any], count: int = 1) -> list[str]:
    ops, admin = keys("operations"), keys("admin")
    key = body["key"]
    ok(client.post("/v1/campaigns", headers=ops, json=body), 201)
    ok(client.post(f"/v1/campaigns/{key}/submit", headers=ops))
    ok(client.post(f"/v1/campaigns/{key}/approve", headers=admin))
    ok(client.post(f"/v1/campaigns/{key}/activate", headers=ops))
    codes: list[str] = ok(client.post(f"/v1/campaigns/{key}/codes", headers=ops, json={"count": count}),
                          201)["codes"]
    return codes


def attempt(code: str, lines: list[dict[str, Any]] | None = None, order_id: str = "o-1",
            **fields: Any) -> dict[str, Any]:
    lines = lines if lines is not None else [{"sku": "A", "quantity": 1, "unit_price": 20_000}]
    return {"code": code, "order": {"id": order_id, "currency": "EUR", "lines": lines}, **fields}


CART = [
    {"sku": "A", "quantity": 2, "unit_price": 4_000, "category": "food"},
    {"sku": "B", "quantity": 1, "unit_price": 5_000, "category": "drink"},
    {"sku": "C", "quantity": 1, "unit_price": 1_000, "category": "food"},
    {"sku": "D", "quantity": 1, "unit_price": 3_000, "category": "food"},
]


def reasons(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reasons"]]


# -- campaigns with rules, validate and redeem ----------------------------------------------------

def test_a_campaign_is_created_with_rules_and_shows_them_or_the_defaults(
    client: TestClient, keys: KeyMaker
) -> None:
    rules = {**FOOD_80_20, "stores": ["S1", "online"], "channel": "offline", "days_of_week": [2, 3],
             "workdays_only": True, "exclusivity": "only_with", "combinable_with": ["bf"], "segment": "vip",
             "per_customer_per_code": 2, "per_order_per_code": 1,
             "validity": {"mode": "after_claim", "days_after": 10, "duration_days": 30},
             "claim": {"channel": "online", "method": "customer", "total": 5, "per_day": 1,
                       "per_week": 2, "per_month": 3, "per_year": 4}}
    created = ok(client.post("/v1/campaigns", headers=keys("operations"), json=campaign(rules=rules)), 201)
    shown = ok(client.get("/v1/campaigns/spring", headers=keys("reporting")))
    expected = {**rules, "products": {"categories": ["food"], "skus": [], "exclude_categories": [],
                                      "exclude_skus": ["C"]}}
    assert created["rules"] == shown["rules"] == expected

    plain = ok(client.post("/v1/campaigns", headers=keys("operations"), json=campaign("plain")), 201)
    assert plain["rules"] == {
        "products": {"categories": [], "skus": [], "exclude_categories": [], "exclude_skus": []},
        "stores": [], "channel": "any", "days_of_week": [], "workdays_only": False,
        "exclusivity": "combinable", "combinable_with": [], "segment": None, "per_customer_per_code": None,
        "per_order_per_code": None, "cost_bearer": "group", "group_share_bp": 10_000,
        "validity": {"mode": "fixed", "days_after": 0, "duration_days": None},
        "claim": {"channel": "any", "method": "any", "total": None, "per_day": None, "per_week": None,
                  "per_month": None, "per_year": None}}


def test_validate_shows_the_allocation_per_line_the_qualifying_amount_and_the_costs(
    client: TestClient, keys: KeyMaker, container: Container
) -> None:
    (code,) = live(client, keys, campaign(rules=FOOD_80_20))
    checkout = keys("checkout")

    checked = ok(client.post("/v1/validations", headers=checkout, json=attempt(code, CART)))
    redeemed = ok(client.post("/v1/redemptions", headers=checkout, json=attempt(code, CART)), 201)

    # food without C: 80 + 30 = 110 qualifies; 20 off it is 14.54|6000 and 5.45|5000 -> 1455 + 545
    allocations = [{"line": 0, "sku": "A", "amount": 1455}, {"line": 3, "sku": "D", "amount": 545}]
    assert (checked["valid"], checked["discount"], checked["qualifying_amount"]) == (True, 2000, 11_000)
    assert checked["allocations"] == allocations
    assert checked["costs"] == {"group": 1600, "store": 400}
    assert (redeemed["discount"], redeemed["allocations"], redeemed["costs"]) == (
        2000, allocations, {"group": 1600, "store": 400})
    shown = ok(client.get(f"/v1/redemptions/{redeemed['id']}", headers=keys("support")))
    assert (shown["allocations"], shown["costs"]) == (allocations, {"group": 1600, "store": 400})

    container.projections.catch_up()
    stats = ok(client.get("/v1/campaigns/spring/stats", headers=keys("reporting"),
                          params={"min_position": redeemed["position"]}))
    assert stats["cost_by_bearer"] == {"group": 1600, "store": 400}
    log = ok(client.get("/v1/redemptions", headers=keys("reporting"),
                        params={"min_position": redeemed["position"]}))
    assert [e["costs"] for e in log["items"]] == [{"group": 1600, "store": 400}]


def test_validate_says_why_not_when_only_some_lines_qualify(client: TestClient, keys: KeyMaker) -> None:
    (code,) = live(client, keys, campaign(rules=FOOD_80_20))
    small = [CART[0], CART[1], CART[2]]  # 80 of food qualifies (C excluded), 50 of drink does not
    checked = ok(client.post("/v1/validations", headers=keys("checkout"), json=attempt(code, small)))
    assert (checked["valid"], checked["discount"], checked["qualifying_amount"]) == (False, 0, 8_000)
    assert reasons(checked) == ["min_spend_not_met"]
    assert (checked["allocations"], checked["costs"]) == ([], {"group": 0, "store": 0})

    refused = client.post("/v1/redemptions", headers=keys("checkout"), json=attempt(code, small))
    body = assert_problem(refused, 422, "min_spend_not_met")
    assert [r["code"] for r in body["reasons"]] == ["min_spend_not_met"]


def test_store_and_channel_rules_over_http(client: TestClient, keys: KeyMaker) -> None:
    (code,) = live(client, keys, campaign(rules={"stores": ["S1"], "channel": "offline"}))
    checkout = keys("checkout")
    answers = {
        (store, channel): reasons(ok(client.post("/v1/validations", headers=checkout,
                                                 json=attempt(code, store_id=store, channel=channel))))
        for store, channel in (("S1", "offline"), ("S2", "offline"), ("S1", "online"))
    }
    assert answers == {("S1", "offline"): [], ("S2", "offline"): ["wrong_store"],
                       ("S1", "online"): ["wrong_channel"]}


# -- bad rules are problems --------------------------------------------------------------------------

BAD_RULES = [  # (what is wrong, rules, problem code)
    ("unknown rule", {"colour": "red"}, "invalid_request"),
    ("unknown product scope", {"products": {"brands": ["x"]}}, "invalid_request"),
    ("a string for a list", {"products": {"categories": "food"}}, "invalid_request"),
    ("day 8", {"days_of_week": [8]}, "invalid_request"),
    ("day 0", {"days_of_week": [0]}, "invalid_request"),
    ("day as text", {"days_of_week": ["2"]}, "invalid_request"),
    ("share above 100%", {"group_share_bp": 10_001}, "invalid_request"),
    ("negative share", {"group_share_bp": -1}, "invalid_request"),
    ("unknown bearer", {"cost_bearer": "partner"}, "invalid_request"),
    ("unknown channel", {"channel": "telepathy"}, "invalid_request"),
    ("unknown exclusivity", {"exclusivity": "sometimes"}, "invalid_request"),
    ("zero per-customer limit", {"per_customer_per_code": 0}, "invalid_request"),
    ("after_claim without duration", {"validity": {"mode": "after_claim"}}, "invalid_rules"),
    ("after_claim with days_after only", {"validity": {"mode": "after_claim", "days_after": 3}},
     "invalid_rules"),
    ("zero duration", {"validity": {"mode": "from_claim", "duration_days": 0}}, "invalid_request"),
    ("unknown validity", {"validity": {"mode": "whenever"}}, "invalid_request"),
    ("negative days_after", {"validity": {"days_after": -1}}, "invalid_request"),
    ("not an object", "everything", "invalid_request"),
]


def test_bad_rules_are_refused_as_problems(client: TestClient, keys: KeyMaker) -> None:
    ops = keys("operations")
    answers = {}
    for label, rules, _ in BAD_RULES:
        response = client.post("/v1/campaigns", headers=ops, json=campaign(rules=rules))
        answers[label] = (response.status_code, response.headers["content-type"].split(";")[0],
                          response.json().get("code"))
        if response.status_code == 422:
            assert_problem(response, 422)
    assert answers == {label: (422, "application/problem+json", code) for label, _, code in BAD_RULES}
    assert_problem(client.get("/v1/campaigns/spring", headers=ops), 404, "campaign_not_found")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # validation, the same on every store
def test_a_segment_no_customer_can_join_is_refused(client: TestClient, keys: KeyMaker) -> None:
    ops = keys("operations")
    assert_problem(client.post("/v1/segments/VIP%20customers/members", headers=ops,
                               json={"customer_ids": ["cust-1"]}), 422, "invalid_segment")
    response = client.post("/v1/campaigns", headers=ops, json=campaign(rules={"segment": "VIP customers"}))
    assert_problem(response, 422)


def test_bad_rules_on_revision_are_refused_too(client: TestClient, keys: KeyMaker) -> None:
    ops = keys("operations")
    ok(client.post("/v1/campaigns", headers=ops, json=campaign()), 201)
    terms = {k: v for k, v in campaign(rules={"validity": {"mode": "after_claim"}}).items() if k != "key"}
    assert_problem(client.put("/v1/campaigns/spring/terms", headers=ops, json=terms), 422, "invalid_rules")
    terms["rules"] = {"validity": {"mode": "after_claim", "duration_days": 30}}
    revised = ok(client.put("/v1/campaigns/spring/terms", headers=ops, json=terms))
    assert revised["rules"]["validity"] == {"mode": "after_claim", "days_after": 0, "duration_days": 30}


# -- the holiday calendar ------------------------------------------------------------------------------

def test_only_an_admin_sets_the_holidays_and_workdays_only_follows_them(
    client: TestClient, keys: KeyMaker, clock: ManualClock
) -> None:
    (code,) = live(client, keys, campaign(reward={"type": "amount_off", "amount": 500},
                                          rules={"workdays_only": True}))
    clock.set(START.replace(day=2))  # Monday 2 March 2026, 09:00 UTC (the merchant keeps UTC)
    holidays = {"dates": ["2026-03-02", "2026-12-25", "2026-03-02"]}

    for role in ("operations", "checkout", "support", "reporting", "auditor"):
        refused = client.put("/v1/merchant/holidays", headers=keys(role), json=holidays)
        assert_problem(refused, 403, "forbidden")
    assert_problem(client.put("/v1/merchant/holidays", json=holidays), 401, "unauthenticated")
    before = ok(client.post("/v1/validations", headers=keys("checkout"), json=attempt(code)))
    saved = ok(client.put("/v1/merchant/holidays", headers=keys("admin"), json=holidays))
    after = ok(client.post("/v1/validations", headers=keys("checkout"), json=attempt(code)))
    shown = ok(client.get("/v1/merchant", headers=keys("reporting")))

    assert (before["valid"], reasons(after)) == (True, ["not_a_workday"])
    assert saved["holidays"] == shown["holidays"] == ["2026-03-02", "2026-12-25"]
    assert shown["timezone"] == "UTC"

    cleared = ok(client.put("/v1/merchant/holidays", headers=keys("admin"), json={"dates": []}))
    assert cleared["holidays"] == []
    assert ok(client.post("/v1/validations", headers=keys("checkout"), json=attempt(code)))["valid"]


def test_bad_holiday_calendars_are_problems(client: TestClient, keys: KeyMaker) -> None:
    admin = keys("admin")
    bodies: list[dict[str, Any]] = [{"dates": ["2026-02-30"]}, {"dates": "2026-03-02"}, {"days": []}, {}]
    for body in bodies:
        assert_problem(client.put("/v1/merchant/holidays", headers=admin, json=body), 422, "invalid_request")
    assert ok(client.get("/v1/merchant", headers=admin))["holidays"] == []


def test_the_merchants_time_zone_decides_the_day(container: Container, clock: ManualClock) -> None:
    """A merchant in Shanghai: Monday 20:00 UTC is already Tuesday there."""
    container.access.register_merchant("acme", "Acme", timezone="Asia/Shanghai")
    keys = make_keys(container)
    with TestClient(create_app(container, run_projections=False), raise_server_exceptions=False) as client:
        (code,) = live(client, keys, campaign(reward={"type": "amount_off", "amount": 500},
                                              rules={"days_of_week": [2]}))
        clock.set(START.replace(day=2, hour=15, minute=59))  # Monday 23:59 in Shanghai
        monday = ok(client.post("/v1/validations", headers=keys("checkout"), json=attempt(code)))
        clock.set(START.replace(day=2, hour=16))  # Tuesday 00:00 in Shanghai, Monday in UTC
        tuesday = ok(client.post("/v1/validations", headers=keys("checkout"), json=attempt(code)))
        assert ok(client.get("/v1/merchant", headers=keys("reporting")))["timezone"] == "Asia/Shanghai"
    assert (reasons(monday), tuesday["valid"]) == (["wrong_day"], True)


# -- segments -------------------------------------------------------------------------------------------

def test_segment_members_are_managed_by_operations_and_gate_the_campaign(
    client: TestClient, keys: KeyMaker
) -> None:
    (code,) = live(client, keys, campaign(reward={"type": "amount_off", "amount": 500},
                                          rules={"segment": "vip"}, voucher_type="multi_use"))
    ops, checkout = keys("operations"), keys("checkout")
    members = {"customer_ids": ["cust-1", "cust-2"]}

    def check() -> list[str]:
        return reasons(ok(client.post("/v1/validations", headers=checkout,
                                      json=attempt(code, customer_id="cust-1"))))

    def member(customer: str) -> bool:
        shown = ok(client.get(f"/v1/segments/vip/members/{customer}", headers=keys("support")))
        assert (shown["segment"], shown["customer_id"]) == ("vip", customer)
        return bool(shown["member"])

    outside = check()
    for role in ("checkout", "support", "reporting", "auditor"):
        assert_problem(client.post("/v1/segments/vip/members", headers=keys(role), json=members), 403)
        assert_problem(client.post("/v1/segments/vip/members/removal", headers=keys(role), json=members), 403)
    added = ok(client.post("/v1/segments/vip/members", headers=ops, json=members))
    again = ok(client.post("/v1/segments/vip/members", headers=keys("admin"), json=members))
    inside = check()
    redeemed = ok(client.post("/v1/redemptions", headers=checkout,
                              json=attempt(code, customer_id="cust-1")), 201)
    removed = ok(client.post("/v1/segments/vip/members/removal", headers=ops,
                             json={"customer_ids": ["cust-1"]}))
    after = check()

    assert outside == ["not_in_segment"]
    assert (added["added"], added["unchanged"], again["added"], again["unchanged"]) == (2, 0, 0, 2)
    assert inside == [] and redeemed["discount"] == 500
    assert (removed["removed"], removed["unchanged"]) == (1, 0)
    assert after == ["not_in_segment"]
    assert (member("cust-1"), member("cust-2"), member("cust-3")) == (False, True, False)
    decision = ok(client.get(f"/v1/audit/redemptions/{redeemed['id']}/decision", headers=keys("auditor")))
    assert decision["agrees"] and decision["recomputed"] == {"discount": 500, "reasons": []}


def test_bad_segment_requests_are_problems(client: TestClient, keys: KeyMaker) -> None:
    ops = keys("operations")
    for segment, body, code in (
        ("vip", {"customer_ids": []}, "invalid_request"),
        ("vip", {"customers": ["cust-1"]}, "invalid_request"),
        ("vip", {"customer_ids": [""]}, "invalid_request"),
        ("not%20a%20segment!", {"customer_ids": ["cust-1"]}, "invalid_segment"),
    ):
        response = client.post(f"/v1/segments/{segment}/members", headers=ops, json=body)
        assert_problem(response, 422, code)


# -- validity from the claim over HTTP --------------------------------------------------------------------

def test_an_assigned_voucher_shows_its_own_validity_window(
    client: TestClient, keys: KeyMaker, clock: ManualClock
) -> None:
    validity = {"mode": "after_claim", "days_after": 10, "duration_days": 30}
    live(client, keys, campaign(reward={"type": "amount_off", "amount": 500}, rules={"validity": validity}))
    voucher = ok(client.post("/v1/campaigns/spring/assignments", headers=keys("operations"),
                             json={"customer_id": "cust-1"}), 201)
    assert (voucher["valid_from"], voucher["valid_until"]) == (
        "2026-03-11T09:00:00.000000Z", "2026-04-10T09:00:00.000000Z")
    early = ok(client.post("/v1/validations", headers=keys("checkout"),
                           json=attempt(voucher["code"], customer_id="cust-1")))
    assert reasons(early) == ["voucher_not_yet_valid"]
    clock.set(START.replace(day=11))
    in_time = ok(client.post("/v1/validations", headers=keys("checkout"),
                             json=attempt(voucher["code"], customer_id="cust-1")))
    assert in_time["valid"]
