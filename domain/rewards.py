"""Reward types (C5) and the discount each gives an order. Pure value objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from domain.errors import InvalidInput
from domain.money import check_amount

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class AmountOff:
    """A fixed amount off when the order reaches a minimum spend ("100 off 20")."""

    amount: int
    min_spend: int = 0
    type: str = "amount_off"

    def validate(self) -> None:
        check_amount(self.amount, "reward.amount", allow_zero=False)
        check_amount(self.min_spend, "reward.min_spend")

    def discount_for(self, order_amount: int) -> int:
        return min(self.amount, order_amount)

    @property
    def unit_cost(self) -> int | None:
        return self.amount


@dataclass(frozen=True)
class PercentOff:
    """A percentage off, in basis points (1,200 = 12%), optionally capped."""

    basis_points: int
    max_discount: int | None = None
    min_spend: int = 0
    type: str = "percent_off"

    def validate(self) -> None:
        if not _is_int(self.basis_points) or not 1 <= self.basis_points <= BASIS_POINTS:
            raise InvalidInput("reward.basis_points must be 1..10000", code="invalid_reward")
        if self.max_discount is not None:
            check_amount(self.max_discount, "reward.max_discount", allow_zero=False)
        check_amount(self.min_spend, "reward.min_spend")

    def discount_for(self, order_amount: int) -> int:
        # Rounded down: the customer never gets more than the stated percentage.
        discount = order_amount * self.basis_points // BASIS_POINTS
        if self.max_discount is not None:
            discount = min(discount, self.max_discount)
        return discount

    @property
    def unit_cost(self) -> int | None:
        return self.max_discount  # unknown until an order is priced, unless capped


@dataclass(frozen=True)
class CashVoucher:
    """A voucher bought for `price` and worth `face_value` at checkout ("pay 200 get 250")."""

    price: int
    face_value: int
    min_spend: int = 0
    type: str = "cash_voucher"

    def validate(self) -> None:
        check_amount(self.price, "reward.price")
        check_amount(self.face_value, "reward.face_value", allow_zero=False)
        check_amount(self.min_spend, "reward.min_spend")
        if self.price > self.face_value:
            raise InvalidInput("reward.price must not exceed face_value", code="invalid_reward")

    def discount_for(self, order_amount: int) -> int:
        return min(self.face_value, order_amount)

    @property
    def unit_cost(self) -> int | None:
        return self.face_value - self.price


@dataclass(frozen=True)
class Points:
    """W2: the code's outcome is points credited to the customer's account, not money off."""

    points: int
    program: str
    category: str = "regular"
    min_spend: int = 0
    type: str = "points"

    def validate(self) -> None:
        if not _is_int(self.points) or not 1 <= self.points <= 10**9:
            raise InvalidInput("reward.points must be 1..10^9", code="invalid_reward")
        if not isinstance(self.program, str) or not self.program:
            raise InvalidInput("reward.program is required", code="invalid_reward")
        if self.category not in ("regular", "promised", "trigger"):
            raise InvalidInput("reward.category: regular, promised or trigger", code="invalid_reward")
        check_amount(self.min_spend, "reward.min_spend")

    def discount_for(self, order_amount: int) -> int:
        return 0

    @property
    def unit_cost(self) -> int | None:
        return None  # points have no money value until the program gives them one


Reward = AmountOff | PercentOff | CashVoucher | Points


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
_TYPES: dict[str, type[AmountOff] | type[PercentOff] | type[CashVoucher] | type[Points]] = {
    "amount_off": AmountOff,
    "percent_off": PercentOff,
    "cash_voucher": CashVoucher,
    "points": Points,
}


def reward_from_dict(data: dict[str, Any]) -> Reward:
    """Build and validate a reward from its stored or requested form."""
    cls = _TYPES.get(str(data.get("type")))
    if cls is None:
        raise InvalidInput(f"unknown reward type {data.get('type')!r}", code="invalid_reward")
    try:
        reward = cls(**data)
    except TypeError as exc:
        raise InvalidInput(f"bad reward fields: {exc}", code="invalid_reward") from None
    reward.validate()
    return reward


def reward_to_dict(reward: Reward) -> dict[str, Any]:
    return asdict(reward)
