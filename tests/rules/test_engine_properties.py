"""Property tests of the pure rules engine and `decide`: random carts, rules and rewards.

The money rules (engine docstring): the discount is computed on the qualifying lines only and
never exceeds them; it is allocated to them by largest remainder so the allocations add up to it
exactly; a split cost gives the group floor(discount * share) and the store the rest.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.campaign import MULTI_USE, Campaign
from domain.eligibility import Attempt, Decision, Order, OrderLine, decide
from domain.rewards import AmountOff, CashVoucher, PercentOff, Points
from domain.rules.engine import Line, allocate, qualifying_lines, split_cost
from domain.rules.model import BASIS_POINTS, ProductScope, Rules, Validity
from domain.voucher import Voucher
from tests.domain.builders import live_campaign, new_voucher

# No example database: nothing is written outside the tests; failures print their example.
PROPERTY = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
SECONDARY = settings(PROPERTY, max_examples=100)

SKUS = ("A", "B", "C", "D", "E")
CATEGORIES = ("food", "drink", "toys")
STORES = ("S1", "S2", "online")
SEGMENTS = ("vip", "gold")
OTHER_CAMPAIGNS = ("bf", "xmas", "spring")  # "spring" is the campaign itself (builders' key)
KEY = "spring"
DAY0 = date(2026, 3, 2)  # a Monday

# -- strategies -----------------------------------------------------------------------------

order_lines = st.lists(
    st.builds(OrderLine, sku=st.sampled_from(SKUS), quantity=st.integers(1, 5),
              unit_price=st.integers(0, 5_000), category=st.one_of(st.none(), st.sampled_from(CATEGORIES))),
    max_size=8,
)


EURO = st.just("EUR")


@st.composite
def orders(draw: st.DrawFn, currency: st.SearchStrategy[str] = EURO) -> Order:
    lines = draw(order_lines)
    total = sum(line.total for line in lines)
    extra = draw(st.integers(0, 2_000))  # shipping and the like, outside the lines
    amount = total + extra if lines else draw(st.integers(0, 60_000))
    order_id = draw(st.one_of(st.none(), st.just("o-1")))
    return Order.build(amount, draw(currency), order_id, lines)


def subset(values: tuple[str, ...] | tuple[int, ...]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(st.sampled_from(values), unique=True, max_size=len(values)).map(tuple)


scopes = st.builds(ProductScope, categories=subset(CATEGORIES), skus=subset(SKUS),
                   exclude_categories=subset(CATEGORIES), exclude_skus=subset(SKUS))

rules_strategy = st.builds(
    Rules,
    products=st.one_of(st.just(ProductScope()), scopes),
    stores=st.one_of(st.just(()), subset(STORES)),
    channel=st.sampled_from(("any", "online", "offline")),
    days_of_week=st.one_of(st.just(()), subset((1, 2, 3, 4, 5, 6, 7))),
    workdays_only=st.booleans(),
    exclusivity=st.sampled_from(("combinable", "exclusive", "only_with")),
    combinable_with=subset(("bf", "xmas")),
    segment=st.one_of(st.none(), st.sampled_from(SEGMENTS)),
    cost_bearer=st.sampled_from(("group", "store", "split")),
    group_share_bp=st.integers(0, BASIS_POINTS),
    validity=st.just(Validity()),
)

# The rules money depends on (scope, cost bearer), the situation rules left open: most orders pass.
money_rules = st.builds(
    Rules,
    products=st.one_of(st.just(ProductScope()), scopes),
    cost_bearer=st.sampled_from(("group", "store", "split")),
    group_share_bp=st.integers(0, BASIS_POINTS),
)

money = st.integers(1, 30_000)
spend = st.one_of(st.just(0), st.integers(0, 40_000))
money_rewards = st.one_of(
    st.builds(AmountOff, amount=money, min_spend=spend),
    st.builds(PercentOff, basis_points=st.integers(1, BASIS_POINTS),
              max_discount=st.one_of(st.none(), money), min_spend=spend),
    st.builds(lambda price, extra, m: CashVoucher(price=price, face_value=price + extra, min_spend=m),
              st.integers(0, 20_000), money, spend),
)
rewards = st.one_of(money_rewards, st.builds(Points, points=st.integers(1, 1_000), program=st.just("main"),
                                              min_spend=spend))


@st.composite
def attempts(draw: st.DrawFn, order: st.SearchStrategy[Order] | None = None) -> Attempt:
    at = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 14 * 24 * 60)))
    offset = timedelta(hours=draw(st.integers(-11, 13)))
    local = at.astimezone(timezone(offset))
    holidays = frozenset(DAY0 + timedelta(days=d) for d in draw(st.lists(st.integers(-1, 15), max_size=3)))
    drawn = draw(order if order is not None else orders())
    remaining = None  # what earlier codes of a stack left of each line (R3), sometimes
    if draw(st.integers(0, 2)) == 0:
        totals = [line.total for line in drawn.lines] or [drawn.amount]
        remaining = tuple(draw(st.integers(0, total)) for total in totals)
    return Attempt(
        customer_id=draw(st.one_of(st.none(), st.sampled_from(("c1", "c2")))),
        order=drawn,
        remaining=remaining,
        at=at,
        store_id=draw(st.one_of(st.none(), st.sampled_from(STORES))),
        channel=draw(st.one_of(st.none(), st.sampled_from(("online", "offline")))),
        local=local,
        holidays=holidays,
        segments=frozenset(draw(subset(SEGMENTS))),
        stack=draw(subset(OTHER_CAMPAIGNS)),
    )


def campaign_with(rules: Rules, reward: Any) -> Campaign:
    return live_campaign(KEY, reward=reward, rules=rules, voucher_type=MULTI_USE, redemption_limit=None)


def voucher_for(campaign: Campaign) -> Voucher:
    return new_voucher(redemption_limit=None, campaign_id=campaign.id)


def line_amounts(a: Attempt) -> list[int]:
    """What is left to discount of each line (all of it, unless earlier codes took some)."""
    return [line.amount for line in a.order.engine_lines(a.remaining)]


def qualifying_indexes(rules: Rules, order: Order) -> set[int]:
    return {line.index for line in order.engine_lines() if rules.products.qualifies(line.sku, line.category)}


def expected_rule_failures(rules: Rules, reward: Any, a: Attempt) -> set[str]:
    """An independent statement of C7/C8/C11/R3: every rule the attempt breaks."""
    failures = set()
    local = a.local or a.at
    if rules.stores and a.store_id not in rules.stores:
        failures.add("wrong_store")
    if rules.channel != "any" and a.channel != rules.channel:
        failures.add("wrong_channel")
    if rules.days_of_week and local.isoweekday() not in rules.days_of_week:
        failures.add("wrong_day")
    if rules.workdays_only and (local.isoweekday() >= 6 or local.date() in a.holidays):
        failures.add("not_a_workday")
    if rules.segment is not None and rules.segment not in a.segments:
        failures.add("not_in_segment")
    others = [k for k in a.stack if k != KEY]
    if others and (rules.exclusivity == "exclusive" or (
            rules.exclusivity == "only_with" and not set(others) <= set(rules.combinable_with))):
        failures.add("not_combinable")
    chosen = qualifying_indexes(rules, a.order)
    qualifying = sum(amount for i, amount in enumerate(line_amounts(a)) if i in chosen)
    if not chosen:
        failures.add("not_applicable")
    elif qualifying < reward.min_spend:
        failures.add("min_spend_not_met")
    if isinstance(reward, Points) and a.customer_id is None:
        failures.add("customer_required")
    return failures


def reason_codes(decision: Decision) -> set[str]:
    return {r.code for r in decision.reasons}


# -- decide -----------------------------------------------------------------------------------


def check_discount(rules: Rules, reward: Any, attempt: Attempt, decision: Decision) -> None:
    """Never negative, never above the qualifying lines' amount, which is theirs exactly."""
    assert 0 <= decision.discount <= decision.qualifying_amount
    chosen = qualifying_indexes(rules, attempt.order)
    assert decision.qualifying_amount == sum(
        amount for i, amount in enumerate(line_amounts(attempt)) if i in chosen)
    if not decision.accepted or isinstance(reward, Points):
        return
    q = decision.qualifying_amount
    assert q >= reward.min_spend and decision.discount > 0
    if isinstance(reward, AmountOff):
        assert decision.discount == min(reward.amount, q)
    elif isinstance(reward, CashVoucher):
        assert decision.discount == min(reward.face_value, q)
    else:  # rounded down: never more than the stated percentage of the qualifying lines
        assert decision.discount * BASIS_POINTS <= q * reward.basis_points
        uncapped = q * reward.basis_points // BASIS_POINTS
        assert decision.discount == (uncapped if reward.max_discount is None
                                     else min(uncapped, reward.max_discount))


def check_allocations(rules: Rules, attempt: Attempt, decision: Decision) -> None:
    """They add up to the discount exactly, one per line at most, only on qualifying lines."""
    amounts = line_amounts(attempt)
    chosen = qualifying_indexes(rules, attempt.order)
    assert sum(a.amount for a in decision.allocations) == decision.discount
    assert len({a.line for a in decision.allocations}) == len(decision.allocations)
    for allocation in decision.allocations:
        assert allocation.line in chosen
        assert 0 <= allocation.amount <= amounts[allocation.line]
        assert allocation.sku == attempt.order.engine_lines()[allocation.line].sku


def check_costs(rules: Rules, decision: Decision) -> None:
    costs = decision.costs
    assert costs.group >= 0 and costs.store >= 0
    assert costs.group + costs.store == decision.discount
    if decision.accepted and rules.cost_bearer == "split":
        assert costs.group == decision.discount * rules.group_share_bp // BASIS_POINTS


def check_points(reward: Any, decision: Decision) -> None:
    if isinstance(reward, Points):
        assert decision.discount == 0 and decision.allocations == ()
        assert decision.points == (reward.points if decision.accepted else 0)
    else:
        assert decision.points == 0


@PROPERTY
@given(rules=st.one_of(money_rules, rules_strategy), reward=rewards, attempt=attempts())
def test_discount_allocations_and_costs_obey_the_money_rules(
    rules: Rules, reward: Any, attempt: Attempt
) -> None:
    campaign = campaign_with(rules, reward)
    decision = decide(campaign, voucher_for(campaign), 0, attempt)
    check_discount(rules, reward, attempt, decision)
    check_allocations(rules, attempt, decision)
    check_costs(rules, decision)
    check_points(reward, decision)


@PROPERTY
@given(rules=rules_strategy, reward=rewards, attempt=attempts())
def test_an_order_failing_any_rule_gets_every_reason_and_nothing_off(
    rules: Rules, reward: Any, attempt: Attempt
) -> None:
    campaign = campaign_with(rules, reward)
    decision = decide(campaign, voucher_for(campaign), 0, attempt)
    expected = expected_rule_failures(rules, reward, attempt)
    codes = reason_codes(decision)
    assert expected <= codes, (expected, codes)
    # nothing is refused for a reason the oracle does not know, but for a zero discount
    assert codes - expected <= {"nothing_to_discount"}, (expected, codes)
    if expected:
        assert not decision.accepted
    if not decision.accepted:
        assert decision.reasons
        assert (decision.discount, decision.points, decision.allocations) == (0, 0, ())
        assert (decision.costs.group, decision.costs.store) == (0, 0)


@SECONDARY
@given(rules=rules_strategy, reward=rewards, attempt=attempts(), data=st.data())
def test_decide_is_deterministic_and_the_order_of_the_lines_does_not_change_the_answer(
    rules: Rules, reward: Any, attempt: Attempt, data: st.DataObject
) -> None:
    first = decide(campaign_with(rules, reward), voucher_for(campaign_with(rules, reward)), 0, attempt)
    campaign = campaign_with(rules, reward)
    voucher = voucher_for(campaign)
    assert [decide(campaign, voucher, 0, attempt) for _ in range(2)] == [first, first]

    order = data.draw(st.permutations(range(len(attempt.order.lines))))
    remaining = attempt.remaining
    if remaining is not None and attempt.order.lines:
        remaining = tuple(remaining[i] for i in order)
    shuffled = replace(attempt, remaining=remaining, order=replace(
        attempt.order, lines=tuple(attempt.order.lines[i] for i in order)))
    other = decide(campaign, voucher, 0, shuffled)
    assert (first.discount, first.points, first.qualifying_amount, first.costs) == (
        other.discount, other.points, other.qualifying_amount, other.costs)
    assert reason_codes(first) == reason_codes(other)


@SECONDARY
@given(rules=money_rules, reward=money_rewards, attempt=attempts(),
       extra=st.lists(st.builds(OrderLine, sku=st.just("Z"), quantity=st.integers(1, 5),
                                unit_price=st.integers(0, 50_000),
                                category=st.one_of(st.none(), st.sampled_from(CATEGORIES))),
                      min_size=1, max_size=3))
def test_lines_outside_the_scope_change_nothing(
    rules: Rules, reward: Any, attempt: Attempt, extra: list[OrderLine]
) -> None:
    """Adding lines the campaign excludes leaves the discount and its allocation as they were."""
    rules = replace(rules, products=replace(rules.products, exclude_skus=(*rules.products.exclude_skus, "Z")))
    lines = [*attempt.order.lines, *extra]
    bigger = Order.build(attempt.order.amount + sum(line.total for line in extra), "EUR",
                         attempt.order.id, lines)
    remaining = attempt.remaining
    if remaining is not None:
        remaining = (*remaining[:len(attempt.order.lines)], *(line.total for line in extra))
    campaign = campaign_with(rules, reward)
    voucher = voucher_for(campaign)
    one = decide(campaign, voucher, 0, attempt)
    two = decide(campaign, voucher, 0, replace(attempt, order=bigger, remaining=remaining))
    if not attempt.order.lines:  # the amount-only order was one line of unknown product
        assert two.qualifying_amount == 0 and not two.accepted
        return
    assert (two.discount, two.qualifying_amount, two.allocations, two.costs, two.reasons) == (
        one.discount, one.qualifying_amount, one.allocations, one.costs, one.reasons)


@settings(PROPERTY, max_examples=50)
@given(rules=rules_strategy, reward=money_rewards, attempt=attempts(orders(st.sampled_from(("USD", "GBP")))))
def test_an_order_in_another_currency_gets_nothing(rules: Rules, reward: Any, attempt: Attempt) -> None:
    campaign = campaign_with(rules, reward)
    decision = decide(campaign, voucher_for(campaign), 0, attempt)
    assert "currency_mismatch" in reason_codes(decision)
    assert (decision.discount, decision.allocations) == (0, ())


# -- the engine's parts -----------------------------------------------------------------------

engine_lines = st.lists(st.integers(0, 100_000), min_size=1, max_size=12).map(
    lambda amounts: tuple(Line(i, f"S{i}", None, amount) for i, amount in enumerate(amounts)))


@PROPERTY
@given(lines=engine_lines, data=st.data())
def test_largest_remainder_allocation_is_exact_and_fair(lines: tuple[Line, ...], data: st.DataObject) -> None:
    total = sum(line.amount for line in lines)
    discount = data.draw(st.integers(0, total))
    allocations = allocate(discount, lines)
    assert sum(a.amount for a in allocations) == discount
    by_line = {a.line: a.amount for a in allocations}
    assert len(by_line) == len(allocations)
    for line in lines:
        share = by_line.get(line.index, 0)
        assert 0 <= share <= line.amount
        # within one unit of the exact proportional share, never below its floor
        assert discount * line.amount // total <= share if total else share == 0
        assert share * total < discount * line.amount + total if total else True
    assert all(a.amount > 0 for a in allocations)  # no zero rows


@PROPERTY
@given(lines=engine_lines, data=st.data())
def test_allocation_leftovers_go_to_the_largest_remainders_then_the_earlier_line(
    lines: tuple[Line, ...], data: st.DataObject
) -> None:
    total = sum(line.amount for line in lines)
    discount = data.draw(st.integers(0, total))
    by_line = {a.line: a.amount for a in allocate(discount, lines)}
    if not total:
        assert by_line == {}
        return
    bumped = [line for line in lines if by_line.get(line.index, 0) > discount * line.amount // total]
    kept = [line for line in lines if line not in bumped]

    def rank(line: Line) -> tuple[int, int]:
        return -(discount * line.amount % total), line.index

    if bumped and kept:
        assert max(rank(line) for line in bumped) < min(rank(line) for line in kept)


@PROPERTY
@given(discount=st.integers(0, 10**12), bearer=st.sampled_from(("group", "store", "split")),
       share=st.integers(0, BASIS_POINTS))
def test_split_cost_gives_the_group_the_floor_and_the_store_the_rest(
    discount: int, bearer: str, share: int
) -> None:
    costs = split_cost(discount, Rules(cost_bearer=bearer, group_share_bp=share))
    assert costs.group + costs.store == discount
    assert costs.group >= 0 and costs.store >= 0
    expected_group = {"group": discount, "store": 0, "split": discount * share // BASIS_POINTS}[bearer]
    assert costs.group == expected_group


@SECONDARY
@given(rules=rules_strategy, amounts=st.lists(st.integers(0, 10_000), max_size=8),
       skus=st.lists(st.sampled_from(SKUS), min_size=8, max_size=8),
       categories=st.lists(st.one_of(st.none(), st.sampled_from(CATEGORIES)), min_size=8, max_size=8))
def test_qualifying_lines_are_exactly_those_in_scope(
    rules: Rules, amounts: list[int], skus: list[str], categories: list[str | None]
) -> None:
    lines = tuple(Line(i, skus[i], categories[i], amount) for i, amount in enumerate(amounts))
    evaluation = qualifying_lines(rules, lines)
    scope = rules.products
    for line in lines:
        expected = (line.sku not in scope.exclude_skus and line.category not in scope.exclude_categories
                    and ((not scope.categories and not scope.skus)
                         or line.sku in scope.skus or line.category in scope.categories))
        assert (line in evaluation.lines) == expected
    assert evaluation.qualifying_amount == sum(line.amount for line in evaluation.lines)
    assert bool(evaluation.reasons) == (not evaluation.lines)
