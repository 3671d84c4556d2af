"""Voucher aggregate: one code, its holder and its redemptions (V1, V2, V4, V5)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidTransition
from domain.ids import derive_id


class VoucherState:
    """States a voucher moves through; a reversal moves it back."""

    OPEN = "open"
    ASSIGNED = "assigned"
    REDEEMED = "redeemed"


class Voucher(Aggregate):
    """A code customers present at checkout; its stream is the code's audit trail."""

    class Issued(Aggregate.Created):
        merchant_id: str
        campaign_id: UUID
        code: str
        redemption_limit: int | None
        holder: str | None
        source: str  # "generated" or "explicit"

        def apply(self, voucher: Voucher) -> None:
            voucher.merchant_id = self.merchant_id
            voucher.campaign_id = self.campaign_id
            voucher.code = self.code
            voucher.redemption_limit = self.redemption_limit
            voucher.holder = self.holder

    class Assigned(Aggregate.Event):
        customer_id: str
        campaign_id: UUID
        code: str
        redemption_limit: int | None

        def apply(self, voucher: Voucher) -> None:
            voucher.holder = self.customer_id

    class Redeemed(Aggregate.Event):
        redemption_id: UUID
        customer_id: str | None
        discount: int
        campaign_id: UUID

        def apply(self, voucher: Voucher) -> None:
            voucher.redemptions.append(self.redemption_id)

    class RedemptionReversed(Aggregate.Event):
        redemption_id: UUID
        reason: str
        campaign_id: UUID

        def apply(self, voucher: Voucher) -> None:
            voucher.redemptions.remove(self.redemption_id)

    def __init__(self) -> None:
        self.merchant_id = ""
        self.campaign_id: UUID
        self.code = ""
        self.redemption_limit: int | None = 1
        self.holder: str | None = None
        self.redemptions: list[UUID] = []  # redemptions in force (not reversed)

    @staticmethod
    def id_for(merchant_id: str, code: str) -> UUID:
        return derive_id(merchant_id, "voucher", code)

    @classmethod
    def issue(
        cls,
        merchant_id: str,
        campaign_id: UUID,
        code: str,
        redemption_limit: int | None,
        at: datetime,
        *,
        holder: str | None = None,
        source: str = "generated",
    ) -> Voucher:
        """A new voucher; its ID comes from the code, so a code exists once per merchant."""
        return cls._create(
            cls.Issued,
            id=cls.id_for(merchant_id, code),
            merchant_id=merchant_id,
            campaign_id=campaign_id,
            code=code,
            redemption_limit=redemption_limit,
            holder=holder,
            source=source,
            timestamp=at,
        )

    @property
    def redemption_count(self) -> int:
        return len(self.redemptions)

    @property
    def exhausted(self) -> bool:
        return self.redemption_limit is not None and self.redemption_count >= self.redemption_limit

    @property
    def state(self) -> str:
        if self.exhausted:
            return VoucherState.REDEEMED
        return VoucherState.ASSIGNED if self.holder else VoucherState.OPEN

    def assign(self, customer_id: str, at: datetime) -> None:
        if self.holder is not None:
            raise InvalidTransition("the voucher is already assigned", code="voucher_already_assigned")
        if self.redemption_count:
            raise InvalidTransition("a used voucher cannot be assigned", code="voucher_already_used")
        self.trigger_event(self.Assigned, customer_id=customer_id, campaign_id=self.campaign_id,
                           code=self.code, redemption_limit=self.redemption_limit, timestamp=at)

    def redeem(self, redemption_id: UUID, customer_id: str | None, discount: int, at: datetime) -> None:
        """Record one use; the limit and the holder are invariants checked here, whatever decided."""
        if redemption_id in self.redemptions:
            raise InvalidTransition("that redemption is already recorded", code="duplicate_redemption")
        if self.exhausted:
            raise InvalidTransition("the voucher's redemption limit is reached",
                                    code="redemption_limit_reached")
        if self.holder is not None and customer_id != self.holder:
            raise InvalidTransition("the voucher belongs to another customer", code="voucher_not_owned")
        self.trigger_event(
            self.Redeemed,
            redemption_id=redemption_id,
            customer_id=customer_id,
            discount=discount,
            campaign_id=self.campaign_id,
            timestamp=at,
        )

    def reverse_redemption(self, redemption_id: UUID, reason: str, at: datetime) -> None:
        """Compensate one redemption: the use is given back."""
        if redemption_id not in self.redemptions:
            raise InvalidTransition("that redemption is not in force on this voucher",
                                    code="redemption_not_reversible")
        self.trigger_event(self.RedemptionReversed, redemption_id=redemption_id, reason=reason,
                           campaign_id=self.campaign_id, timestamp=at)
