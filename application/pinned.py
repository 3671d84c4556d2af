"""A recorded redemption's decision as it was: the campaign and voucher versions it saw, the
customer's usage, and the pinned context (local time, holiday, segments). Auditors re-run it
(B4); a partial return (R8) re-runs it on the kept lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from application.ledger import Ledger
from domain.campaign import Campaign
from domain.eligibility import Attempt, Order, OrderLine
from domain.redemption import Redemption
from domain.voucher import Voucher


@dataclass(frozen=True)
class Pinned:
    campaign: Campaign
    voucher: Voucher
    customer_uses: int
    attempt: Attempt


def order_from_dict(order: dict[str, Any]) -> Order:
    return Order(amount=order["amount"], currency=order["currency"], id=order.get("id"),
                 lines=tuple(OrderLine(**line) for line in order.get("lines", [])))


def pinned(ledger: Ledger, redemption: Redemption, order: Order | None = None) -> Pinned | None:
    """The decision's inputs, with `order` instead of the original one if given; None when the
    attempt named no known code."""
    facts = redemption.facts
    if facts.get("voucher_version") is None or facts.get("campaign_version") is None:
        return None
    context = facts.get("context") or {}
    attempt = Attempt(
        customer_id=facts["customer_id"], at=redemption.created_on, store_id=facts["store_id"],
        channel=facts["channel"], order=order or order_from_dict(facts["order"]),
        local=datetime.fromisoformat(context["local"]) if "local" in context else None,
        holidays=frozenset(date.fromisoformat(d) for d in context.get("holidays", [])),
        segments=frozenset(context.get("segments", [])),
    )
    return Pinned(ledger.find_at(facts["campaign_id"], facts["campaign_version"]),
                  ledger.find_at(facts["voucher_id"], facts["voucher_version"]),
                  facts["customer_uses"], attempt)
