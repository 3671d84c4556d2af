"""The pure redemption decision, and the order it is taken for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from domain.campaign import MULTI_USE, Campaign, Status
from domain.eligibility import MAX_LINES, Attempt, Decision, Order, OrderLine, Reason, decide
from domain.errors import InvalidInput
from domain.rewards import AmountOff, CashVoucher, PercentOff
from domain.voucher import Voucher
from tests.domain.builders import BY, at, campaign_in, live_campaign, new_voucher, rid, state


def attempt(amount: int = 3000, currency: str = "EUR", customer: str | None = "cust-1",
            when: datetime | None = None) -> Attempt:
    order = Order.build(amount, currency, "o-1", [])
    return Attempt(customer_id=customer, order=order, at=when or at(hours=1))


def codes(decision: Decision) -> list[str]:
    return [reason.code for reason in decision.reasons]


def voucher_for(campaign: Campaign, **kwargs: Any) -> Voucher:
    return new_voucher(redemption_limit=campaign.terms.redemption_limit, campaign_id=campaign.id, **kwargs)


# -- accepted -----------------------------------------------------------------------------


def test_live_campaign_and_open_voucher_give_the_rewards_discount() -> None:
    campaign = live_campaign()
    decision = decide(campaign, voucher_for(campaign), 0, attempt(3000))
    assert (decision.discount, decision.reasons, decision.accepted) == (500, (), True)
    assert decision.accepted


@pytest.mark.parametrize(
    ("reward", "amount", "discount"),
    [
        (AmountOff(500), 300, 300),
        (PercentOff(1250), 999, 124),
        (PercentOff(5000, max_discount=1000), 10_000, 1000),
        (CashVoucher(price=200, face_value=250), 1000, 250),
    ],
)
def test_accepted_discount_comes_from_the_reward(reward: Any, amount: int, discount: int) -> None:
    campaign = live_campaign(reward=reward)
    assert decide(campaign, voucher_for(campaign), 0, attempt(amount)).discount == discount


def test_min_spend_exactly_met_is_accepted() -> None:
    campaign = live_campaign(reward=AmountOff(500, min_spend=2000))
    assert decide(campaign, voucher_for(campaign), 0, attempt(2000)).accepted


def test_holder_redeeming_their_own_voucher_is_accepted() -> None:
    campaign = live_campaign()
    assert decide(campaign, voucher_for(campaign, holder="cust-1"), 0, attempt(customer="cust-1")).accepted


def test_customer_under_their_limit_is_accepted() -> None:
    campaign = live_campaign(per_customer_limit=3)
    assert decide(campaign, voucher_for(campaign), 2, attempt()).accepted


def test_campaign_inside_its_window_is_accepted_at_the_start_instant() -> None:
    campaign = live_campaign(starts_at=at(days=1), ends_at=at(days=2))
    assert decide(campaign, voucher_for(campaign), 0, attempt(when=at(days=1))).accepted


def test_multi_use_voucher_with_uses_left_is_accepted() -> None:
    campaign = live_campaign(voucher_type=MULTI_USE, redemption_limit=2)
    voucher = voucher_for(campaign)
    voucher.redeem(rid(), None, 500, at())
    assert decide(campaign, voucher, 0, attempt()).accepted


# -- each reason --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (Status.DRAFT, "campaign_not_active"),
        (Status.PENDING_REVIEW, "campaign_not_active"),
        (Status.APPROVED, "campaign_not_active"),
        (Status.REJECTED, "campaign_not_active"),
        (Status.ENDED, "campaign_ended"),
        (Status.DISABLED, "campaign_disabled"),
    ],
)
def test_campaign_that_is_not_active_gives_nothing(status: str, reason: str) -> None:
    campaign = campaign_in(status)
    assert campaign.status == status
    decision = decide(campaign, voucher_for(campaign), 0, attempt())
    assert codes(decision) == [reason]
    assert (decision.discount, decision.accepted) == (0, False)


def test_not_active_reason_names_the_status() -> None:
    campaign = campaign_in(Status.APPROVED)
    assert decide(campaign, voucher_for(campaign), 0, attempt()).reasons == (
        Reason("campaign_not_active", "the campaign is approved"),)


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        (at(days=1, seconds=-1), "campaign_not_started"),
        (at(days=2), "campaign_expired"),  # ends_at is exclusive
        (at(days=30), "campaign_expired"),
    ],
)
def test_active_campaign_outside_its_window_gives_nothing(when: datetime, reason: str) -> None:
    campaign = live_campaign(starts_at=at(days=1), ends_at=at(days=2))
    assert codes(decide(campaign, voucher_for(campaign), 0, attempt(when=when))) == [reason]


def test_disabled_campaign_reports_only_that_it_was_disabled() -> None:
    campaign = live_campaign(ends_at=at(days=1))
    campaign.disable(BY, "fraud", at())
    decision = decide(campaign, voucher_for(campaign), 0, attempt(when=at(days=5)))
    assert codes(decision) == ["campaign_disabled"]


def test_single_use_voucher_already_redeemed() -> None:
    campaign = live_campaign()
    voucher = voucher_for(campaign)
    voucher.redeem(rid(), "cust-1", 500, at())
    assert codes(decide(campaign, voucher, 0, attempt())) == ["voucher_already_redeemed"]


def test_multi_use_voucher_at_its_limit() -> None:
    campaign = live_campaign(voucher_type=MULTI_USE, redemption_limit=2)
    voucher = voucher_for(campaign)
    voucher.redeem(rid(), None, 500, at())
    voucher.redeem(rid(), None, 500, at())
    assert codes(decide(campaign, voucher, 0, attempt())) == ["redemption_limit_reached"]


@pytest.mark.parametrize("customer", ["cust-2", None])
def test_voucher_held_by_someone_else(customer: str | None) -> None:
    campaign = live_campaign()
    voucher = voucher_for(campaign, holder="cust-1")
    assert codes(decide(campaign, voucher, 0, attempt(customer=customer))) == ["voucher_not_owned"]


def test_per_customer_limit_needs_a_customer() -> None:
    campaign = live_campaign(per_customer_limit=1)
    assert codes(decide(campaign, voucher_for(campaign), 0, attempt(customer=None))) == ["customer_required"]


@pytest.mark.parametrize("uses", [2, 3])
def test_customer_at_their_limit(uses: int) -> None:
    campaign = live_campaign(per_customer_limit=2)
    decision = decide(campaign, voucher_for(campaign), uses, attempt())
    assert decision.reasons == (Reason("customer_limit_reached", "a customer may redeem 2 time(s)"),)


def test_usage_count_is_ignored_without_a_per_customer_limit() -> None:
    campaign = live_campaign()
    assert decide(campaign, voucher_for(campaign), 1_000, attempt()).accepted


def test_order_in_another_currency() -> None:
    campaign = live_campaign()
    decision = decide(campaign, voucher_for(campaign), 0, attempt(currency="USD"))
    assert decision.reasons == (Reason("currency_mismatch", "the campaign is in EUR"),)


def test_order_below_min_spend() -> None:
    campaign = live_campaign(reward=AmountOff(500, min_spend=2000))
    decision = decide(campaign, voucher_for(campaign), 0, attempt(1999))
    assert decision.reasons == (Reason("min_spend_not_met", "qualifying lines must total 2000"),)


@pytest.mark.parametrize(
    ("reward", "amount"),
    [(AmountOff(500), 0), (PercentOff(1250), 7), (PercentOff(1), 9_999)],
    ids=["empty-order", "percent-rounds-to-zero", "one-basis-point"],
)
def test_order_with_nothing_to_discount(reward: Any, amount: int) -> None:
    campaign = live_campaign(reward=reward)
    assert codes(decide(campaign, voucher_for(campaign), 0, attempt(amount))) == ["nothing_to_discount"]


def test_currency_mismatch_skips_the_min_spend_check() -> None:
    campaign = live_campaign(reward=AmountOff(500, min_spend=2000))
    decision = decide(campaign, voucher_for(campaign), 0, attempt(10, currency="USD"))
    assert codes(decision) == ["currency_mismatch"]


# -- several reasons ----------------------------------------------------------------------


def test_decide_lists_every_reason_at_once() -> None:
    campaign = live_campaign(per_customer_limit=1, reward=AmountOff(500, min_spend=5000))
    campaign.end(BY, at())
    voucher = voucher_for(campaign, holder="cust-1")
    voucher.redeem(rid(), "cust-1", 500, at())

    decision = decide(campaign, voucher, 1, attempt(100, customer="cust-2"))

    assert codes(decision) == ["campaign_ended", "voucher_already_redeemed", "voucher_not_owned",
                               "customer_limit_reached", "min_spend_not_met"]
    assert (decision.discount, decision.accepted) == (0, False)


def test_a_single_order_problem_alone_zeroes_a_computable_discount() -> None:
    campaign = live_campaign(per_customer_limit=1)
    decision = decide(campaign, voucher_for(campaign), 0, attempt(3000, customer=None))
    assert (codes(decision), decision.discount) == (["customer_required"], 0)


def test_decide_changes_nothing() -> None:
    campaign = live_campaign(per_customer_limit=1)
    voucher = voucher_for(campaign)
    campaign.collect_events()
    voucher.collect_events()
    before = (state(campaign), state(voucher))
    decide(campaign, voucher, 0, attempt())
    decide(campaign, voucher, 5, attempt(customer=None, currency="USD"))
    assert (state(campaign), state(voucher)) == before
    assert campaign.collect_events() == voucher.collect_events() == []


# -- orders -------------------------------------------------------------------------------


def lines(*items: tuple[int, int]) -> list[OrderLine]:
    return [OrderLine(sku=f"sku-{i}", quantity=q, unit_price=p) for i, (q, p) in enumerate(items)]


def test_order_amount_defaults_to_the_lines_total() -> None:
    order = Order.build(None, "EUR", "o-1", lines((2, 1250), (1, 500)))
    assert order.amount == 3000
    assert len(order.lines) == 2 and isinstance(order.lines, tuple)


def test_order_amount_may_exceed_the_lines_total() -> None:
    assert Order.build(3500, "EUR", None, lines((2, 1250), (1, 500))).amount == 3500  # shipping
    assert Order.build(3000, "EUR", None, lines((2, 1250), (1, 500))).amount == 3000


def test_order_amount_below_the_lines_total_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        Order.build(2999, "EUR", None, lines((2, 1250), (1, 500)))
    assert exc.value.code == "order_amount_mismatch"


def test_order_without_amount_or_lines_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        Order.build(None, "EUR", None, [])
    assert exc.value.code == "order_amount_required"


def test_order_of_zero_without_lines_is_allowed() -> None:
    assert Order.build(0, "EUR", None, []).amount == 0


@pytest.mark.parametrize("currency", ["XYZ", "eur", "", "EURO"])
def test_order_in_an_unknown_currency_is_refused(currency: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        Order.build(100, currency, None, [])
    assert exc.value.code == "unknown_currency"


@pytest.mark.parametrize(
    ("amount", "order_lines", "code"),
    [
        (-1, [], "invalid_amount"),
        (10**15 + 1, [], "invalid_amount"),
        (None, lines((1, -5)), "invalid_amount"),
        (None, lines((0, 100)), "invalid_quantity"),
        (None, lines((1_000_001, 1)), "invalid_quantity"),
        (None, lines((1_000_000, 10**15)), "invalid_amount"),  # the lines' total is out of range
        (None, lines(*[(1, 1)] * (MAX_LINES + 1)), "too_many_lines"),
    ],
    ids=["negative", "too-big", "negative-price", "zero-quantity", "huge-quantity", "huge-total", "too-many"],
)
def test_order_refuses_bad_amounts_and_lines(
    amount: int | None, order_lines: list[OrderLine], code: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        Order.build(amount, "EUR", None, order_lines)
    assert exc.value.code == code


def test_order_of_max_lines_is_accepted() -> None:
    assert Order.build(None, "JPY", None, lines(*[(1, 1)] * MAX_LINES)).amount == MAX_LINES


def test_order_dict_lists_its_lines() -> None:
    order = Order.build(None, "EUR", "o-7", [OrderLine("tee", 2, 1000, "apparel")])
    assert order.to_dict() == {
        "amount": 2000, "currency": "EUR", "id": "o-7",
        "lines": [{"sku": "tee", "quantity": 2, "unit_price": 1000, "category": "apparel"}],
    }
    assert OrderLine("tee", 3, 700).total == 2100
