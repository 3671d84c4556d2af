"""A5: a customer's earn/burn history and point-in-time balances, replayed from the streams.

Nothing here reads a projection: accounts are found from the program catalog, entries are
the accounts' events in commit order, and every balance is recomputed by replaying them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.ledger import Ledger, replay
from domain.clock import iso
from domain.errors import InvalidInput, NotFound
from domain.points import CATEGORIES, PointsAccount, entry_amounts
from domain.programs import ProgramCatalog


class PointsHistory:
    """What an auditor asks of the points ledger, answered from events alone."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def history(self, merchant_id: str, customer_id: str) -> dict[str, Any]:
        """Every entry of every account of the customer, in commit order, with replayed balances."""
        entries = []
        for account_id in self._account_ids(merchant_id, customer_id):
            positions = self.ledger.positions(account_id)
            account = None
            events: list[Any] = list(self.ledger.events.get(account_id))
            for event in events:
                account = event.mutate(account)
                entries.append(self._entry(event, account, positions[event.originator_version]))
        entries.sort(key=lambda e: e["position"])
        total = 0
        for entry in entries:
            total += entry["credit"] - entry["debit"]
            entry["customer_balance"] = total
        return {"customer_id": customer_id, "entries": entries,
                "balances": self._closing(entries)}

    def balance_at(self, merchant_id: str, customer_id: str, program: str, category: str, *,
                   at: datetime | None = None, version: int | None = None) -> dict[str, Any]:
        """The account's balance as of a time or a version, by replay."""
        if at is not None and version is not None:
            raise InvalidInput("give a time or a version, not both", code="at_or_version")
        account_id = PointsAccount.id_for(merchant_id, customer_id, program, category)
        events: list[Any] = list(self.ledger.events.get(account_id, lte=version))
        if not events:
            raise NotFound("no such points account", code="account_not_found")
        if at is not None:
            events = [e for e in events if e.timestamp <= at]
        account = replay(None, events)
        return {"account_id": str(account_id), "customer_id": customer_id, "program": program,
                "category": category, "as_of": iso(at), "version": account.version if account else 0,
                "balance": account.balance if account else 0}

    def _account_ids(self, merchant_id: str, customer_id: str) -> list[Any]:
        catalog = self.ledger.find(ProgramCatalog.id_for(merchant_id), ProgramCatalog)
        programs = sorted(catalog.programs) if catalog else []
        candidates = [PointsAccount.id_for(merchant_id, customer_id, p, c)
                      for p in programs for c in CATEGORIES]
        existing = self.ledger.existing(candidates)
        return [i for i in candidates if i in existing]

    @staticmethod
    def _entry(event: Any, account: PointsAccount, position: int) -> dict[str, Any]:
        kind, entry_type, credit, debit = entry_amounts(event)
        return {
            "position": position, "at": iso(event.timestamp), "account_id": str(account.id),
            "program": account.program, "category": account.category,
            "version": event.originator_version, "event_id": str(event.event_id),
            "event_type": event.event_type, "kind": kind, "entry_type": entry_type,
            "credit": credit, "debit": debit,
            "points_on_event": getattr(event, "points_on_event", credit - debit),
            "source": event.source, "till_id": getattr(event, "till_id", None),
            "store_id": getattr(event, "store_id", None),
            "transaction_id": getattr(event, "transaction_id", None), "reason": event.reason,
            "balance": account.balance,  # replayed, not read from the event
            "recorded_balance": getattr(event, "balance", account.balance),
        }

    @staticmethod
    def _closing(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        last: dict[str, dict[str, Any]] = {}
        for entry in entries:
            last[entry["account_id"]] = entry
        return [{"account_id": e["account_id"], "program": e["program"], "category": e["category"],
                 "balance": e["balance"]} for e in last.values()]
