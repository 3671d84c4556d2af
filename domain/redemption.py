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
    PARTIALLY_REVERSED = "partially_reversed"


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
        reward: dict[str, Any] | None = None  # C5/W2: the gift, partner code or offer given
        by: str | None = None  # who asked: the API key's reference (A4 fraud detectors)

        def apply(self, redemption: Redemption) -> None:
            redemption.status = RedemptionStatus.REDEEMED
            redemption.facts = self.__dict__.copy()
            redemption.discount_in_force = self.discount
            redemption.costs_in_force = dict(self.costs or {"group": self.discount, "store": 0})

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
        by: str | None = None  # who asked: the API key's reference (A4 fraud detectors)

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

    class PartiallyReversed(Aggregate.Event):
        """R8: some lines came back; the discount on the kept lines was decided again under the
        same campaign version, and the difference (and its cost split) is given back."""

        lines: list[dict[str, Any]]  # [{"sku", "quantity"}] returned now
        discount_before: int
        discount_after: int
        costs_reversed: dict[str, int]
        reason: str
        by: str
        voucher_id: UUID
        campaign_id: UUID

        def apply(self, redemption: Redemption) -> None:
            redemption.status = RedemptionStatus.PARTIALLY_REVERSED
            redemption.discount_in_force = self.discount_after
            for party, amount in self.costs_reversed.items():
                redemption.costs_in_force[party] = redemption.costs_in_force.get(party, 0) - amount
            for line in self.lines:
                redemption.returned[line["sku"]] = redemption.returned.get(line["sku"], 0) + line["quantity"]

    def __init__(self) -> None:
        self.status = ""
        self.facts: dict[str, Any] = {}
        self.reversal: dict[str, Any] | None = None
        self.discount_in_force = 0
        self.costs_in_force: dict[str, int] = {}
        self.returned: dict[str, int] = {}  # sku -> quantity returned so far

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
        """R4: give back what is still in force (after any partial reversals) and the use."""
        self._require_in_force()
        self.trigger_event(
            self.Reversed,
            reason=_reason(reason),
            by=by,
            voucher_id=self.facts["voucher_id"],
            campaign_id=self.facts["campaign_id"],
            discount=self.discount_in_force,
            costs=dict(self.costs_in_force),
            timestamp=at,
        )

    def reverse_partly(self, lines: list[dict[str, Any]], discount_after: int,
                       costs_after: dict[str, int], reason: str, by: str, at: datetime) -> None:
        """R8: lines returned; the discount in force becomes `discount_after` (never more)."""
        self._require_in_force()
        after = min(discount_after, self.discount_in_force)
        reversed_costs = {party: self.costs_in_force.get(party, 0) - costs_after.get(party, 0)
                          for party in ("group", "store")}
        if after == self.discount_in_force:
            reversed_costs = {"group": 0, "store": 0}
        self.trigger_event(
            self.PartiallyReversed, lines=lines, discount_before=self.discount_in_force,
            discount_after=after, costs_reversed=reversed_costs, reason=_reason(reason), by=by,
            voucher_id=self.facts["voucher_id"], campaign_id=self.facts["campaign_id"], timestamp=at,
        )

    def _require_in_force(self) -> None:
        if self.status not in (RedemptionStatus.REDEEMED, RedemptionStatus.PARTIALLY_REVERSED):
            raise InvalidTransition(f"a {self.status} redemption cannot be reversed",
                                    code="redemption_not_reversible")


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("a reason of 1-500 characters is required", code="reason_required")
    return reason
