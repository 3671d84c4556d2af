"""StockWatch aggregate: a campaign's low-stock threshold and its alerts (C4), once per crossing."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput
from domain.ids import derive_id


class StockWatch(Aggregate):
    """Alerts when a campaign's remaining stock drops below the threshold; clears when refilled."""

    class Started(Aggregate.Created):
        merchant_id: str
        campaign_key: str
        campaign_id: UUID

        def apply(self, watch: StockWatch) -> None:
            watch.merchant_id, watch.campaign_key = self.merchant_id, self.campaign_key
            watch.campaign_id = self.campaign_id

    class ThresholdSet(Aggregate.Event):
        campaign_id: UUID
        threshold: int
        by: str

        def apply(self, watch: StockWatch) -> None:
            watch.threshold = self.threshold

    class Alerted(Aggregate.Event):
        campaign_id: UUID
        remaining: int
        threshold: int
        campaign_key: str

        def apply(self, watch: StockWatch) -> None:
            watch.alerted = True

    class Cleared(Aggregate.Event):
        campaign_id: UUID
        remaining: int

        def apply(self, watch: StockWatch) -> None:
            watch.alerted = False

    def __init__(self) -> None:
        self.merchant_id = ""
        self.campaign_key = ""
        self.campaign_id: UUID
        self.threshold = 0
        self.alerted = False

    @staticmethod
    def id_for(merchant_id: str, campaign_key: str) -> UUID:
        return derive_id(merchant_id, "stock-watch", campaign_key)

    @classmethod
    def start(cls, merchant_id: str, campaign_key: str, campaign_id: UUID, at: datetime) -> StockWatch:
        return cls._create(cls.Started, id=cls.id_for(merchant_id, campaign_key), merchant_id=merchant_id,
                           campaign_key=campaign_key, campaign_id=campaign_id, timestamp=at)

    def set_threshold(self, threshold: int, by: str, at: datetime) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 10**12:
            raise InvalidInput("threshold must be 0..10^12 (0 switches alerts off)", code="invalid_threshold")
        self.trigger_event(self.ThresholdSet, campaign_id=self.campaign_id, threshold=threshold, by=by,
                           timestamp=at)

    def check(self, remaining: int, at: datetime) -> bool:
        """Alert on a crossing below the threshold, clear on a refill; True if anything changed."""
        if not self.alerted and self.threshold and remaining < self.threshold:
            self.trigger_event(self.Alerted, campaign_id=self.campaign_id, remaining=remaining,
                               threshold=self.threshold, campaign_key=self.campaign_key, timestamp=at)
            return True
        if self.alerted and remaining >= self.threshold:
            self.trigger_event(self.Cleared, campaign_id=self.campaign_id, remaining=remaining, timestamp=at)
            return True
        return False
