"""The redemption decision, shared by validate and redeem so they can never disagree (R1, R2).

Pure: the campaign, the voucher, the customer's usage count and the attempt go in; the
discount or every reason it does not apply comes out. Issue #5 grows this into the
full rules engine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from domain.campaign import Campaign, Status
from domain.errors import InvalidInput
from domain.money import check_amount, check_currency
from domain.rewards import Points
from domain.voucher import Voucher

MAX_LINES = 500


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: int
    category: str | None = None

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Order:
    """The cart being paid: amount in minor units, currency, optional lines."""

    amount: int
    currency: str
    id: str | None = None
    lines: tuple[OrderLine, ...] = ()

    @classmethod
    def build(
        cls, amount: int | None, currency: str, order_id: str | None, lines: list[OrderLine]
    ) -> Order:
        check_currency(currency)
        if len(lines) > MAX_LINES:
            raise InvalidInput(f"at most {MAX_LINES} order lines", code="too_many_lines")
        for line in lines:
            check_amount(line.unit_price, "lines.unit_price")
            if not 1 <= line.quantity <= 1_000_000:
                raise InvalidInput("line quantity must be 1..1000000", code="invalid_quantity")
        lines_total = sum(line.total for line in lines)
        if amount is None:
            if not lines:
                raise InvalidInput("an order needs an amount or lines", code="order_amount_required")
            amount = lines_total
        check_amount(amount, "order.amount")
        if amount < lines_total:
            raise InvalidInput(
                f"order amount {amount} is less than its lines' total {lines_total}",
                code="order_amount_mismatch",
            )
        return cls(amount=amount, currency=currency, id=order_id, lines=tuple(lines))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"lines": [asdict(line) for line in self.lines]}


@dataclass(frozen=True)
class Attempt:
    """Who is redeeming what, where and when."""

    customer_id: str | None
    order: Order
    at: datetime
    store_id: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Decision:
    discount: int
    reasons: tuple[Reason, ...] = field(default=())
    points: int = 0  # points credited (a points reward, W2)

    @property
    def accepted(self) -> bool:
        return not self.reasons


def decide(campaign: Campaign, voucher: Voucher, customer_uses: int, attempt: Attempt) -> Decision:
    """The discount `voucher` gives `attempt`, or every reason it gives none."""
    reasons = [
        *_campaign_reasons(campaign, attempt.at),
        *_voucher_reasons(voucher, attempt.customer_id),
        *_customer_reasons(campaign, attempt.customer_id, customer_uses),
    ]
    terms = campaign.terms
    discount = 0
    if attempt.order.currency != terms.currency:
        reasons.append(Reason("currency_mismatch", f"the campaign is in {terms.currency}"))
    elif attempt.order.amount < terms.reward.min_spend:
        reasons.append(Reason("min_spend_not_met", f"minimum spend is {terms.reward.min_spend}"))
    elif isinstance(terms.reward, Points):
        if attempt.customer_id is None and all(r.code != "customer_required" for r in reasons):
            reasons.append(Reason("customer_required", "points go to a customer's account"))
    else:
        discount = terms.reward.discount_for(attempt.order.amount)
        if discount == 0:
            reasons.append(Reason("nothing_to_discount", "the order leaves nothing to discount"))
    points = terms.reward.points if isinstance(terms.reward, Points) and not reasons else 0
    return Decision(discount=0 if reasons else discount, reasons=tuple(reasons), points=points)


def _campaign_reasons(campaign: Campaign, at: datetime) -> list[Reason]:
    terms = campaign.terms
    if campaign.status == Status.DISABLED:
        return [Reason("campaign_disabled", "the campaign was disabled")]
    if campaign.status == Status.ENDED:
        return [Reason("campaign_ended", "the campaign has ended")]
    if campaign.status != Status.ACTIVE:
        return [Reason("campaign_not_active", f"the campaign is {campaign.status}")]
    if terms.starts_at is not None and at < terms.starts_at:
        return [Reason("campaign_not_started", "the campaign has not started yet")]
    if terms.ends_at is not None and at >= terms.ends_at:
        return [Reason("campaign_expired", "the campaign's validity has passed")]
    return []


def _voucher_reasons(voucher: Voucher, customer_id: str | None) -> list[Reason]:
    reasons = []
    if voucher.exhausted:
        if voucher.redemption_limit == 1:
            reasons.append(Reason("voucher_already_redeemed", "the voucher was already redeemed"))
        else:
            reasons.append(Reason("redemption_limit_reached", "the code's redemption limit is reached"))
    if voucher.holder is not None and voucher.holder != customer_id:
        reasons.append(Reason("voucher_not_owned", "the voucher is assigned to another customer"))
    return reasons


def _customer_reasons(campaign: Campaign, customer_id: str | None, uses: int) -> list[Reason]:
    limit = campaign.terms.per_customer_limit
    if limit is None:
        return []
    if customer_id is None:
        return [Reason("customer_required", "this campaign limits uses per customer")]
    if uses >= limit:
        return [Reason("customer_limit_reached", f"a customer may redeem {limit} time(s)")]
    return []
