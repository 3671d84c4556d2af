"""SegmentMembership aggregate: one customer in one segment (C11).

One small stream per member, so a segment of a million customers is not one hot stream, and
checking a customer costs one read of a stream that is almost always one event long.
"""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput
from domain.ids import derive_id

SEGMENT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class SegmentMembership(Aggregate):
    """Whether a customer is in a segment, and the history of joining and leaving it."""

    class Joined(Aggregate.Created):
        merchant_id: str
        segment: str
        customer_id: str
        by: str

        def apply(self, membership: SegmentMembership) -> None:
            membership.member = True

    class Left(Aggregate.Event):
        by: str

        def apply(self, membership: SegmentMembership) -> None:
            membership.member = False

    class Rejoined(Aggregate.Event):
        by: str

        def apply(self, membership: SegmentMembership) -> None:
            membership.member = True

    def __init__(self) -> None:
        self.member = False

    @staticmethod
    def id_for(merchant_id: str, segment: str, customer_id: str) -> UUID:
        return derive_id(merchant_id, "segment", f"{segment}/{customer_id}")

    @classmethod
    def join(cls, merchant_id: str, segment: str, customer_id: str, by: str, at: datetime
             ) -> SegmentMembership:
        if not SEGMENT_PATTERN.fullmatch(segment):
            raise InvalidInput("segment: 1-64 of A-Z a-z 0-9 _ . -", code="invalid_segment")
        return cls._create(cls.Joined, id=cls.id_for(merchant_id, segment, customer_id),
                           merchant_id=merchant_id, segment=segment, customer_id=customer_id, by=by,
                           timestamp=at)

    def leave(self, by: str, at: datetime) -> bool:
        if not self.member:
            return False
        self.trigger_event(self.Left, by=by, timestamp=at)
        return True

    def rejoin(self, by: str, at: datetime) -> bool:
        if self.member:
            return False
        self.trigger_event(self.Rejoined, by=by, timestamp=at)
        return True
