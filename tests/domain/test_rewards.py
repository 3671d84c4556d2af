"""Reward value objects: the discount each gives an order, their validation and their dict form."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.money import MAX_AMOUNT
from domain.rewards import (
    BASIS_POINTS,
    AmountOff,
    CashVoucher,
    PercentOff,
    Reward,
    reward_from_dict,
    reward_to_dict,
)

# -- amount off ---------------------------------------------------------------------------


def test_amount_off_takes_its_amount_off_a_larger_order() -> None:
    assert AmountOff(500).discount_for(3000) == 500


def test_amount_off_never_takes_more_than_the_order() -> None:
    assert AmountOff(500).discount_for(499) == 499
    assert AmountOff(500).discount_for(0) == 0


def test_amount_off_unit_cost_is_its_amount() -> None:
    assert AmountOff(500, min_spend=2000).unit_cost == 500


@pytest.mark.parametrize(
    "reward",
    [AmountOff(0), AmountOff(-1), AmountOff(MAX_AMOUNT + 1), AmountOff(True), AmountOff(5.0),  # type: ignore[arg-type]
     AmountOff(500, min_spend=-1)],
    ids=["zero", "negative", "too-big", "bool", "float", "negative-min-spend"],
)
def test_amount_off_refuses_amounts_that_are_not_positive_integers(reward: AmountOff) -> None:
    with pytest.raises(InvalidInput) as exc:
        reward.validate()
    assert exc.value.code == "invalid_amount"


# -- percent off --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "basis_points", "discount"),
    [
        (999, 1250, 124),  # 124.875 rounds down
        (1000, 1250, 125),
        (7, 1250, 0),  # 0.875 rounds down to nothing
        (1, 9999, 0),
        (3, 3333, 0),  # 0.9999
        (10_000, 1, 1),
        (19_999, 1, 1),
        (12_345, BASIS_POINTS, 12_345),  # 100% is the whole order
        (MAX_AMOUNT, 1250, MAX_AMOUNT // 8),
    ],
)
def test_percent_off_rounds_down_to_whole_minor_units(order: int, basis_points: int, discount: int) -> None:
    assert PercentOff(basis_points).discount_for(order) == discount


def test_percent_off_is_capped_by_max_discount() -> None:
    reward = PercentOff(5000, max_discount=1000)
    assert reward.discount_for(10_000) == 1000  # 5,000 capped
    assert reward.discount_for(2000) == 1000  # exactly the cap
    assert reward.discount_for(1999) == 999  # under the cap: rounded-down percentage


def test_percent_off_unit_cost_is_the_cap_or_unknown() -> None:
    assert PercentOff(1000).unit_cost is None
    assert PercentOff(1000, max_discount=700).unit_cost == 700


@pytest.mark.parametrize("basis_points", [0, -1, BASIS_POINTS + 1])
def test_percent_off_refuses_basis_points_outside_1_to_10000(basis_points: int) -> None:
    with pytest.raises(InvalidInput) as exc:
        PercentOff(basis_points).validate()
    assert exc.value.code == "invalid_reward"


@pytest.mark.parametrize("basis_points", [1, BASIS_POINTS])
def test_percent_off_accepts_the_bounds_of_its_range(basis_points: int) -> None:
    PercentOff(basis_points).validate()


@pytest.mark.parametrize("cap", [0, -5])
def test_percent_off_refuses_a_cap_that_is_not_positive(cap: int) -> None:
    with pytest.raises(InvalidInput) as exc:
        PercentOff(1000, max_discount=cap).validate()
    assert exc.value.code == "invalid_amount"
    assert exc.value.extra == {"field": "reward.max_discount"}


@pytest.mark.parametrize("basis_points", [1250.5, "1250", True], ids=["float", "str", "bool"])
def test_percent_off_refuses_basis_points_that_are_not_integers(basis_points: Any) -> None:
    # AmountOff/CashVoucher refuse a non-integer with InvalidInput via check_amount; PercentOff accepts
    # 1250.5 (and then computes a float discount), True (1 bp), and crashes with TypeError on "1250".
    with pytest.raises(InvalidInput) as exc:
        reward_from_dict({"type": "percent_off", "basis_points": basis_points})
    assert exc.value.code == "invalid_reward"


# -- cash voucher -------------------------------------------------------------------------


def test_cash_voucher_is_worth_its_face_value_at_most_the_order() -> None:
    reward = CashVoucher(price=200, face_value=250)
    assert reward.discount_for(1000) == 250
    assert reward.discount_for(100) == 100


def test_cash_voucher_unit_cost_is_the_bonus_over_its_price() -> None:
    assert CashVoucher(price=200, face_value=250).unit_cost == 50
    assert CashVoucher(price=0, face_value=250).unit_cost == 250


def test_cash_voucher_refuses_a_price_above_face_value() -> None:
    with pytest.raises(InvalidInput) as exc:
        CashVoucher(price=251, face_value=250).validate()
    assert exc.value.code == "invalid_reward"


@pytest.mark.parametrize("price", [0, 250])
def test_cash_voucher_may_be_free_or_sold_at_face_value(price: int) -> None:
    CashVoucher(price=price, face_value=250).validate()


def test_cash_voucher_refuses_a_zero_face_value() -> None:
    with pytest.raises(InvalidInput) as exc:
        CashVoucher(price=0, face_value=0).validate()
    assert exc.value.code == "invalid_amount"


# -- every reward -------------------------------------------------------------------------

REWARDS: list[Reward] = [
    AmountOff(500),
    AmountOff(MAX_AMOUNT),
    PercentOff(1),
    PercentOff(1250),
    PercentOff(BASIS_POINTS),
    PercentOff(9000, max_discount=10),
    CashVoucher(price=200, face_value=250),
    CashVoucher(price=0, face_value=MAX_AMOUNT),
]


@pytest.mark.parametrize("reward", REWARDS, ids=repr)
def test_discount_is_never_negative_nor_more_than_the_order(reward: Reward) -> None:
    reward.validate()
    for order in (0, 1, 2, 7, 99, 499, 500, 501, 999, 10_000, 123_457, MAX_AMOUNT):
        discount = reward.discount_for(order)
        assert isinstance(discount, int)
        assert 0 <= discount <= order


@pytest.mark.parametrize("reward", REWARDS, ids=repr)
def test_reward_round_trips_through_its_dict_form(reward: Reward) -> None:
    data = reward_to_dict(reward)
    assert data["type"] == reward.type
    assert reward_from_dict(data) == reward


def test_reward_from_dict_applies_defaults() -> None:
    assert reward_from_dict({"type": "amount_off", "amount": 500}) == AmountOff(500, min_spend=0)
    assert reward_from_dict({"type": "percent_off", "basis_points": 1000}) == PercentOff(1000)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"type": "free_shipping"},
        {"type": None},
        {"type": "amount_off"},  # missing amount
        {"type": "amount_off", "amount": 500, "colour": "red"},
        {"type": "cash_voucher", "face_value": 250},
    ],
)
def test_reward_from_dict_refuses_unknown_types_and_bad_fields(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as exc:
        reward_from_dict(data)
    assert exc.value.code == "invalid_reward"


def test_reward_from_dict_validates_values() -> None:
    with pytest.raises(InvalidInput) as exc:
        reward_from_dict({"type": "amount_off", "amount": 0})
    assert exc.value.code == "invalid_amount"
    with pytest.raises(InvalidInput) as exc:
        reward_from_dict({"type": "cash_voucher", "price": 300, "face_value": 250})
    assert exc.value.code == "invalid_reward"
