"""Partial returns (R8): some lines of a redeemed order come back.

The discount is decided again on the kept lines, under the very campaign and voucher versions
and context of the original decision, and the difference (with its cost split) is given back
as a `PartiallyReversed` event on the redemption's own stream. The voucher's use stays spent;
a points reward (per code, not per line) stays credited. When nothing is kept, the whole
redemption is reversed instead, use and points included.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from uuid import UUID

from application.commands import Actor, CommandResult, Outcome
from application.pinned import order_from_dict, pinned
from application.redemptions import RedemptionService
from application.views import redemption_view
from domain.eligibility import Order, OrderLine, decide
from domain.errors import InvalidInput, InvalidTransition
from domain.redemption import Redemption


class ReturnService:
    """Support or checkout returns lines of an order whose code was redeemed."""

    def __init__(self, redemptions: RedemptionService) -> None:
        self.redemptions = redemptions

    def return_lines(self, actor: Actor, redemption_id: UUID, lines: list[tuple[str, int]],
                     reason: str, idempotency_key: str | None = None) -> CommandResult:
        returned = _merged(lines)

        def decide_(at: datetime) -> Outcome:
            redemption = self.redemptions.load_redemption(actor.merchant_id, redemption_id)
            kept = _kept_order(redemption, returned)
            if kept is None:
                return self.redemptions.reversal_outcome(actor, redemption, reason, at)
            inputs = pinned(self.redemptions.ledger, redemption, kept)
            if inputs is None:
                raise InvalidTransition("the redemption names no code", code="redemption_not_reversible")
            decision = decide(inputs.campaign, inputs.voucher, inputs.customer_uses, inputs.attempt)
            after = decision.discount if decision.accepted else 0
            redemption.reverse_partly([{"sku": s, "quantity": q} for s, q in returned.items()],
                                      after, asdict(decision.costs), reason, actor.ref, at)
            return Outcome(200, redemption_view(redemption), (redemption,))

        return self.redemptions.executor.run(
            actor=actor, operation="return_lines",
            payload={"redemption": str(redemption_id), "lines": sorted(returned.items()), "reason": reason},
            decide=decide_, idempotency_key=idempotency_key, lock_key=redemption_id,
        )


def _merged(lines: list[tuple[str, int]]) -> dict[str, int]:
    if not lines:
        raise InvalidInput("name the returned lines", code="no_lines")
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        if quantity < 1:
            raise InvalidInput("returned quantities are positive", code="invalid_quantity")
        merged[sku] = merged.get(sku, 0) + quantity
    return merged


def _kept_order(redemption: Redemption, returning: dict[str, int]) -> Order | None:
    """The order minus everything returned so far and now; None when nothing is left."""
    order = order_from_dict(redemption.facts["order"])
    gone = dict(redemption.returned)
    for sku, quantity in returning.items():
        gone[sku] = gone.get(sku, 0) + quantity
    kept_lines: list[OrderLine] = []
    for line in order.lines:
        take = min(line.quantity, gone.get(line.sku, 0))
        gone[line.sku] = gone.get(line.sku, 0) - take
        if line.quantity > take:
            kept_lines.append(replace(line, quantity=line.quantity - take))
    unknown = {sku: n for sku, n in gone.items() if n > 0}
    if unknown:
        raise InvalidInput(f"more returned than bought: {unknown}", code="return_exceeds_order")
    kept_amount = order.amount - sum(line.total for line in order.lines) + sum(k.total for k in kept_lines)
    if not kept_lines:
        return None
    return replace(order, amount=kept_amount, lines=tuple(kept_lines))
