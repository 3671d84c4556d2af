"""CustomerClaims aggregate: the vouchers of one campaign that reached one customer's wallet (C6).

Saved with the voucher it counts, so per-customer claim limits (in total and per natural
day/week/month/year of the merchant's time zone) hold under concurrency: two claims racing for
a customer's last one conflict on this stream's version and the loser decides again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidTransition
from domain.ids import derive_id
from domain.rules.engine import ClaimSituation, Reason, claim_reasons
from domain.rules.model import Rules


class ClaimRefused(InvalidTransition):
    """A claim or push the campaign's C6 rules refuse; every reason is in `reasons`."""

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__(reasons[0].message, code=reasons[0].code,
                         reasons=[{"code": r.code, "message": r.message} for r in reasons])


class CustomerClaims(Aggregate):
    """One customer's claims in one campaign, each with its local day and how it came."""

    class Started(Aggregate.Created):
        merchant_id: str
        campaign_id: UUID
        customer_id: str

        def apply(self, claims: CustomerClaims) -> None:
            claims.customer_id = self.customer_id

    class Claimed(Aggregate.Event):
        voucher_id: UUID
        code: str
        method: str  # customer | push | link
        channel: str | None
        local_day: str  # ISO date in the merchant's time zone

        def apply(self, claims: CustomerClaims) -> None:
            claims.days.append(date.fromisoformat(self.local_day))

    def __init__(self) -> None:
        self.customer_id = ""
        self.days: list[date] = []

    @staticmethod
    def id_for(merchant_id: str, campaign_id: UUID, customer_id: str) -> UUID:
        return derive_id(merchant_id, "claims", f"{campaign_id}/{customer_id}")

    @classmethod
    def start(cls, merchant_id: str, campaign_id: UUID, customer_id: str, at: datetime
              ) -> CustomerClaims:
        return cls._create(cls.Started, id=cls.id_for(merchant_id, campaign_id, customer_id),
                           merchant_id=merchant_id, campaign_id=campaign_id,
                           customer_id=customer_id, timestamp=at)

    def situation(self, local: datetime, method: str, channel: str | None,
                  segments: frozenset[str]) -> ClaimSituation:
        return ClaimSituation(local=local, method=method, channel=channel, segments=segments,
                              claimed_days=tuple(self.days))

    @staticmethod
    def check(rules: Rules, situation: ClaimSituation, extra: list[Reason] | None = None) -> None:
        """Refuse with every reason the rules give (and `extra` ones found by the caller)."""
        reasons = [*(extra or []), *claim_reasons(rules, situation)]
        if reasons:
            raise ClaimRefused(reasons)

    def claim(self, rules: Rules, situation: ClaimSituation, voucher_id: UUID, code: str,
              at: datetime) -> None:
        """Count one more voucher, or refuse with every reason the rules give."""
        self.check(rules, situation)
        self.trigger_event(self.Claimed, voucher_id=voucher_id, code=code, method=situation.method,
                           channel=situation.channel, local_day=situation.local.date().isoformat(),
                           timestamp=at)

    def view(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "claims": len(self.days)}
