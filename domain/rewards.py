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
    list_price: int | None = None  # C4: the price the unit cost is planned on
    type: str = "percent_off"

    def validate(self) -> None:
        if not _is_int(self.basis_points) or not 1 <= self.basis_points <= BASIS_POINTS:
            raise InvalidInput("reward.basis_points must be 1..10000", code="invalid_reward")
        if self.max_discount is not None:
            check_amount(self.max_discount, "reward.max_discount", allow_zero=False)
        if self.list_price is not None:
            check_amount(self.list_price, "reward.list_price", allow_zero=False)
        check_amount(self.min_spend, "reward.min_spend")

    def discount_for(self, order_amount: int) -> int:
        # Rounded down: the customer never gets more than the stated percentage.
        discount = order_amount * self.basis_points // BASIS_POINTS
        if self.max_discount is not None:
            discount = min(discount, self.max_discount)
        return discount

    @property
    def unit_cost(self) -> int | None:
        """List price minus discounted price (C4); else the cap; else unknown until priced."""
        if self.list_price is not None:
            return self.discount_for(self.list_price)
        return self.max_discount


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


@dataclass(frozen=True)
class Gift:
    """A gift item (赠品) handed over with a qualifying order; costs `cost` per unit to give."""

    sku: str
    cost: int
    name: str = ""
    quantity: int = 1
    min_spend: int = 0
    type: str = "gift"

    def validate(self) -> None:
        if not isinstance(self.sku, str) or not 1 <= len(self.sku) <= 128:
            raise InvalidInput("reward.sku is required", code="invalid_reward")
        check_amount(self.cost, "reward.cost")
        if not _is_int(self.quantity) or not 1 <= self.quantity <= 1000:
            raise InvalidInput("reward.quantity must be 1..1000", code="invalid_reward")
        check_amount(self.min_spend, "reward.min_spend")

    def discount_for(self, order_amount: int) -> int:
        return 0

    @property
    def unit_cost(self) -> int | None:
        return self.cost * self.quantity


@dataclass(frozen=True)
class PartnerCodeReward:
    """A third-party reward code (e.g. a gift card) drawn from a partner pool at redemption."""

    pool: str  # the key of the campaign whose partner pool supplies the codes
    cost: int | None = None  # what one partner code costs, for budgets and cost reports
    min_spend: int = 0
    type: str = "partner_code"

    def validate(self) -> None:
        if not isinstance(self.pool, str) or not 1 <= len(self.pool) <= 64:
            raise InvalidInput("reward.pool (a campaign key) is required", code="invalid_reward")
        if self.cost is not None:
            check_amount(self.cost, "reward.cost")
        check_amount(self.min_spend, "reward.min_spend")

    def discount_for(self, order_amount: int) -> int:
        return 0

    @property
    def unit_cost(self) -> int | None:
        return self.cost


@dataclass(frozen=True)
class Offer:
    """W2: redeeming the code places a voucher of another campaign in the customer's wallet."""

    campaign: str  # the offer's campaign key
    min_spend: int = 0
    type: str = "offer"

    def validate(self) -> None:
        if not isinstance(self.campaign, str) or not 1 <= len(self.campaign) <= 64:
            raise InvalidInput("reward.campaign (the offer's campaign key) is required",
                               code="invalid_reward")
        check_amount(self.min_spend, "reward.min_spend")

    def discount_for(self, order_amount: int) -> int:
        return 0

    @property
    def unit_cost(self) -> int | None:
        return None  # the offer's own campaign carries its cost when it is redeemed


Reward = AmountOff | PercentOff | CashVoucher | Points | Gift | PartnerCodeReward | Offer
MONEY_OFF = (AmountOff, PercentOff, CashVoucher)  # rewards that take money off the order


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_TYPES: dict[str, type[Reward]] = {
    "amount_off": AmountOff,
    "percent_off": PercentOff,
    "cash_voucher": CashVoucher,
    "points": Points,
    "gift": Gift,
    "partner_code": PartnerCodeReward,
    "offer": Offer,
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
