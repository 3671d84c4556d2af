"""Voucher aggregate: one code, its holder and its redemptions (V1, V2, V4, V5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidTransition
from domain.ids import derive_id


class VoucherState:
    """States a voucher moves through; a reversal moves it back."""

    OPEN = "open"
    ASSIGNED = "assigned"
    REDEEMED = "redeemed"
    WITHDRAWN = "withdrawn"  # an offer taken back when the redemption that placed it was reversed


class Voucher(Aggregate):
    """A code customers present at checkout; its stream is the code's audit trail."""

    class Issued(Aggregate.Created):
        merchant_id: str
        campaign_id: UUID
        code: str
        redemption_limit: int | None
        holder: str | None
        source: str  # "generated" or "explicit"
        valid_from: datetime | None = None  # a validity of its own (from claim), else the campaign's
        valid_until: datetime | None = None

        def apply(self, voucher: Voucher) -> None:
            voucher.merchant_id = self.merchant_id
            voucher.campaign_id = self.campaign_id
            voucher.code = self.code
            voucher.redemption_limit = self.redemption_limit
            voucher.holder = self.holder
            voucher.valid_from, voucher.valid_until = self.valid_from, self.valid_until

    class Assigned(Aggregate.Event):
        customer_id: str
        campaign_id: UUID
        code: str
        redemption_limit: int | None
        valid_from: datetime | None = None
        valid_until: datetime | None = None
        linked: bool = False  # V6: a physical code the customer linked; applied automatically

        def apply(self, voucher: Voucher) -> None:
            voucher.holder = self.customer_id
            voucher.linked = self.linked
            if self.valid_from is not None or self.valid_until is not None:
                voucher.valid_from, voucher.valid_until = self.valid_from, self.valid_until

    class Redeemed(Aggregate.Event):
        redemption_id: UUID
        customer_id: str | None
        discount: int
        campaign_id: UUID
        order_id: str | None = None
        hold_id: UUID | None = None  # the hold this redemption confirms (R7)

        def apply(self, voucher: Voucher) -> None:
            voucher.redemptions.append(self.redemption_id)
            voucher.uses.append({"id": self.redemption_id, "customer": self.customer_id,
                                 "order": self.order_id})
            voucher.holds = [h for h in voucher.holds if h["id"] != self.hold_id]

    class Held(Aggregate.Event):
        """R7: one use set aside for a cart until `expires_at`; it counts against the limit."""

        hold_id: UUID
        customer_id: str | None
        order_id: str | None
        expires_at: datetime

        def apply(self, voucher: Voucher) -> None:
            voucher.holds.append({"id": self.hold_id, "customer": self.customer_id,
                                  "order": self.order_id, "expires_at": self.expires_at})

    class HoldReleased(Aggregate.Event):
        hold_id: UUID
        reason: str

        def apply(self, voucher: Voucher) -> None:
            voucher.holds = [h for h in voucher.holds if h["id"] != self.hold_id]

    class RedemptionReversed(Aggregate.Event):
        redemption_id: UUID
        reason: str
        campaign_id: UUID

        def apply(self, voucher: Voucher) -> None:
            voucher.redemptions.remove(self.redemption_id)
            voucher.uses = [u for u in voucher.uses if u["id"] != self.redemption_id]

    class Withdrawn(Aggregate.Event):
        """W2: an unused offer taken back, because the redemption that placed it was reversed."""

        reason: str
        by: str
        redemption_id: UUID  # the reversed redemption that had placed this offer
        campaign_id: UUID

        def apply(self, voucher: Voucher) -> None:
            voucher.withdrawn = True

    def __init__(self) -> None:
        self.withdrawn = False
        self.merchant_id = ""
        self.campaign_id: UUID
        self.code = ""
        self.redemption_limit: int | None = 1
        self.holder: str | None = None
        self.redemptions: list[UUID] = []  # redemptions in force (not reversed)
        self.uses: list[dict[str, Any]] = []  # the same, with who and which order (V3)
        self.holds: list[dict[str, Any]] = []  # uses set aside (R7); lapsed ones count no more
        self.valid_from: datetime | None = None
        self.valid_until: datetime | None = None
        self.linked = False

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
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
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
            valid_from=valid_from,
            valid_until=valid_until,
            timestamp=at,
        )

    @property
    def redemption_count(self) -> int:
        return len(self.redemptions)

    @property
    def exhausted(self) -> bool:
        return self.redemption_limit is not None and self.redemption_count >= self.redemption_limit

    def active_holds(self, at: datetime, *, besides: UUID | None = None) -> list[dict[str, Any]]:
        """Holds still in force at `at` (a lapsed hold needs no event to stop counting)."""
        return [h for h in self.holds if h["expires_at"] > at and h["id"] != besides]

    def exhausted_at(self, at: datetime, *, besides: UUID | None = None) -> bool:
        """No use left at `at`, counting uses and the holds in force (but hold `besides`)."""
        taken = self.redemption_count + len(self.active_holds(at, besides=besides))
        return self.redemption_limit is not None and taken >= self.redemption_limit

    @property
    def state(self) -> str:
        if self.withdrawn:
            return VoucherState.WITHDRAWN
        if self.exhausted:
            return VoucherState.REDEEMED
        return VoucherState.ASSIGNED if self.holder else VoucherState.OPEN

    def uses_by(self, *, customer: str | None = None, order: str | None = None) -> int:
        """How many uses in force this customer, or this order, has made of the code (V3)."""
        if customer is not None:
            return sum(1 for u in self.uses if u["customer"] == customer)
        return sum(1 for u in self.uses if order is not None and u["order"] == order)

    def assign(self, customer_id: str, at: datetime, *, valid_from: datetime | None = None,
               valid_until: datetime | None = None, linked: bool = False) -> None:
        if self.holder is not None:
            raise InvalidTransition("the voucher is already assigned", code="voucher_already_assigned")
        if self.redemption_count:
            raise InvalidTransition("a used voucher cannot be assigned", code="voucher_already_used")
        self.trigger_event(self.Assigned, customer_id=customer_id, campaign_id=self.campaign_id,
                           code=self.code, redemption_limit=self.redemption_limit,
                           valid_from=valid_from, valid_until=valid_until, linked=linked, timestamp=at)

    def redeem(self, redemption_id: UUID, customer_id: str | None, discount: int, at: datetime,
               order_id: str | None = None, hold_id: UUID | None = None) -> None:
        """Record one use; the limit and the holder are invariants checked here, whatever decided."""
        if redemption_id in self.redemptions:
            raise InvalidTransition("that redemption is already recorded", code="duplicate_redemption")
        if self.withdrawn:
            raise InvalidTransition("the voucher was withdrawn", code="voucher_withdrawn")
        if hold_id is not None and hold_id not in {h["id"] for h in self.active_holds(at)}:
            raise InvalidTransition("the hold has lapsed or was released", code="hold_not_active")
        if self.exhausted_at(at, besides=hold_id):
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
            order_id=order_id,
            hold_id=hold_id,
            timestamp=at,
        )

    def hold(self, hold_id: UUID, customer_id: str | None, order_id: str | None, expires_at: datetime,
             at: datetime) -> None:
        """Set one use aside until `expires_at`; refused when none is left (counting holds)."""
        if self.exhausted_at(at):
            raise InvalidTransition("no use of the code is left to hold", code="redemption_limit_reached")
        if self.holder is not None and customer_id != self.holder:
            raise InvalidTransition("the voucher belongs to another customer", code="voucher_not_owned")
        self.trigger_event(self.Held, hold_id=hold_id, customer_id=customer_id, order_id=order_id,
                           expires_at=expires_at, timestamp=at)

    def release(self, hold_id: UUID, reason: str, at: datetime) -> bool:
        """Give a held use back (a cancelled cart); False when it was not held."""
        if all(h["id"] != hold_id for h in self.holds):
            return False
        self.trigger_event(self.HoldReleased, hold_id=hold_id, reason=reason, timestamp=at)
        return True

    def withdraw(self, redemption_id: UUID, reason: str, by: str, at: datetime) -> bool:
        """Take back an offer nobody used yet; False (nothing changes) once it was used."""
        if self.withdrawn or self.redemptions or self.active_holds(at):
            return False
        self.trigger_event(self.Withdrawn, reason=reason, by=by, redemption_id=redemption_id,
                           campaign_id=self.campaign_id, timestamp=at)
        return True

    def reverse_redemption(self, redemption_id: UUID, reason: str, at: datetime) -> None:
        """Compensate one redemption: the use is given back."""
        if redemption_id not in self.redemptions:
            raise InvalidTransition("that redemption is not in force on this voucher",
                                    code="redemption_not_reversible")
        self.trigger_event(self.RedemptionReversed, redemption_id=redemption_id, reason=reason,
                           campaign_id=self.campaign_id, timestamp=at)
