"""Helpers shared by the points tests: entry context, lot summaries, replay, positions."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from application.commands import Actor
from application.points import EntryContext
from domain.points import EntryMeta, PointsAccount
from infrastructure.bootstrap import Container

MERCHANT = "acme"
ADMIN = Actor(merchant_id=MERCHANT, role="admin", ref="test:admin")
CTX = EntryContext(source="INSTORE", till_id="T1", store_id="S1", transaction_id="tx-1", reason="test")


def meta(event_type: str = "TEST", points_on_event: int = 0, **fields: Any) -> EntryMeta:
    return EntryMeta(event_id=uuid.uuid4(), event_type=event_type, points_on_event=points_on_event,
                     **fields)


def by_expiry(account: PointsAccount) -> dict[datetime | None, int]:
    """What is left of the account's lots, summed per expiry (however the lots are kept)."""
    left: dict[datetime | None, int] = defaultdict(int)
    for lot in account.lots:
        assert lot["remaining"] > 0, account.lots
        left[lot["expires_at"]] += lot["remaining"]
    return dict(left)


def consistent(account: PointsAccount) -> bool:
    """The balance is what the lots hold less what is owed."""
    return account.balance == sum(lot["remaining"] for lot in account.lots) - account.debt


def replay(events: Iterable[Any]) -> Any:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def state(account: PointsAccount) -> dict[str, Any]:
    return {"id": account.id, "version": account.version, "balance": account.balance,
            "debt": account.debt, "lots": by_expiry(account), "merged_into": account.merged_into,
            "customer_id": account.customer_id, "program": account.program,
            "category": account.category}


def account(c: Container, customer: str, program: str = "main", category: str = "regular"
            ) -> PointsAccount:
    found = c.ledger.find(PointsAccount.id_for(MERCHANT, customer, program, category), PointsAccount)
    assert found is not None, f"{customer} has no {program}/{category} account"
    return found


def maybe_account(c: Container, customer: str, program: str = "main", category: str = "regular"
                  ) -> PointsAccount | None:
    return c.ledger.find(PointsAccount.id_for(MERCHANT, customer, program, category), PointsAccount)


def stream(c: Container, customer: str, program: str = "main", category: str = "regular") -> list[Any]:
    return list(c.ledger.events.get(PointsAccount.id_for(MERCHANT, customer, program, category)))


def balance(c: Container, customer: str, program: str = "main", category: str = "regular") -> int:
    found = maybe_account(c, customer, program, category)
    return found.balance if found is not None else 0
