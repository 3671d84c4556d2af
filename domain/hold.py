"""Hold aggregate (R7): codes set aside for one cart until an expiry, then confirmed, cancelled
or lapsed. The vouchers carry the held uses; the hold remembers the cart to redeem it as held."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidTransition


class HoldStatus:
    HELD = "held"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"  # derived: held, and past its expiry


class Hold(Aggregate):
    """A till's claim on codes for a cart; it lapses by itself, no job needed."""

    class Placed(Aggregate.Created):
        merchant_id: str
        voucher_ids: list[UUID]
        request: dict[str, Any]  # codes, order, customer, store, channel
        expires_at: datetime
        by: str

        def apply(self, hold: Hold) -> None:
            hold.merchant_id = self.merchant_id
            hold.voucher_ids = list(self.voucher_ids)
            hold.request = self.request
            hold.expires_at = self.expires_at
            hold.status = HoldStatus.HELD

    class Confirmed(Aggregate.Event):
        stack_id: UUID

        def apply(self, hold: Hold) -> None:
            hold.status = HoldStatus.CONFIRMED
            hold.stack_id = self.stack_id

    class Cancelled(Aggregate.Event):
        reason: str
        by: str

        def apply(self, hold: Hold) -> None:
            hold.status = HoldStatus.CANCELLED

    def __init__(self) -> None:
        self.merchant_id = ""
        self.voucher_ids: list[UUID] = []
        self.request: dict[str, Any] = {}
        self.expires_at: datetime
        self.status = HoldStatus.HELD
        self.stack_id: UUID | None = None

    @classmethod
    def place(cls, hold_id: UUID, merchant_id: str, voucher_ids: list[UUID], request: dict[str, Any],
              expires_at: datetime, by: str, at: datetime) -> Hold:
        return cls._create(cls.Placed, id=hold_id, merchant_id=merchant_id, voucher_ids=voucher_ids,
                           request=request, expires_at=expires_at, by=by, timestamp=at)

    def status_at(self, at: datetime) -> str:
        if self.status == HoldStatus.HELD and at >= self.expires_at:
            return HoldStatus.LAPSED
        return self.status

    def confirm(self, stack_id: UUID, at: datetime) -> None:
        self.require_held(at)
        self.trigger_event(self.Confirmed, stack_id=stack_id, timestamp=at)

    def cancel(self, reason: str, by: str, at: datetime) -> None:
        self.require_held(at)
        self.trigger_event(self.Cancelled, reason=reason, by=by, timestamp=at)

    def require_held(self, at: datetime) -> None:
        status = self.status_at(at)
        if status != HoldStatus.HELD:
            raise InvalidTransition(f"the hold is {status}", code=f"hold_{status}")
