"""Holds (R7): validate a cart and set its codes aside until an expiry; then confirm, cancel, or
let it lapse. A held use counts against the code's limit, so two tills cannot both take the last
one; a lapsed hold stops counting the moment it expires, because every decision judges expiry."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from application.commands import Actor, CommandResult, Outcome
from application.pinned import order_from_dict
from application.stacks import StackRequest, StackService, _checked
from application.views import hold_view
from domain.errors import InvalidInput, NotFound
from domain.hold import Hold
from domain.voucher import Voucher

MAX_HOLD_SECONDS = 24 * 3600


class HoldService:
    """Place, confirm and cancel holds on a cart's codes."""

    def __init__(self, stacks: StackService) -> None:
        self.stacks = stacks
        self.executor = stacks.redemptions.executor
        self.ledger = stacks.redemptions.ledger

    def place(self, actor: Actor, request: StackRequest, seconds: int,
              idempotency_key: str | None = None) -> CommandResult:
        """Hold every code of the cart, or none: refused when any would not apply now."""
        if not 1 <= seconds <= MAX_HOLD_SECONDS:
            raise InvalidInput(f"a hold lasts 1..{MAX_HOLD_SECONDS} seconds", code="invalid_hold_time")
        request = _checked(request)
        merchant = actor.merchant_id

        def decide(at: datetime) -> Outcome:
            # Hold on the very objects the validation judged: if another till held or redeemed
            # since, this save conflicts and the decision is taken again on fresh state.
            validation, vouchers = self.stacks.decide_validation(merchant, request, at)
            if not validation["valid"]:
                first = next(i for i in validation["items"] if not i["valid"])
                body = {**validation, "id": None, "status": "refused", "reasons": first["reasons"]}
                return Outcome(422, body)
            hold_id, expires_at = uuid.uuid4(), at + timedelta(seconds=seconds)
            for voucher in vouchers:
                voucher.hold(hold_id, request.customer_id, request.order.id, expires_at, at)
            hold = Hold.place(hold_id, merchant, [v.id for v in vouchers], _stored(request),
                              expires_at, actor.ref, at)
            return Outcome(201, {**hold_view(hold, at), "validation": validation}, (hold, *vouchers))

        return self.executor.run(actor=actor, operation="place_hold",
                                 payload={**request.payload(), "seconds": seconds}, decide=decide,
                                 idempotency_key=idempotency_key)

    def confirm(self, actor: Actor, hold_id: UUID, idempotency_key: str | None = None) -> CommandResult:
        """Redeem the held cart; the hold's own uses are not rivals of it."""
        def decide(at: datetime) -> Outcome:
            hold = self._load(actor.merchant_id, hold_id)
            hold.require_held(at)  # a lapsed, cancelled or confirmed hold is refused
            outcome = self.stacks.decide_redemption(actor.merchant_id, _request(hold.request), at,
                                                    hold_id=hold_id, by=actor.ref)
            if outcome.status != 201:
                return outcome  # the rejections are recorded; the hold lapses or is cancelled
            hold.confirm(UUID(outcome.body["id"]), at)
            return Outcome(201, {**outcome.body, "hold_id": str(hold_id)}, (*outcome.aggregates, hold))

        return self.executor.run(actor=actor, operation="confirm_hold", payload={"hold": str(hold_id)},
                                 decide=decide, idempotency_key=idempotency_key, lock_key=hold_id)

    def cancel(self, actor: Actor, hold_id: UUID, reason: str, idempotency_key: str | None = None
               ) -> CommandResult:
        """Give the held uses back now instead of at the expiry."""
        def decide(at: datetime) -> Outcome:
            hold = self._load(actor.merchant_id, hold_id)
            hold.cancel(reason or "cancelled", actor.ref, at)
            vouchers = [self.ledger.load(v, Voucher) for v in hold.voucher_ids]
            released = [v for v in vouchers if v.release(hold_id, "cancelled", at)]
            return Outcome(200, hold_view(hold, at), (hold, *released))

        return self.executor.run(actor=actor, operation="cancel_hold",
                                 payload={"hold": str(hold_id), "reason": reason}, decide=decide,
                                 idempotency_key=idempotency_key, lock_key=hold_id)

    def get(self, merchant_id: str, hold_id: UUID) -> dict[str, Any]:
        return hold_view(self._load(merchant_id, hold_id), self.executor.clock())

    def _load(self, merchant_id: str, hold_id: UUID) -> Hold:
        hold = self.ledger.find(hold_id, Hold)
        if hold is None or hold.merchant_id != merchant_id:
            raise NotFound("no such hold", code="hold_not_found")
        return hold


def _stored(request: StackRequest) -> dict[str, Any]:
    return {"codes": list(request.codes), "order": request.order.to_dict(),
            "customer_id": request.customer_id, "store_id": request.store_id, "channel": request.channel}


def _request(stored: dict[str, Any]) -> StackRequest:
    return StackRequest(codes=tuple(stored["codes"]), order=order_from_dict(stored["order"]),
                        customer_id=stored["customer_id"], store_id=stored["store_id"],
                        channel=stored["channel"])
