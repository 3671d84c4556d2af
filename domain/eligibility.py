"""The redemption decision, shared by validate, redeem and best-offer so they never disagree (R1, R2).

Pure: the campaign, the voucher, the customer's usage and the attempt go in; the discount, its
allocation to the order's lines and its cost split — or every reason it does not apply — come
out. The rules themselves are judged by `domain.rules.engine`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.campaign import Campaign, Status
from domain.errors import InvalidInput
from domain.money import check_amount, check_currency
from domain.rewards import MONEY_OFF, Gift, Offer, PartnerCodeReward, Points, Reward
from domain.rules.engine import (
    Allocation,
    Costs,
    Line,
    Reason,
    Situation,
    allocate,
    qualifying_lines,
    situation_reasons,
    split_cost,
)
from domain.voucher import Voucher

__all__ = ["Attempt", "Decision", "Order", "OrderLine", "Reason", "campaign_reasons", "decide"]
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

    def engine_lines(self, remaining: tuple[int, ...] | None = None) -> tuple[Line, ...]:
        """The lines the rules judge; an order without lines is one line of unknown product.

        With lines, only itemised goods can qualify (not shipping and the like in the amount).
        """
        if not self.lines:
            amount = remaining[0] if remaining else self.amount
            return (Line(0, None, None, amount),)
        return tuple(Line(i, line.sku, line.category, remaining[i] if remaining else line.total)
                     for i, line in enumerate(self.lines))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"lines": [asdict(line) for line in self.lines]}


@dataclass(frozen=True)
class Attempt:
    """Who is redeeming what, where and when — and what else is in the same order."""

    customer_id: str | None
    order: Order
    at: datetime
    store_id: str | None = None
    channel: str | None = None
    local: datetime | None = None  # `at` in the merchant's time zone (default: UTC)
    holidays: frozenset[date] = frozenset()
    segments: frozenset[str] = frozenset()
    stack: tuple[str, ...] = ()  # other campaigns' keys applied in the same order
    remaining: tuple[int, ...] | None = None  # line amounts left after earlier codes of a stack
    hold_id: UUID | None = None  # the hold being confirmed: its own held use is not a rival

    def situation(self) -> Situation:
        return Situation(at=self.at, local=self.local or self.at, store_id=self.store_id,
                         channel=self.channel, holidays=self.holidays, segments=self.segments,
                         stack=self.stack)


@dataclass(frozen=True)
class Decision:
    discount: int
    reasons: tuple[Reason, ...] = field(default=())
    points: int = 0  # points credited (a points reward, W2)
    allocations: tuple[Allocation, ...] = ()
    costs: Costs = field(default_factory=Costs)
    qualifying_amount: int = 0
    reward: dict[str, Any] | None = None  # a gift, partner code or offer given (C5, W2)

    @property
    def accepted(self) -> bool:
        return not self.reasons

    def allocation_dicts(self) -> list[dict[str, Any]]:
        return [asdict(a) for a in self.allocations]


def decide(campaign: Campaign, voucher: Voucher, customer_uses: int, attempt: Attempt) -> Decision:
    """The discount `voucher` gives `attempt`, or every reason it gives none."""
    terms, rules = campaign.terms, campaign.terms.rules
    reasons = [
        *campaign_reasons(campaign, attempt.at),
        *_voucher_reasons(voucher, attempt, rules.per_customer_per_code, rules.per_order_per_code),
        *_customer_reasons(campaign, attempt.customer_id, customer_uses),
        *situation_reasons(rules, attempt.situation(), campaign.key),
    ]
    if attempt.order.currency != terms.currency:
        return Decision(0, (*reasons, Reason("currency_mismatch", f"the campaign is in {terms.currency}")))
    evaluation = qualifying_lines(rules, attempt.order.engine_lines(attempt.remaining))
    reasons += evaluation.reasons
    reward = terms.reward
    if evaluation.lines and evaluation.qualifying_amount < reward.min_spend:
        reasons.append(Reason("min_spend_not_met",
                              f"qualifying lines must total {reward.min_spend}"))
    if isinstance(reward, Points):
        _require_customer(reasons, attempt, "points go to a customer's account")
        points = 0 if reasons else reward.points
        return Decision(0, tuple(reasons), points=points, qualifying_amount=evaluation.qualifying_amount)
    if not isinstance(reward, MONEY_OFF):  # a gift, a partner's code or an offer: no money off
        if isinstance(reward, Offer):
            _require_customer(reasons, attempt, "an offer goes to a customer's wallet")
        if reasons:
            return Decision(0, tuple(reasons), qualifying_amount=evaluation.qualifying_amount)
        return Decision(0, (), costs=split_cost(reward.unit_cost or 0, rules),
                        qualifying_amount=evaluation.qualifying_amount, reward=given(reward))
    discount = min(reward.discount_for(evaluation.qualifying_amount), evaluation.qualifying_amount)
    if evaluation.lines and discount == 0 and not reasons:
        reasons.append(Reason("nothing_to_discount", "the order leaves nothing to discount"))
    if reasons:
        return Decision(0, tuple(reasons), qualifying_amount=evaluation.qualifying_amount)
    return Decision(discount, (), allocations=allocate(discount, evaluation.lines),
                    costs=split_cost(discount, rules), qualifying_amount=evaluation.qualifying_amount)


def _require_customer(reasons: list[Reason], attempt: Attempt, message: str) -> None:
    """A reward that goes to a customer needs one (said once, whichever rule asked first)."""
    if attempt.customer_id is None and all(r.code != "customer_required" for r in reasons):
        reasons.append(Reason("customer_required", message))


def given(reward: Reward) -> dict[str, Any] | None:
    """What a non-money reward hands over; the service adds the drawn code or placed voucher."""
    if isinstance(reward, Gift):
        return {"type": "gift", "sku": reward.sku, "name": reward.name, "quantity": reward.quantity}
    if isinstance(reward, PartnerCodeReward):
        return {"type": "partner_code", "pool": reward.pool}
    if isinstance(reward, Offer):
        return {"type": "offer", "campaign": reward.campaign}
    return None


def campaign_reasons(campaign: Campaign, at: datetime) -> list[Reason]:
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


def _voucher_reasons(voucher: Voucher, attempt: Attempt, per_customer: int | None,
                     per_order: int | None) -> list[Reason]:
    reasons = []
    if voucher.withdrawn:
        reasons.append(Reason("voucher_withdrawn", "the offer was taken back"))
    if not voucher.exhausted and voucher.exhausted_at(attempt.at, besides=attempt.hold_id):
        reasons.append(Reason("voucher_held", "the code's last uses are held for another cart"))
    elif voucher.exhausted:
        if voucher.redemption_limit == 1:
            reasons.append(Reason("voucher_already_redeemed", "the voucher was already redeemed"))
        else:
            reasons.append(Reason("redemption_limit_reached", "the code's redemption limit is reached"))
    if voucher.holder is not None and voucher.holder != attempt.customer_id:
        reasons.append(Reason("voucher_not_owned", "the voucher is assigned to another customer"))
    if voucher.valid_from is not None and attempt.at < voucher.valid_from:
        reasons.append(Reason("voucher_not_yet_valid", "the voucher is not valid yet"))
    if voucher.valid_until is not None and attempt.at >= voucher.valid_until:
        reasons.append(Reason("voucher_expired", "the voucher's validity has passed"))
    if per_customer is not None and attempt.customer_id is None:
        reasons.append(Reason("customer_required", "this code limits uses per customer"))
    elif per_customer is not None and attempt.customer_id is not None \
            and voucher.uses_by(customer=attempt.customer_id) >= per_customer:
        reasons.append(Reason("code_customer_limit_reached",
                              f"a customer may use this code {per_customer} time(s)"))
    if per_order is not None and attempt.order.id is not None \
            and voucher.uses_by(order=attempt.order.id) >= per_order:
        reasons.append(Reason("code_order_limit_reached", f"an order may use this code {per_order} time(s)"))
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
