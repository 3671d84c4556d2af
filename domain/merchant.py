"""Merchant aggregate: the tenant every other aggregate belongs to."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput
from domain.ids import MERCHANT_ID_PATTERN, global_id


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}", code="unknown_timezone") from None
    return name


class Merchant(Aggregate):
    """A tenant, with the time zone its "natural day/week/month" rules use."""

    class Registered(Aggregate.Created):
        merchant_id: str
        name: str
        timezone: str

        def apply(self, merchant: Merchant) -> None:
            merchant.merchant_id = self.merchant_id
            merchant.name = self.name
            merchant.timezone = self.timezone

    class HolidaysDeclared(Aggregate.Event):
        """The merchant's holiday calendar (replaces the previous one): days that are not workdays."""

        dates: list[str]  # ISO dates

        def apply(self, merchant: Merchant) -> None:
            merchant.holidays = sorted(self.dates)

    def __init__(self) -> None:
        self.merchant_id = ""
        self.name = ""
        self.timezone = "UTC"
        self.holidays: list[str] = []

    def declare_holidays(self, dates: list[date], at: datetime) -> None:
        if len(dates) > 3660:
            raise InvalidInput("at most 3660 holidays", code="too_many_holidays")
        self.trigger_event(self.HolidaysDeclared, dates=sorted({d.isoformat() for d in dates}),
                           timestamp=at)

    def holiday_dates(self) -> frozenset[date]:
        return frozenset(date.fromisoformat(d) for d in self.holidays)

    @staticmethod
    def id_for(merchant_id: str) -> UUID:
        return global_id("merchant", merchant_id)

    @classmethod
    def register(cls, merchant_id: str, name: str, timezone: str, at: datetime) -> Merchant:
        if not MERCHANT_ID_PATTERN.fullmatch(merchant_id):
            raise InvalidInput("merchant id: 1-64 of a-z 0-9 _ -, starting alphanumeric",
                               code="invalid_merchant_id")
        return cls._create(
            cls.Registered,
            id=cls.id_for(merchant_id),
            merchant_id=merchant_id,
            name=name or merchant_id,
            timezone=check_timezone(timezone),
            timestamp=at,
        )
