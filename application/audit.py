"""Auditors read any aggregate's raw event stream, exactly as stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.ledger import Ledger
from application.pinned import pinned
from domain.clock import iso
from domain.eligibility import decide
from domain.errors import NotFound
from domain.redemption import Redemption

HIDDEN_FIELDS = {"key_hash", "secret"}  # webhook secrets: read by admins from their own route


class AuditService:
    """Raw streams, scoped to the caller's merchant."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def stream(self, merchant_id: str, aggregate_id: UUID, *, after_version: int = 0,
               limit: int = 1000) -> dict[str, Any]:
        first: list[Any] = list(self.ledger.events.get(aggregate_id, limit=1))
        if not first or getattr(first[0], "merchant_id", None) != merchant_id:
            raise NotFound("no such aggregate", code="aggregate_not_found")
        events = self.ledger.events.get(aggregate_id, gt=after_version or None, limit=limit)
        return {
            "aggregate_id": str(aggregate_id),
            "aggregate_type": first[0].originator_topic.rsplit(":", 1)[-1],
            "events": [self._event(e) for e in events],
        }

    @staticmethod
    def _event(event: Any) -> dict[str, Any]:
        data = {k: _plain(v) for k, v in vars(event).items()
                if k not in ("originator_id", "originator_version", "timestamp", "originator_topic")
                and k not in HIDDEN_FIELDS}
        return {
            "version": event.originator_version,
            "type": type(event).__qualname__,
            "timestamp": iso(event.timestamp),
            "data": data,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class DecisionAudit:
    """Re-run a recorded redemption decision against the campaign version it was pinned to (B4)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def redecide(self, merchant_id: str, redemption_id: UUID) -> dict[str, Any]:
        redemption = self.ledger.find(redemption_id, Redemption)
        if redemption is None or redemption.merchant_id != merchant_id:
            raise NotFound("no such redemption", code="redemption_not_found")
        facts = redemption.facts
        recorded = {"discount": facts.get("discount", 0),
                    "reasons": [r["code"] for r in facts.get("reasons", [])]}
        recomputed = {"discount": 0, "reasons": ["unknown_code"]}
        inputs = pinned(self.ledger, redemption)
        if inputs is not None:
            decision = decide(inputs.campaign, inputs.voucher, inputs.customer_uses, inputs.attempt)
            recomputed = {"discount": decision.discount, "reasons": [r.code for r in decision.reasons]}
        return {
            "redemption_id": str(redemption_id),
            "campaign_id": _plain(facts.get("campaign_id")),
            "campaign_version": facts.get("campaign_version"),
            "voucher_version": facts.get("voucher_version"),
            "recorded": recorded,
            "recomputed": recomputed,
            "agrees": recorded == recomputed,
        }
