"""Redemption aggregate: the record of one checkout attempt, accepted or rejected (R1, R2, R4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, InvalidTransition


class RedemptionStatus:
    REDEEMED = "redeemed"
    REJECTED = "rejected"
    REVERSED = "reversed"


class Redemption(Aggregate):
    """What was decided for one attempt, under which campaign version; reversible once."""

    class Recorded(Aggregate.Created):
        merchant_id: str
        voucher_id: UUID
        code: str
        campaign_id: UUID
        campaign_version: int
        customer_id: str | None
        order: dict[str, Any]
        store_id: str | None
        channel: str | None
        currency: str
        discount: int
        usage_counted: bool
        voucher_version: int  # the voucher's version the decision saw
        customer_uses: int  # the customer's redemptions in the campaign the decision saw
        points_awarded: int  # W2: points credited with this redemption
        allocations: list[dict[str, Any]] | None = None  # the discount per order line (C7)
        costs: dict[str, int] | None = None  # who pays it (C9): {"group": .., "store": ..}
        context: dict[str, Any] | None = None  # local time, holiday, segments the rules saw
        stack_id: UUID | None = None  # R3: the redemptions of one stacked order share this

        def apply(self, redemption: Redemption) -> None:
            redemption.status = RedemptionStatus.REDEEMED
            redemption.facts = self.__dict__.copy()

    class Rejected(Aggregate.Created):
        merchant_id: str
        code: str
        voucher_id: UUID | None
        campaign_id: UUID | None
        campaign_version: int | None
        customer_id: str | None
        order: dict[str, Any]
        store_id: str | None
        channel: str | None
        reasons: list[dict[str, str]]
        voucher_version: int | None
        customer_uses: int
        context: dict[str, Any] | None = None
        stack_id: UUID | None = None

        def apply(self, redemption: Redemption) -> None:
            redemption.status = RedemptionStatus.REJECTED
            redemption.facts = self.__dict__.copy()

    class Reversed(Aggregate.Event):
        """Names what it corrects (the redemption, its voucher and campaign) and why."""

        reason: str
        by: str
        voucher_id: UUID
        campaign_id: UUID
        discount: int
        costs: dict[str, int] | None = None  # the cost split it gives back

        def apply(self, redemption: Redemption) -> None:
            redemption.status = RedemptionStatus.REVERSED
            redemption.reversal = {"reason": self.reason, "by": self.by, "at": self.timestamp}

    def __init__(self) -> None:
        self.status = ""
        self.facts: dict[str, Any] = {}
        self.reversal: dict[str, Any] | None = None

    @property
    def merchant_id(self) -> str:
        return str(self.facts["merchant_id"])

    @classmethod
    def record(cls, redemption_id: UUID, at: datetime, **facts: Any) -> Redemption:
        return cls._create(cls.Recorded, id=redemption_id, timestamp=at, **facts)

    @classmethod
    def reject(cls, redemption_id: UUID, at: datetime, **facts: Any) -> Redemption:
        return cls._create(cls.Rejected, id=redemption_id, timestamp=at, **facts)

    def reverse(self, reason: str, by: str, at: datetime) -> None:
        if self.status != RedemptionStatus.REDEEMED:
            raise InvalidTransition(f"a {self.status} redemption cannot be reversed",
                                    code="redemption_not_reversible")
        reason = reason.strip()
        if not reason or len(reason) > 500:
            raise InvalidInput("a reason of 1-500 characters is required", code="reason_required")
        self.trigger_event(
            self.Reversed,
            reason=reason,
            by=by,
            voucher_id=self.facts["voucher_id"],
            campaign_id=self.facts["campaign_id"],
            discount=self.facts["discount"],
            costs=self.facts.get("costs"),
            timestamp=at,
        )
