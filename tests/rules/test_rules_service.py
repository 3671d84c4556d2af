"""The rules end to end through the services, on SQLite and PostgreSQL: merchant time and holidays,
segments, validity from the claim, per-code limits, allocations and costs in the record, the
reports, and decisions an auditor can re-run after the world has moved on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.clock import ManualClock
from application.commands import Actor
from application.redemptions import RedeemRequest
from domain.campaign import Campaign
from domain.clock import iso
from domain.eligibility import Order, OrderLine
from domain.errors import InvalidInput, NotFound
from domain.redemption import Redemption
from infrastructure.bootstrap import Container
from projections.redemption_log import LogFilter
from tests.conftest import live_campaign

MONDAY_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai (and in UTC)
MONDAY_UTC_TUESDAY_SHANGHAI = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
HUNDRED_OFF_20 = {"type": "amount_off", "amount": 2000, "min_spend": 10_000}
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
MULTI: dict[str, Any] = {"voucher_type": "multi_use", "redemption_limit": None}


@pytest.fixture
def shanghai(container: Container) -> Container:
    """The test merchant "acme" keeps its books in Shanghai time (UTC+8)."""
    container.access.register_merchant("acme", "Acme", timezone="Asia/Shanghai")
    return container


def line(sku: str, price: int, qty: int = 1, category: str | None = None) -> OrderLine:
    return OrderLine(sku=sku, quantity=qty, unit_price=price, category=category)


def cart(*lines: OrderLine, order_id: str = "o-1", amount: int | None = None) -> Order:
    return Order.build(amount, "EUR", order_id, list(lines) or [line("A", 20_000)])


def request(code: str, order: Order | None = None, customer: str | None = "cust-1",
            **kw: Any) -> RedeemRequest:
    return RedeemRequest(code=code, order=order or cart(), customer_id=customer, **kw)


def codes_of(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reasons"]]


def one_code(c: Container, actor: Actor, key: str = "spring") -> str:
    code: str = c.vouchers.issue_codes(actor, key, count=1).body["codes"][0]
    return code


def redecided(c: Container, body: dict[str, Any]) -> dict[str, Any]:
    audit: dict[str, Any] = c.decisions.redecide("acme", UUID(body["id"]))
    assert audit["agrees"], audit
    return audit


# -- allocations, costs, reports -----------------------------------------------------------------

FOOD_CART = cart(line("A", 4_000, qty=2, category="food"), line("B", 5_000, category="drink"),
                 line("C", 3_000, category="food"))


def test_a_redemption_records_its_allocation_per_line_and_its_cost_split(
    shanghai: Container, admin: Actor
) -> None:
    c = shanghai
    live_campaign(c, admin, reward=HUNDRED_OFF_20,
                  rules={"products": {"categories": ["food"]}, "cost_bearer": "split",
                         "group_share_bp": 8_000})
    code = one_code(c, admin)

    checked = c.redemptions.validate(admin, request(code, FOOD_CART))
    redeemed = c.redemptions.redeem(admin, request(code, FOOD_CART))

    # 20 off the 110 of food: 1454.54|6000 and 545.45|5000 -> the odd cent goes to line 0
    expected_allocations = [{"line": 0, "sku": "A", "amount": 1455}, {"line": 2, "sku": "C", "amount": 545}]
    assert (checked["valid"], checked["discount"], checked["qualifying_amount"]) == (True, 2000, 11_000)
    assert checked["allocations"] == expected_allocations
    assert checked["costs"] == {"group": 1600, "store": 400}
    assert redeemed.status == 201
    assert (redeemed.body["allocations"], redeemed.body["costs"]) == (expected_allocations,
                                                                     {"group": 1600, "store": 400})
    stored = c.redemptions.get_redemption("acme", UUID(redeemed.body["id"]))
    assert (stored["allocations"], stored["costs"]) == (expected_allocations, {"group": 1600, "store": 400})
    redecided(c, redeemed.body)


def test_campaign_stats_and_the_log_show_cost_by_bearer_and_a_reversal_gives_it_back(
    shanghai: Container, admin: Actor
) -> None:
    c = shanghai
    live_campaign(c, admin, reward={"type": "percent_off", "basis_points": 1200},
                  rules={"cost_bearer": "split", "group_share_bp": 8_000}, **MULTI)
    code = one_code(c, admin)
    # 12% of 9.99 = 1.19 (rounded down) -> group 0.95, store 0.24; of 100 = 12 -> 9.60 / 2.40
    first = c.redemptions.redeem(admin, request(code, cart(line("A", 999), order_id="o-1")))
    second = c.redemptions.redeem(admin, request(code, cart(line("A", 10_000), order_id="o-2")))
    assert (first.body["costs"], second.body["costs"]) == ({"group": 95, "store": 24},
                                                           {"group": 960, "store": 240})

    c.projections.catch_up()
    campaign_id = first.body["campaign_id"]
    stats = c.queries.campaign_stats("acme", campaign_id)
    assert (stats["discount_total"], stats["cost_by_bearer"]) == (1319, {"group": 1055, "store": 264})
    log = c.queries.redemptions("acme", LogFilter(campaign_id=campaign_id), limit=10, before=None)["items"]
    assert [(e["order_id"], e["discount"], e["costs"]) for e in log] == [
        ("o-2", 1200, {"group": 960, "store": 240}), ("o-1", 119, {"group": 95, "store": 24})]

    reversed_ = c.redemptions.reverse(admin, UUID(second.body["id"]), "order returned")
    c.projections.catch_up()
    stats = c.queries.campaign_stats("acme", campaign_id, reversed_.position)
    assert (stats["discount_total"], stats["cost_by_bearer"]) == (119, {"group": 95, "store": 24})
    log = c.queries.redemptions("acme", LogFilter(campaign_id=campaign_id), limit=10, before=None)["items"]
    assert [(e["status"], e["costs"]) for e in log] == [
        ("reversed", {"group": 960, "store": 240}), ("redeemed", {"group": 95, "store": 24})]


def test_a_single_bearer_pays_it_all(shanghai: Container, admin: Actor) -> None:
    paid = {}
    for bearer in ("group", "store"):
        live_campaign(shanghai, admin, bearer, reward=HUNDRED_OFF_20, rules={"cost_bearer": bearer})
        code = one_code(shanghai, admin, bearer)
        redeemed = shanghai.redemptions.redeem(admin, request(code, store_id="S7"))
        paid[bearer] = (redeemed.body["discount"], redeemed.body["costs"])
    assert paid == {"group": (2000, {"group": 2000, "store": 0}),
                    "store": (2000, {"group": 0, "store": 2000})}


def test_a_rejection_records_the_reasons_and_costs_nothing(shanghai: Container, admin: Actor) -> None:
    c = shanghai
    live_campaign(c, admin, reward=HUNDRED_OFF_20, rules={"cost_bearer": "store"})
    refused = c.redemptions.redeem(admin, request(one_code(c, admin), cart(line("A", 9_999))))
    assert (refused.status, codes_of(refused.body)) == (422, ["min_spend_not_met"])
    assert (refused.body["discount"], refused.body["costs"], refused.body["allocations"]) == (
        0, {"group": 0, "store": 0}, [])
    c.projections.catch_up()
    stats = c.queries.campaign_stats("acme", refused.body["campaign_id"])
    assert (stats["rejected"], stats["cost_by_bearer"]) == (1, {"group": 0, "store": 0})
    assert stats["rejections_by_reason"] == {"min_spend_not_met": 1}
    redecided(c, refused.body)


# -- merchant time and holidays --------------------------------------------------------------------

def test_days_of_week_are_judged_in_the_merchants_time_zone(
    shanghai: Container, admin: Actor, clock: ManualClock
) -> None:
    c = shanghai
    utc_merchant = Actor(merchant_id="beta", role="admin", ref="test:admin")
    c.access.register_merchant("beta", "Beta", timezone="UTC")
    for actor in (admin, utc_merchant):
        live_campaign(c, actor, "tue-wed", rules={"days_of_week": [2, 3]})
    clock.set(MONDAY_UTC_TUESDAY_SHANGHAI)

    in_shanghai = c.redemptions.redeem(admin, request(one_code(c, admin, "tue-wed")))
    in_utc = c.redemptions.redeem(utc_merchant, request(one_code(c, utc_merchant, "tue-wed")))

    assert (in_shanghai.status, in_shanghai.body["discount"]) == (201, 500)
    assert (in_utc.status, codes_of(in_utc.body)) == (422, ["wrong_day"])
    stored = c.ledger.find(UUID(in_shanghai.body["id"]), Redemption)
    assert stored is not None and stored.facts["context"]["local"] == "2026-03-03T04:00:00+08:00"


def test_holidays_set_by_the_merchant_close_a_workdays_only_campaign(
    shanghai: Container, admin: Actor, clock: ManualClock
) -> None:
    c = shanghai
    live_campaign(c, admin, rules={"workdays_only": True}, **MULTI)
    code = one_code(c, admin)
    clock.set(MONDAY_SHANGHAI)
    assert c.redemptions.validate(admin, request(code))["valid"]

    c.merchants.set_holidays(admin, [date(2026, 3, 2), date(2026, 10, 1)])
    assert c.merchants.settings("acme")["holidays"] == ["2026-03-02", "2026-10-01"]
    checked = c.redemptions.validate(admin, request(code))
    refused = c.redemptions.redeem(admin, request(code, cart(order_id="o-1")))
    assert (checked["valid"], codes_of(checked)) == (False, ["not_a_workday"])
    assert (refused.status, codes_of(refused.body)) == (422, ["not_a_workday"])

    clock.set(MONDAY_SHANGHAI + timedelta(days=1))  # Tuesday
    accepted = c.redemptions.redeem(admin, request(code, cart(order_id="o-2")))
    assert accepted.status == 201

    # the calendar changes afterwards: Monday is a workday again, Tuesday a holiday
    c.merchants.set_holidays(admin, [date(2026, 3, 3)])
    assert codes_of(c.redemptions.validate(admin, request(code))) == ["not_a_workday"]
    assert redecided(c, refused.body)["recomputed"]["reasons"] == ["not_a_workday"]
    assert redecided(c, accepted.body)["recomputed"] == {"discount": 500, "reasons": []}

    clock.set(datetime(2026, 3, 6, 20, 0, tzinfo=UTC))  # Friday in UTC, Saturday 04:00 in Shanghai
    assert codes_of(c.redemptions.validate(admin, request(code))) == ["not_a_workday"]


def test_holidays_need_a_registered_merchant_and_segments_a_valid_list(
    container: Container, admin: Actor
) -> None:
    stranger = Actor(merchant_id="nobody", role="admin", ref="test:admin")
    with pytest.raises(NotFound) as raised:
        container.merchants.set_holidays(stranger, [date(2026, 1, 1)])
    assert raised.value.code == "merchant_not_found"
    with pytest.raises(InvalidInput) as invalid:
        container.segments.add_members(admin, "vip", [])
    assert invalid.value.code == "invalid_customer_list"
    with pytest.raises(InvalidInput) as invalid:
        container.segments.add_members(admin, "not a segment!", ["cust-1"])
    assert invalid.value.code == "invalid_segment"


# -- segments ----------------------------------------------------------------------------------------

def test_segment_membership_gates_redemption_and_decisions_stay_pinned(
    shanghai: Container, admin: Actor
) -> None:
    c = shanghai
    live_campaign(c, admin, rules={"segment": "vip"}, **MULTI)
    code = one_code(c, admin)

    def attempt(order_id: str) -> RedeemRequest:
        return request(code, cart(order_id=order_id), customer="cust-1")

    outsider = c.redemptions.validate(admin, attempt("o-0"))
    added = c.segments.add_members(admin, "vip", ["cust-1", "cust-2", "cust-1"])
    member = c.redemptions.validate(admin, attempt("o-1"))
    redeemed = c.redemptions.redeem(admin, attempt("o-1"))
    removed = c.segments.remove_members(admin, "vip", ["cust-1", "cust-9"])
    again = c.redemptions.validate(admin, attempt("o-2"))
    refused = c.redemptions.redeem(admin, attempt("o-2"))

    assert codes_of(outsider) == ["not_in_segment"]
    assert added.body == {"segment": "vip", "added": 2, "unchanged": 0}
    assert (member["valid"], member["discount"]) == (True, 500)
    assert redeemed.status == 201
    assert removed.body == {"segment": "vip", "removed": 1, "unchanged": 1}
    assert codes_of(again) == ["not_in_segment"]
    assert (refused.status, codes_of(refused.body)) == (422, ["not_in_segment"])
    assert not c.segments.is_member("acme", "vip", "cust-1") and c.segments.is_member("acme", "vip", "cust-2")

    # membership flips again; the recorded decisions still re-run to what they were
    c.segments.add_members(admin, "vip", ["cust-1"])
    assert c.redemptions.validate(admin, attempt("o-3"))["valid"]
    assert redecided(c, redeemed.body)["recomputed"] == {"discount": 500, "reasons": []}
    assert redecided(c, refused.body)["recomputed"] == {"discount": 0, "reasons": ["not_in_segment"]}


def test_anonymous_customers_and_other_merchants_members_are_in_no_segment(
    shanghai: Container, admin: Actor
) -> None:
    other = Actor(merchant_id="beta", role="admin", ref="test:admin")
    shanghai.segments.add_members(other, "vip", ["cust-1"])
    live_campaign(shanghai, admin, rules={"segment": "vip"}, **MULTI)
    code = one_code(shanghai, admin)
    anonymous = shanghai.redemptions.validate(admin, request(code, customer=None))
    elsewhere = shanghai.redemptions.validate(admin, request(code, customer="cust-1"))
    assert codes_of(anonymous) == codes_of(elsewhere) == ["not_in_segment"]


# -- validity from the claim -----------------------------------------------------------------------

def test_validity_from_claim_starts_at_assignment_and_runs_for_its_days(
    shanghai: Container, admin: Actor, clock: ManualClock
) -> None:
    c = shanghai
    live_campaign(c, admin, rules={"validity": {"mode": "from_claim", "duration_days": 7}})
    clock.advance(timedelta(days=1))
    claimed_at = clock()
    voucher = c.vouchers.assign_new_voucher(admin, "spring", "cust-1").body
    assert (voucher["valid_from"], voucher["valid_until"]) == (iso(claimed_at),
                                                               iso(claimed_at + timedelta(days=7)))

    clock.set(claimed_at + timedelta(days=7, seconds=-1))
    assert c.redemptions.validate(admin, request(voucher["code"]))["valid"]
    clock.set(claimed_at + timedelta(days=7))
    expired = c.redemptions.redeem(admin, request(voucher["code"]))
    assert (expired.status, codes_of(expired.body)) == (422, ["voucher_expired"])
    redecided(c, expired.body)


def test_validity_days_after_claim_for_n_days(shanghai: Container, admin: Actor, clock: ManualClock) -> None:
    """The brief: effective 10 days after the claim, for 30 days."""
    c = shanghai
    validity = {"mode": "after_claim", "days_after": 10, "duration_days": 30}
    live_campaign(c, admin, rules={"validity": validity})
    code = one_code(c, admin)
    clock.advance(timedelta(hours=5))
    claimed_at = clock()
    c.vouchers.assign_voucher(admin, code, "cust-1")  # an open code claimed later: its window starts now
    starts, ends = claimed_at + timedelta(days=10), claimed_at + timedelta(days=40)

    seen = {}
    for label, when in (("day 9", starts - timedelta(seconds=1)), ("day 10", starts),
                        ("last second", ends - timedelta(seconds=1)), ("day 40", ends)):
        clock.set(when)
        seen[label] = codes_of(c.redemptions.validate(admin, request(code)))
    assert seen == {"day 9": ["voucher_not_yet_valid"], "day 10": [], "last second": [],
                    "day 40": ["voucher_expired"]}

    clock.set(starts - timedelta(days=1))
    early = c.redemptions.redeem(admin, request(code))
    clock.set(starts + timedelta(days=1))
    accepted = c.redemptions.redeem(admin, request(code))
    assert (early.status, codes_of(early.body), accepted.status) == (422, ["voucher_not_yet_valid"], 201)
    redecided(c, early.body)
    redecided(c, accepted.body)


def test_the_campaign_window_bounds_every_voucher(
    shanghai: Container, admin: Actor, clock: ManualClock
) -> None:
    """Fixed validity is the campaign's window; and (V4) codes die with their campaign, even inside
    a 7-days-from-claim window."""
    c = shanghai
    ends = clock() + timedelta(days=2)
    live_campaign(c, admin, "fixed", ends_at=ends)
    from_claim = {"validity": {"mode": "from_claim", "duration_days": 7}}
    live_campaign(c, admin, "claimed", ends_at=ends, rules=from_claim)
    fixed = c.vouchers.assign_new_voucher(admin, "fixed", "cust-1").body
    claimed = c.vouchers.assign_new_voucher(admin, "claimed", "cust-1").body
    assert (fixed["valid_from"], fixed["valid_until"]) == (None, iso(ends))
    clock.set(ends)
    for voucher in (fixed, claimed):
        assert codes_of(c.redemptions.validate(admin, request(voucher["code"]))) == ["campaign_expired"]


@SQLITE_ONLY  # a view's logic, the same on every store
def test_a_claimed_vouchers_shown_validity_ends_with_its_campaign(
    shanghai: Container, admin: Actor, clock: ManualClock
) -> None:
    c = shanghai
    ends = clock() + timedelta(days=2)
    live_campaign(c, admin, ends_at=ends, rules={"validity": {"mode": "from_claim", "duration_days": 7}})
    voucher = c.vouchers.assign_new_voucher(admin, "spring", "cust-1").body
    assert voucher["valid_until"] == iso(ends)


@SQLITE_ONLY
def test_the_wallet_shows_a_claimed_vouchers_own_window(
    shanghai: Container, admin: Actor, clock: ManualClock
) -> None:
    c = shanghai
    validity = {"mode": "after_claim", "days_after": 10, "duration_days": 30}
    live_campaign(c, admin, rules={"validity": validity})
    voucher = c.vouchers.assign_new_voucher(admin, "spring", "cust-1").body
    assert codes_of(c.redemptions.validate(admin, request(voucher["code"]))) == ["voucher_not_yet_valid"]
    c.projections.catch_up()
    (held,) = c.queries.wallet("acme", "cust-1")["vouchers"]
    assert (held["valid_from"], held["valid_until"]) == (voucher["valid_from"], voucher["valid_until"])
    assert held["usable_now"] is False


# -- V3 per-code limits across redemptions ----------------------------------------------------------

def test_per_code_limits_per_customer_and_per_order_across_redemptions(
    shanghai: Container, admin: Actor
) -> None:
    c = shanghai
    live_campaign(c, admin, voucher_type="multi_use", redemption_limit=10,
                  rules={"per_customer_per_code": 2, "per_order_per_code": 1})
    code = c.vouchers.issue_codes(admin, "spring", codes=["HOLIMAN100"]).body["codes"][0]

    def redeem(customer: str, order_id: str) -> Any:
        return c.redemptions.redeem(admin, request(code, cart(order_id=order_id), customer=customer))

    results = [redeem("cust-1", "o-1"), redeem("cust-1", "o-1"), redeem("cust-1", "o-2"),
               redeem("cust-1", "o-3"), redeem("cust-2", "o-3")]
    assert [(r.status, codes_of(r.body)) for r in results] == [
        (201, []), (422, ["code_order_limit_reached"]), (201, []),
        (422, ["code_customer_limit_reached"]), (201, [])]

    c.redemptions.reverse(admin, UUID(results[0].body["id"]), "order cancelled")
    assert redeem("cust-1", "o-4").status == 201  # the reversed use is given back
    assert redeem("cust-1", "o-1").status == 422  # o-1 was reversed, but cust-1 has 2 uses again
    for result in results:
        redecided(c, result.body)

    c.projections.catch_up()
    stats = c.queries.campaign_stats("acme", results[0].body["campaign_id"])
    assert stats["rejections_by_reason"] == {"code_customer_limit_reached": 2, "code_order_limit_reached": 1}
    assert (stats["redeemed"], stats["reversed"]) == (4, 1)


# -- several rules at once, and the rules must be valid ------------------------------------------

def test_every_broken_rule_is_recorded_with_the_rejection(
    shanghai: Container, admin: Actor, clock: ManualClock
) -> None:
    c = shanghai
    live_campaign(c, admin, reward=HUNDRED_OFF_20, rules={
        "stores": ["S1"], "channel": "online", "days_of_week": [2, 3], "segment": "vip",
        "products": {"categories": ["food"]}})
    clock.set(MONDAY_SHANGHAI)
    refused = c.redemptions.redeem(admin, request(one_code(c, admin), cart(line("A", 5_000, category="food")),
                                                  store_id="S2", channel="offline"))
    assert codes_of(refused.body) == ["wrong_store", "wrong_channel", "wrong_day", "not_in_segment",
                                      "min_spend_not_met"]
    redecided(c, refused.body)


def test_a_campaign_with_bad_rules_is_not_created(container: Container, admin: Actor) -> None:
    for rules in ({"days_of_week": [8]}, {"group_share_bp": 10_001}, {"colour": "red"},
                  {"validity": {"mode": "after_claim"}}):
        with pytest.raises(InvalidInput) as raised:
            container.campaigns.create_campaign(admin, "spring", {"name": "x", "currency": "EUR",
                                                                  "reward": HUNDRED_OFF_20, "rules": rules})
        assert raised.value.code == "invalid_rules", rules
    assert container.ledger.find(Campaign.id_for("acme", "spring"), Campaign) is None
