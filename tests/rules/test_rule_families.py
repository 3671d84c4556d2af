"""One table per rule family, with the worked examples of the coupon-template design (zh brief).

Money is in minor units: "100 off 20" (满100减20) is AmountOff(amount=2000, min_spend=10000);
"88% off" (八八折, the customer pays 88 of 100) is PercentOff(1200 basis points off);
"pay 200 get 250" (200代250) is CashVoucher(price=20000, face_value=25000).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.campaign import MULTI_USE, Campaign
from domain.eligibility import Attempt, Decision, Order, OrderLine, decide
from domain.errors import InvalidInput
from domain.rewards import AmountOff, CashVoucher, PercentOff, Points
from domain.rules.engine import Costs, split_cost
from domain.rules.model import ProductScope, Rules, Validity
from domain.voucher import Voucher
from tests.domain.builders import MERCHANT, live_campaign, new_voucher, rid

SHANGHAI = ZoneInfo("Asia/Shanghai")  # UTC+8, no daylight saving
NEW_YORK = ZoneInfo("America/New_York")  # UTC-5 until 8 March 2026
MONDAY = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 2 March 2026 is a Monday


def line(sku: str, price: int, qty: int = 1, category: str | None = None) -> OrderLine:
    return OrderLine(sku=sku, quantity=qty, unit_price=price, category=category)


def cart(*lines: OrderLine, amount: int | None = None, order_id: str | None = "o-1") -> Order:
    return Order.build(amount, "EUR", order_id, list(lines))


def campaign(reward: Any = None, **rules: Any) -> Campaign:
    return live_campaign("spring", reward=reward or AmountOff(500), rules=Rules(**rules).validate(),
                         voucher_type=MULTI_USE, redemption_limit=None)


def voucher(c: Campaign, **kwargs: Any) -> Voucher:
    return new_voucher(redemption_limit=None, campaign_id=c.id, **kwargs)


def attempt(order: Order | None = None, *, at: datetime = MONDAY, tz: ZoneInfo | None = None,
            customer: str | None = "c1", **kwargs: Any) -> Attempt:
    return Attempt(customer_id=customer, order=order or cart(line("A", 20_000)), at=at,
                   local=at.astimezone(tz) if tz else None, **kwargs)


def run(c: Campaign, a: Attempt, uses: int = 0, v: Voucher | None = None) -> Decision:
    return decide(c, v or voucher(c), uses, a)


def codes(decision: Decision) -> list[str]:
    return [r.code for r in decision.reasons]


def allocations(decision: Decision) -> list[tuple[int, str | None, int]]:
    return [(a.line, a.sku, a.amount) for a in decision.allocations]


def check(decision: Decision, expected: int | str) -> None:
    """`expected` is the discount, or the reason code of a refusal (with nothing off)."""
    if isinstance(expected, str):
        assert expected in codes(decision), codes(decision)
        assert (decision.discount, decision.allocations) == (0, ())
    else:
        assert codes(decision) == []
        assert decision.discount == expected
        assert sum(a.amount for a in decision.allocations) == expected


# -- C5 满减: 100 off 20, minimum spend on the qualifying lines only ---------------------------

HUNDRED_OFF_20 = AmountOff(amount=2000, min_spend=10_000)
FOOD = {"products": ProductScope(categories=("food",))}


@pytest.mark.parametrize(
    ("order", "rules", "discount", "qualifying", "allocated"),
    [
        pytest.param(cart(line("A", 10_000)), {}, 2000, 10_000, [(0, "A", 2000)],
                     id="spends exactly 100: pays 80"),
        pytest.param(cart(line("A", 9_999)), {}, "min_spend_not_met", 9_999, [], id="99.99 is not 100"),
        pytest.param(cart(line("A", 2_500, qty=6)), {}, 2000, 15_000, [(0, "A", 2000)],
                     id="150 still 20 off"),
        pytest.param(cart(line("A", 6_000, category="food"), line("B", 5_000, category="drink")), FOOD,
                     "min_spend_not_met", 6_000, [], id="110 in the cart but only 60 qualifies"),
        pytest.param(cart(line("A", 7_000, category="food"), line("B", 5_000, category="drink"),
                          line("C", 3_000, category="food")), FOOD,
                     2000, 10_000, [(0, "A", 1400), (2, "C", 600)], id="100 of food: 20 off the food"),
        pytest.param(cart(line("A", 10_000), amount=12_000), {}, 2000, 10_000, [(0, "A", 2000)],
                     id="shipping outside the lines does not count"),
        pytest.param(cart(line("A", 8_000), amount=12_000), {}, "min_spend_not_met", 8_000, [],
                     id="nor does it help reach the minimum"),
        pytest.param(cart(amount=10_000), {}, 2000, 10_000, [(0, None, 2000)], id="amount without lines"),
    ],
)
def test_hundred_off_twenty(order: Order, rules: dict[str, Any], discount: int | str, qualifying: int,
                            allocated: list[tuple[int, str | None, int]]) -> None:
    decision = run(campaign(HUNDRED_OFF_20, **rules), attempt(order))
    check(decision, discount)
    assert decision.qualifying_amount == qualifying
    assert allocations(decision) == allocated


def test_amount_off_never_exceeds_the_qualifying_lines() -> None:
    decision = run(campaign(AmountOff(2000), **FOOD),
                   attempt(cart(line("A", 1_500, category="food"), line("B", 9_000, category="drink"))))
    check(decision, 1500)
    assert allocations(decision) == [(0, "A", 1500)]


def test_unit_cost_of_hundred_off_twenty_is_twenty() -> None:
    assert HUNDRED_OFF_20.unit_cost == 2000  # budget 1,000,000 -> 50,000 vouchers (brief)


# -- C5 折扣: 88% off, the customer pays 88; rounded down for the customer ------------------

EIGHTY_EIGHT = PercentOff(basis_points=1200)


@pytest.mark.parametrize(
    ("reward", "order", "discount", "allocated"),
    [
        pytest.param(EIGHTY_EIGHT, cart(line("A", 10_000)), 1200, [(0, "A", 1200)], id="100 pays 88"),
        pytest.param(EIGHTY_EIGHT, cart(line("A", 999)), 119, [(0, "A", 119)], id="9.99: 1.1988 off -> 1.19"),
        pytest.param(EIGHTY_EIGHT, cart(line("A", 9)), 1, [(0, "A", 1)], id="0.09: 0.0108 off -> 0.01"),
        pytest.param(EIGHTY_EIGHT, cart(line("A", 8)), "nothing_to_discount", [], id="0.08: rounds to 0"),
        pytest.param(EIGHTY_EIGHT, cart(line("A", 333), line("B", 333), line("C", 334)), 120,
                     [(0, "A", 40), (1, "B", 40), (2, "C", 40)], id="largest remainders get the cents"),
        pytest.param(EIGHTY_EIGHT, cart(line("A", 1_001, qty=3), line("B", 2_000)), 600,
                     [(0, "A", 360), (1, "B", 240)], id="quantity times price"),
        pytest.param(PercentOff(1200, max_discount=1000), cart(line("A", 10_000)), 1000, [(0, "A", 1000)],
                     id="capped"),
        pytest.param(PercentOff(1200, min_spend=5_000), cart(line("A", 4_999)), "min_spend_not_met", [],
                     id="with a minimum spend"),
        pytest.param(PercentOff(10_000), cart(line("A", 777)), 777, [(0, "A", 777)], id="100% off is free"),
    ],
)
def test_eighty_eight_percent(reward: PercentOff, order: Order, discount: int | str,
                              allocated: list[tuple[int, str | None, int]]) -> None:
    decision = run(campaign(reward), attempt(order))
    check(decision, discount)
    assert allocations(decision) == allocated
    if isinstance(discount, int):  # the customer pays at least the stated share (88 of 100)
        paid = decision.qualifying_amount - discount
        assert paid * 10_000 >= decision.qualifying_amount * (10_000 - reward.basis_points)


# -- C5 代金券: pay 200, get 250 ---------------------------------------------------------------

PAY_200_GET_250 = CashVoucher(price=20_000, face_value=25_000)


@pytest.mark.parametrize(
    ("reward", "order", "discount"),
    [
        pytest.param(PAY_200_GET_250, cart(line("dinner", 30_000)), 25_000, id="bill 300: 250 off, pays 50"),
        pytest.param(PAY_200_GET_250, cart(line("dinner", 25_000)), 25_000, id="bill 250: free"),
        pytest.param(PAY_200_GET_250, cart(line("dinner", 18_000)), 18_000, id="bill 180: no change given"),
        pytest.param(CashVoucher(20_000, 25_000, min_spend=30_000), cart(line("dinner", 29_999)),
                     "min_spend_not_met", id="with a minimum spend"),
        pytest.param(PAY_200_GET_250, cart(line("dinner", 10_000, qty=2), line("wine", 9_000)), 25_000,
                     id="two lines"),
    ],
)
def test_pay_two_hundred_get_two_hundred_fifty(reward: CashVoucher, order: Order,
                                               discount: int | str) -> None:
    decision = run(campaign(reward), attempt(order))
    check(decision, discount)


def test_cash_voucher_allocation_over_two_lines_and_unit_cost() -> None:
    order = cart(line("dinner", 10_000, qty=2), line("wine", 9_000))
    decision = run(campaign(PAY_200_GET_250), attempt(order))
    # 250 over 200 + 90: 172.41|38 and 77.58|62 -> the cent left over goes to the larger remainder
    assert allocations(decision) == [(0, "dinner", 17_241), (1, "wine", 7_759)]
    assert PAY_200_GET_250.unit_cost == 5_000  # face - price: budget 1,000,000 -> 20,000 vouchers


# -- W2 points -----------------------------------------------------------------------------------

HUNDRED_POINTS = Points(points=100, program="main")


@pytest.mark.parametrize(
    ("reward", "rules", "kwargs", "points", "reasons"),
    [
        pytest.param(HUNDRED_POINTS, {}, {}, 100, [], id="credited"),
        pytest.param(HUNDRED_POINTS, {}, {"customer": None}, 0, ["customer_required"], id="anonymous"),
        pytest.param(Points(100, "main", min_spend=30_000), {}, {}, 0, ["min_spend_not_met"], id="min spend"),
        pytest.param(HUNDRED_POINTS, {"days_of_week": (2,)}, {}, 0, ["wrong_day"], id="a Tuesday code"),
        pytest.param(HUNDRED_POINTS, {"products": ProductScope(skus=("B",))}, {}, 0, ["not_applicable"],
                     id="not for this product"),
    ],
)
def test_points_reward(reward: Points, rules: dict[str, Any], kwargs: dict[str, Any], points: int,
                       reasons: list[str]) -> None:
    decision = run(campaign(reward, **rules), attempt(**kwargs))
    assert (decision.points, codes(decision), decision.discount) == (points, reasons, 0)
    assert decision.allocations == () and decision.costs == Costs(0, 0)


# -- C8 days of week: Tuesday and Wednesday only, in the MERCHANT's time zone ---------------------

TUE_WED = {"days_of_week": (2, 3)}


@pytest.mark.parametrize(
    ("at", "tz", "expected"),
    [
        pytest.param(datetime(2026, 3, 2, 20, 0, tzinfo=UTC), SHANGHAI, 500,
                     id="Monday 20:00 UTC is Tuesday 04:00 in Shanghai"),
        pytest.param(datetime(2026, 3, 2, 20, 0, tzinfo=UTC), None, "wrong_day",
                     id="same instant, UTC merchant"),
        pytest.param(datetime(2026, 3, 3, 3, 0, tzinfo=UTC), NEW_YORK, "wrong_day",
                     id="Tuesday 03:00 UTC is Monday 22:00 in New York"),
        pytest.param(datetime(2026, 3, 3, 3, 0, tzinfo=UTC), SHANGHAI, 500, id="Tuesday in Shanghai"),
        pytest.param(datetime(2026, 3, 4, 15, 59, tzinfo=UTC), SHANGHAI, 500, id="Wednesday 23:59 Shanghai"),
        pytest.param(datetime(2026, 3, 4, 16, 0, tzinfo=UTC), SHANGHAI, "wrong_day",
                     id="Wednesday 16:00 UTC is Thursday 00:00 in Shanghai"),
        pytest.param(datetime(2026, 3, 4, 16, 0, tzinfo=UTC), NEW_YORK, 500,
                     id="still Wednesday in New York"),
        pytest.param(datetime(2026, 3, 8, 12, 0, tzinfo=UTC), SHANGHAI, "wrong_day", id="Sunday"),
    ],
)
def test_tuesday_and_wednesday_only(at: datetime, tz: ZoneInfo | None, expected: int | str) -> None:
    check(run(campaign(**TUE_WED), attempt(at=at, tz=tz)), expected)


# -- C8 workdays only, with the merchant's holiday calendar ---------------------------------------

@pytest.mark.parametrize(
    ("at", "tz", "holidays", "expected"),
    [
        pytest.param(MONDAY, None, set(), 500, id="Monday"),
        pytest.param(datetime(2026, 3, 6, 12, tzinfo=UTC), None, set(), 500, id="Friday"),
        pytest.param(datetime(2026, 3, 7, 12, tzinfo=UTC), None, set(), "not_a_workday", id="Saturday"),
        pytest.param(datetime(2026, 3, 8, 12, tzinfo=UTC), None, set(), "not_a_workday", id="Sunday"),
        pytest.param(MONDAY, None, {date(2026, 3, 2)}, "not_a_workday", id="a Monday holiday"),
        pytest.param(MONDAY, None, {date(2026, 3, 3)}, 500, id="the holiday is tomorrow"),
        pytest.param(datetime(2026, 3, 6, 20, tzinfo=UTC), SHANGHAI, set(), "not_a_workday",
                     id="Friday evening UTC is Saturday in Shanghai"),
        pytest.param(datetime(2026, 3, 2, 20, tzinfo=UTC), SHANGHAI, {date(2026, 3, 3)}, "not_a_workday",
                     id="the holiday is judged on the local date"),
        pytest.param(datetime(2026, 3, 2, 20, tzinfo=UTC), SHANGHAI, {date(2026, 3, 2)}, 500,
                     id="the UTC date's holiday is over in Shanghai"),
    ],
)
def test_workdays_only(at: datetime, tz: ZoneInfo | None, holidays: set[date], expected: int | str) -> None:
    check(run(campaign(workdays_only=True), attempt(at=at, tz=tz, holidays=frozenset(holidays))), expected)


def test_holidays_do_not_matter_without_the_workdays_rule() -> None:
    check(run(campaign(), attempt(holidays=frozenset({MONDAY.date()}))), 500)


# -- C8 usage channel, C7 listed stores --------------------------------------------------------

@pytest.mark.parametrize(
    ("rule", "channel", "expected"),
    [
        ("any", None, 500), ("any", "online", 500), ("any", "offline", 500),
        ("online", "online", 500), ("online", "offline", "wrong_channel"),
        ("online", None, "wrong_channel"),
        ("offline", "offline", 500), ("offline", "online", "wrong_channel"),
        ("offline", None, "wrong_channel"),
    ],
)
def test_usage_channel(rule: str, channel: str | None, expected: int | str) -> None:
    check(run(campaign(channel=rule), attempt(channel=channel)), expected)


@pytest.mark.parametrize(
    ("stores", "store", "expected"),
    [
        ((), None, 500), ((), "S9", 500),
        (("S1", "online-shop"), "S1", 500), (("S1", "online-shop"), "online-shop", 500),
        (("S1", "online-shop"), "S2", "wrong_store"), (("S1", "online-shop"), None, "wrong_store"),
        (("S1",), "s1", "wrong_store"),
    ],
)
def test_listed_stores(stores: tuple[str, ...], store: str | None, expected: int | str) -> None:
    check(run(campaign(stores=stores), attempt(store_id=store)), expected)


# -- C7 product scope: categories / SKUs with exclusions; allocation per qualifying line ------------

SCOPE_CART = cart(line("A", 1_000, qty=2, category="food"), line("B", 3_000, category="drink"),
                  line("C", 500, category="food"), line("D", 1_500))  # D has no category


@pytest.mark.parametrize(
    ("scope", "qualifying", "allocated"),
    [
        pytest.param(ProductScope(), 7_000, [(0, "A", 286), (1, "B", 429), (2, "C", 71), (3, "D", 214)],
                     id="all products"),
        pytest.param(ProductScope(categories=("food",)), 2_500, [(0, "A", 800), (2, "C", 200)],
                     id="category"),
        pytest.param(ProductScope(skus=("B",)), 3_000, [(1, "B", 1000)], id="sku"),
        pytest.param(ProductScope(categories=("food",), skus=("B",)), 5_500,
                     [(0, "A", 364), (1, "B", 545), (2, "C", 91)], id="category or sku"),
        pytest.param(ProductScope(categories=("food",), exclude_skus=("C",)), 2_000, [(0, "A", 1000)],
                     id="category except a sku"),
        pytest.param(ProductScope(exclude_categories=("drink",)), 4_000,
                     [(0, "A", 500), (2, "C", 125), (3, "D", 375)], id="everything but a category"),
        pytest.param(ProductScope(skus=("A", "B"), exclude_categories=("food",)), 3_000, [(1, "B", 1000)],
                     id="exclusions win over a listed sku"),
        pytest.param(ProductScope(skus=("Z",)), 0, [], id="nothing qualifies"),
    ],
)
def test_product_scope_allocates_to_the_qualifying_lines(
    scope: ProductScope, qualifying: int, allocated: list[tuple[int, str, int]]
) -> None:
    decision = run(campaign(AmountOff(1000), products=scope), attempt(SCOPE_CART))
    assert decision.qualifying_amount == qualifying
    assert allocations(decision) == allocated
    if allocated:
        check(decision, 1000)
    else:
        assert codes(decision) == ["not_applicable"]
        check(decision, "not_applicable")


def test_an_order_without_lines_cannot_meet_a_product_scope() -> None:
    decision = run(campaign(products=ProductScope(categories=("food",))), attempt(cart(amount=5_000)))
    assert (codes(decision), decision.qualifying_amount) == (["not_applicable"], 0)


def test_allocation_ties_go_to_the_earlier_line() -> None:
    order = cart(line("A", 1_000), line("B", 1_000), line("C", 1_000))
    decision = run(campaign(AmountOff(100)), attempt(order))
    assert allocations(decision) == [(0, "A", 34), (1, "B", 33), (2, "C", 33)]


def test_free_lines_qualify_but_get_no_allocation_row() -> None:
    decision = run(campaign(AmountOff(300)), attempt(cart(line("gift", 0), line("A", 1_000))))
    assert (decision.qualifying_amount, allocations(decision)) == (1_000, [(1, "A", 300)])


def test_only_free_lines_qualify_so_nothing_to_discount() -> None:
    order = cart(line("gift", 0), line("A", 10))
    decision = run(campaign(products=ProductScope(skus=("gift",))), attempt(order))
    assert codes(decision) == ["nothing_to_discount"]


# -- V3 per-code limits: per customer, per order --------------------------------------------------

def used(v: Voucher, *uses: tuple[str | None, str | None]) -> Voucher:
    for customer, order_id in uses:
        v.redeem(rid(), customer, 500, MONDAY, order_id=order_id)
    return v


@pytest.mark.parametrize(
    ("uses", "customer", "order_id", "expected"),
    [
        pytest.param([], "c1", "o-1", 500, id="first use"),
        pytest.param([("c1", "o-1")], "c1", "o-2", 500, id="second use by c1"),
        pytest.param([("c1", "o-1"), ("c1", "o-2")], "c1", "o-3", "code_customer_limit_reached",
                     id="third use by c1"),
        pytest.param([("c1", "o-1"), ("c1", "o-2")], "c2", "o-3", 500, id="another customer"),
        pytest.param([("c2", "o-1")], "c3", "o-1", "code_order_limit_reached",
                     id="same order, other customer"),
        pytest.param([("c2", None)], "c3", None, 500, id="orders without id are not counted"),
        pytest.param([("c1", "o-1"), ("c1", "o-2")], "c1", "o-2", "code_order_limit_reached",
                     id="both limits"),
    ],
)
def test_per_code_limits(uses: list[tuple[str, str | None]], customer: str, order_id: str | None,
                         expected: int | str) -> None:
    c = campaign(per_customer_per_code=2, per_order_per_code=1)
    decision = run(c, attempt(cart(line("A", 20_000), order_id=order_id), customer=customer),
                   v=used(voucher(c), *uses))
    check(decision, expected)


def test_a_reversed_use_no_longer_counts_against_the_per_code_limits() -> None:
    c = campaign(per_customer_per_code=1, per_order_per_code=1)
    v = voucher(c)
    first = rid()
    v.redeem(first, "c1", 500, MONDAY, order_id="o-1")
    assert codes(run(c, attempt(customer="c1"), v=v)) == ["code_customer_limit_reached",
                                                          "code_order_limit_reached"]
    v.reverse_redemption(first, "returned", MONDAY)
    check(run(c, attempt(customer="c1"), v=v), 500)


def test_a_per_customer_code_limit_needs_the_customer() -> None:
    c = campaign(per_customer_per_code=1)
    v = used(voucher(c), ("c1", "o-1"))
    decision = run(c, attempt(cart(line("A", 20_000), order_id="o-2"), customer=None), v=v)
    assert "customer_required" in codes(decision)


# -- C11 customer segment ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("segments", "expected"),
    [({"vip"}, 500), ({"vip", "gold"}, 500), (set(), "not_in_segment"), ({"gold"}, "not_in_segment")],
)
def test_segment_gate(segments: set[str], expected: int | str) -> None:
    check(run(campaign(segment="vip"), attempt(segments=frozenset(segments))), expected)


def test_segments_do_not_matter_to_an_untargeted_campaign() -> None:
    check(run(campaign(), attempt(segments=frozenset())), 500)


# -- C8 / R3 exclusivity, given what else is in the order -------------------------------------------

@pytest.mark.parametrize(
    ("exclusivity", "combinable_with", "stack", "expected"),
    [
        pytest.param("combinable", (), (), 500, id="combinable alone"),
        pytest.param("combinable", (), ("bf", "xmas"), 500, id="combinable with anything"),
        pytest.param("exclusive", (), (), 500, id="exclusive alone"),
        pytest.param("exclusive", (), ("spring",), 500, id="itself is not another offer"),
        pytest.param("exclusive", (), ("bf",), "not_combinable", id="exclusive with another"),
        pytest.param("only_with", ("bf",), ("bf",), 500, id="only with a listed one"),
        pytest.param("only_with", ("bf",), ("bf", "xmas"), "not_combinable", id="and an unlisted one"),
        pytest.param("only_with", ("bf",), ("xmas",), "not_combinable", id="only an unlisted one"),
        pytest.param("only_with", (), ("xmas",), "not_combinable", id="only with nothing listed"),
    ],
)
def test_exclusivity(exclusivity: str, combinable_with: tuple[str, ...], stack: tuple[str, ...],
                     expected: int | str) -> None:
    c = campaign(exclusivity=exclusivity, combinable_with=combinable_with)
    check(run(c, attempt(stack=stack)), expected)


# -- C9 cost bearer: group, store, 80/20 split; the group gets the floor, the store the rest ------

@pytest.mark.parametrize(
    ("bearer", "share", "discount", "group", "store"),
    [
        pytest.param("group", 10_000, 2_000, 2_000, 0, id="group pays all"),
        pytest.param("store", 10_000, 2_000, 0, 2_000, id="the redeeming store pays all"),
        pytest.param("split", 8_000, 10_000, 8_000, 2_000, id="80/20 of 100"),
        pytest.param("split", 8_000, 2_000, 1_600, 400, id="80/20 of 20"),
        pytest.param("split", 8_000, 2_001, 1_600, 401, id="80/20 of 20.01: store takes the odd cent"),
        pytest.param("split", 8_000, 119, 95, 24, id="80/20 of 1.19"),
        pytest.param("split", 8_000, 1, 0, 1, id="80/20 of one cent"),
        pytest.param("split", 3_333, 1_000, 333, 667, id="33.33%"),
        pytest.param("split", 0, 999, 0, 999, id="0% group"),
        pytest.param("split", 10_000, 999, 999, 0, id="100% group"),
        pytest.param("group", 8_000, 999, 999, 0, id="share ignored unless split"),
    ],
)
def test_split_cost(bearer: str, share: int, discount: int, group: int, store: int) -> None:
    assert split_cost(discount, Rules(cost_bearer=bearer, group_share_bp=share)) == Costs(group, store)


@pytest.mark.parametrize(
    ("reward", "amount", "discount", "costs"),
    [
        pytest.param(HUNDRED_OFF_20, 10_000, 2_000, Costs(1_600, 400), id="100 off 20"),
        pytest.param(EIGHTY_EIGHT, 999, 119, Costs(95, 24), id="88% of 9.99"),
        pytest.param(PAY_200_GET_250, 30_000, 25_000, Costs(20_000, 5_000), id="pay 200 get 250"),
    ],
)
def test_eighty_twenty_split_of_a_decision(reward: Any, amount: int, discount: int, costs: Costs) -> None:
    decision = run(campaign(reward, cost_bearer="split", group_share_bp=8_000),
                   attempt(cart(line("A", amount))))
    assert (decision.discount, decision.costs) == (discount, costs)


def test_a_refused_decision_costs_nobody_anything() -> None:
    decision = run(campaign(HUNDRED_OFF_20, cost_bearer="split", group_share_bp=8_000),
                   attempt(cart(line("A", 9_999))))
    assert (decision.discount, decision.costs) == (0, Costs(0, 0))


# -- every reason at once -----------------------------------------------------------------------

def test_every_broken_rule_is_reported_at_once() -> None:
    c = campaign(HUNDRED_OFF_20, stores=("S1",), channel="online", days_of_week=(2, 3), workdays_only=True,
                 segment="vip", exclusivity="exclusive", products=ProductScope(categories=("food",)))
    sunday = datetime(2026, 3, 8, 12, tzinfo=UTC)
    decision = run(c, attempt(cart(line("A", 5_000, category="food")), at=sunday, store_id="S2",
                              channel="offline", stack=("bf",)))
    assert codes(decision) == ["wrong_store", "wrong_channel", "wrong_day", "not_a_workday",
                               "not_in_segment", "not_combinable", "min_spend_not_met"]
    assert (decision.discount, decision.qualifying_amount) == (0, 5_000)


# -- the rules as data: from_dict and validation ---------------------------------------------------

def test_rules_round_trip_through_their_dict() -> None:
    rules = Rules(products=ProductScope(categories=("food",), exclude_skus=("C",)), stores=("S1",),
                  channel="online", days_of_week=(2, 3), workdays_only=True, exclusivity="only_with",
                  combinable_with=("bf",), segment="vip", per_customer_per_code=2, per_order_per_code=1,
                  cost_bearer="split", group_share_bp=8_000,
                  validity=Validity(mode="after_claim", days_after=10, duration_days=30))
    assert Rules.from_dict(rules.to_dict()) == rules
    assert Rules.from_dict(None) == Rules() == Rules.from_dict({})


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"colour": "red"}, id="unknown rule"),
        pytest.param({"products": {"brands": ["x"]}}, id="unknown product scope"),
        pytest.param({"validity": {"mode": "after_claim"}}, id="after_claim without duration_days"),
        pytest.param({"validity": {"mode": "someday"}}, id="unknown validity mode"),
        pytest.param({"validity": {"mode": "from_claim", "duration_days": 0}}, id="zero duration"),
        pytest.param({"validity": {"days_after": -1}}, id="negative days_after"),
        pytest.param({"validity": {"until": "later"}}, id="unknown validity field"),
        pytest.param({"days_of_week": [8]}, id="day 8"),
        pytest.param({"days_of_week": [0]}, id="day 0"),
        pytest.param({"days_of_week": ["tuesday"]}, id="day by name"),
        pytest.param({"group_share_bp": 10_001}, id="share above 100%"),
        pytest.param({"group_share_bp": -1}, id="negative share"),
        pytest.param({"cost_bearer": "partner"}, id="unknown bearer"),
        pytest.param({"channel": "telepathy"}, id="unknown channel"),
        pytest.param({"exclusivity": "sometimes"}, id="unknown exclusivity"),
        pytest.param({"per_customer_per_code": 0}, id="zero per-customer limit"),
        pytest.param({"per_order_per_code": True}, id="boolean per-order limit"),
    ],
)
def test_bad_rules_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as raised:
        Rules.from_dict(data)
    assert raised.value.code == "invalid_rules"


@pytest.mark.parametrize("data", [{"products": {"categories": "food"}}, {"stores": "S1"}])
def test_a_string_where_a_list_belongs_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        Rules.from_dict(data)


def test_rules_default_to_no_restriction() -> None:
    rules = Rules()
    assert rules.products.everything
    assert (rules.stores, rules.channel, rules.days_of_week) == ((), "any", ())
    assert (rules.cost_bearer, rules.group_share_bp, rules.validity.mode) == ("group", 10_000, "fixed")
    check(run(campaign(), attempt(store_id="anywhere", channel="offline",
                                  at=datetime(2026, 3, 8, tzinfo=UTC))), 500)


@pytest.mark.parametrize(
    ("validity", "window"),
    [
        (Validity(), (None, None)),
        (Validity("from_claim"), (MONDAY, None)),
        (Validity("from_claim", duration_days=30), (MONDAY, datetime(2026, 4, 1, 12, tzinfo=UTC))),
        (Validity("after_claim", days_after=10, duration_days=30),
         (datetime(2026, 3, 12, 12, tzinfo=UTC), datetime(2026, 4, 11, 12, tzinfo=UTC))),
    ],
)
def test_validity_window_from_the_claim(validity: Validity, window: tuple[Any, Any]) -> None:
    """The brief: claimed now, effective after 10 days, valid 30 -> now+10 .. now+10+30 days."""
    assert validity.window(MONDAY) == window


def test_a_voucher_is_usable_only_inside_its_own_window() -> None:
    c = campaign()
    start, end = Validity("after_claim", days_after=10, duration_days=30).window(MONDAY)
    assert start is not None and end is not None
    v = Voucher.issue(MERCHANT, c.id, "SPRING-0001", None, MONDAY, holder="c1", valid_from=start,
                      valid_until=end)
    too_early = datetime(2026, 3, 12, 11, 59, tzinfo=UTC)
    assert codes(run(c, attempt(at=too_early), v=v)) == ["voucher_not_yet_valid"]
    check(run(c, attempt(at=start), v=v), 500)
    check(run(c, attempt(at=datetime(2026, 4, 11, 11, 59, tzinfo=UTC)), v=v), 500)
    assert codes(run(c, attempt(at=end), v=v)) == ["voucher_expired"]
