"""A merchant's own settings: the time zone and holiday calendar its rules are judged in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from domain.errors import NotFound
from domain.merchant import Merchant


class MerchantService:
    """Time zone and holidays: what "natural day" and "workdays only" mean for a merchant."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger) -> None:
        self.executor = executor
        self.ledger = ledger

    def set_holidays(self, actor: Actor, dates: list[date], idempotency_key: str | None = None
                     ) -> CommandResult:
        def decide(at: datetime) -> Outcome:
            merchant = self.ledger.find(Merchant.id_for(actor.merchant_id), Merchant)
            if merchant is None:
                raise NotFound("no such merchant", code="merchant_not_found")
            merchant.declare_holidays(dates, at)
            return Outcome(200, self.view(merchant), (merchant,))

        return self.executor.run(actor=actor, operation="set_holidays",
                                 payload={"dates": sorted(d.isoformat() for d in dates)}, decide=decide,
                                 idempotency_key=idempotency_key)

    def settings(self, merchant_id: str) -> dict[str, Any]:
        merchant = self.ledger.read_if_any(Merchant.id_for(merchant_id), Merchant)
        if merchant is None:
            raise NotFound("no such merchant", code="merchant_not_found")
        return self.view(merchant)

    def local_context(self, merchant_id: str, at: datetime) -> tuple[datetime, frozenset[date]]:
        """`at` in the merchant's time zone, and its holidays (UTC and none when unknown)."""
        merchant = self.ledger.read_if_any(Merchant.id_for(merchant_id), Merchant)
        if merchant is None:
            return at, frozenset()
        return at.astimezone(ZoneInfo(merchant.timezone)), merchant.holiday_dates()

    @staticmethod
    def view(merchant: Merchant) -> dict[str, Any]:
        return {"merchant_id": merchant.merchant_id, "name": merchant.name,
                "timezone": merchant.timezone, "holidays": list(merchant.holidays)}
