"""TemplateSerial aggregate (C2): a merchant's template codes of one day, numbered 1, 2, 3…

Saved with the campaign it numbers, so two campaigns created in the same instant conflict here
and one decides again with the next serial: codes are unique without a lock or a sequence.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ids import derive_id


class TemplateSerial(Aggregate):
    """The last serial given out on one day."""

    class Started(Aggregate.Created):
        merchant_id: str
        day: str  # YYYYMMDD in the merchant's time zone

        def apply(self, serial: TemplateSerial) -> None:
            serial.merchant_id = self.merchant_id
            serial.day = self.day

    class Taken(Aggregate.Event):
        serial: int
        template_code: str

        def apply(self, serial: TemplateSerial) -> None:
            serial.last = self.serial

    def __init__(self) -> None:
        self.merchant_id = ""
        self.day = ""
        self.last = 0

    @staticmethod
    def id_for(merchant_id: str, day: date) -> UUID:
        return derive_id(merchant_id, "template-serial", day.strftime("%Y%m%d"))

    @classmethod
    def start(cls, merchant_id: str, day: date, at: datetime) -> TemplateSerial:
        return cls._create(cls.Started, id=cls.id_for(merchant_id, day), merchant_id=merchant_id,
                           day=day.strftime("%Y%m%d"), timestamp=at)

    def take(self, width: int, at: datetime) -> str:
        """The next template code: merchant id + YYYYMMDD + serial, zero-padded to `width`."""
        serial = self.last + 1
        code = f"{self.merchant_id.upper()}{self.day}{serial:0{width}d}"
        self.trigger_event(self.Taken, serial=serial, template_code=code, timestamp=at)
        return code
