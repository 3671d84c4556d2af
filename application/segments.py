"""Customer segments (C11): operations add and remove members; the rules engine asks."""

from __future__ import annotations

from datetime import datetime

from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from domain.errors import InvalidInput
from domain.segment import SegmentMembership

MAX_PER_REQUEST = 10_000


class SegmentService:
    """Membership is one small aggregate per (segment, customer); a list is one transaction."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger) -> None:
        self.executor = executor
        self.ledger = ledger

    def add_members(self, actor: Actor, segment: str, customers: list[str],
                    idempotency_key: str | None = None) -> CommandResult:
        """Add customers (an imported list is one call); those already in are left alone."""
        customers = _distinct(customers)

        def decide(at: datetime) -> Outcome:
            changed = []
            for customer in customers:
                found = self._membership(actor.merchant_id, segment, customer)
                if found is None:
                    changed.append(SegmentMembership.join(actor.merchant_id, segment, customer,
                                                          actor.ref, at))
                elif found.rejoin(actor.ref, at):
                    changed.append(found)
            body = {"segment": segment, "added": len(changed), "unchanged": len(customers) - len(changed)}
            return Outcome(200, body, tuple(changed))

        return self.executor.run(actor=actor, operation="add_segment_members",
                                 payload={"segment": segment, "customers": customers}, decide=decide,
                                 idempotency_key=idempotency_key)

    def remove_members(self, actor: Actor, segment: str, customers: list[str],
                       idempotency_key: str | None = None) -> CommandResult:
        customers = _distinct(customers)

        def decide(at: datetime) -> Outcome:
            changed = []
            for customer in customers:
                found = self._membership(actor.merchant_id, segment, customer)
                if found is not None and found.leave(actor.ref, at):
                    changed.append(found)
            body = {"segment": segment, "removed": len(changed), "unchanged": len(customers) - len(changed)}
            return Outcome(200, body, tuple(changed))

        return self.executor.run(actor=actor, operation="remove_segment_members",
                                 payload={"segment": segment, "customers": customers}, decide=decide,
                                 idempotency_key=idempotency_key)

    def is_member(self, merchant_id: str, segment: str, customer_id: str) -> bool:
        found = self._membership(merchant_id, segment, customer_id)
        return found is not None and found.member

    def segments_of(self, merchant_id: str, segment: str | None, customer_id: str | None
                    ) -> frozenset[str]:
        """The campaign's segment if the customer is in it (what the rules engine is told)."""
        if segment is None or customer_id is None:
            return frozenset()
        return frozenset({segment}) if self.is_member(merchant_id, segment, customer_id) else frozenset()

    def _membership(self, merchant_id: str, segment: str, customer: str) -> SegmentMembership | None:
        return self.ledger.find(SegmentMembership.id_for(merchant_id, segment, customer), SegmentMembership)


def _distinct(customers: list[str]) -> list[str]:
    if not 1 <= len(customers) <= MAX_PER_REQUEST:
        raise InvalidInput(f"1..{MAX_PER_REQUEST} customers per request", code="invalid_customer_list")
    return list(dict.fromkeys(customers))
