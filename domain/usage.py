"""CustomerUsage aggregate: one customer's redemptions in one campaign, for per-customer limits."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidTransition
from domain.ids import derive_id


class CustomerUsage(Aggregate):
    """Saved with the redemption it counts, so the per-customer limit holds under concurrency."""

    class Started(Aggregate.Created):
        merchant_id: str
        campaign_id: UUID
        customer_id: str

        def apply(self, usage: CustomerUsage) -> None:
            usage.customer_id = self.customer_id

    class Used(Aggregate.Event):
        redemption_id: UUID

        def apply(self, usage: CustomerUsage) -> None:
            usage.redemptions.append(self.redemption_id)

    class Released(Aggregate.Event):
        redemption_id: UUID

        def apply(self, usage: CustomerUsage) -> None:
            usage.redemptions.remove(self.redemption_id)

    def __init__(self) -> None:
        self.customer_id = ""
        self.redemptions: list[UUID] = []

    @staticmethod
    def id_for(merchant_id: str, campaign_id: UUID, customer_id: str) -> UUID:
        return derive_id(merchant_id, "usage", f"{campaign_id}/{customer_id}")

    @classmethod
    def start(cls, merchant_id: str, campaign_id: UUID, customer_id: str, at: datetime) -> CustomerUsage:
        return cls._create(
            cls.Started,
            id=cls.id_for(merchant_id, campaign_id, customer_id),
            merchant_id=merchant_id,
            campaign_id=campaign_id,
            customer_id=customer_id,
            timestamp=at,
        )

    @property
    def count(self) -> int:
        return len(self.redemptions)

    def use(self, redemption_id: UUID, limit: int, at: datetime) -> None:
        if self.count >= limit:
            raise InvalidTransition("the customer's limit for this campaign is reached",
                                    code="customer_limit_reached")
        self.trigger_event(self.Used, redemption_id=redemption_id, timestamp=at)

    def release(self, redemption_id: UUID, at: datetime) -> None:
        if redemption_id in self.redemptions:
            self.trigger_event(self.Released, redemption_id=redemption_id, timestamp=at)
