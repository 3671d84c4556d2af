"""`promo audit verify`: replay every points account and compare with the read models (A5).

Accounts are found from the log itself (their opening events), not from the projection, so a
projection that lost an account is caught too. Only events the projection has reached (up to
its tracking position) are compared, so a lagging projection is not reported as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from application.ledger import Ledger, replay
from domain.clock import iso
from domain.points import PointsAccount, entry_amounts
from infrastructure.database import LibraryDatabase, Tx

# Every column a customer or auditor sees, except the position (the log's, not the entry's).
COMPARED = ("customer_id", "account_id", "version", "entry_at", "event_id", "event_type", "kind",
            "entry_type", "credit", "debit", "points_on_event", "balance", "program", "category",
            "source", "till_id", "store_id", "transaction_id", "reason")


@dataclass
class VerifyReport:
    position: int
    accounts: int = 0
    entries: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "position": self.position, "accounts": self.accounts,
                "entries": self.entries, "mismatches": self.mismatches[:200]}


def verify_points(ledger: Ledger, db: LibraryDatabase, merchant_id: str | None = None) -> VerifyReport:
    with db.transaction() as tx:
        if tx.dialect == "postgres":
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        row = tx.one("SELECT position FROM projection_tracking WHERE name='points_ledger'")
        report = VerifyReport(position=int(row["position"]) if row else 0)
        seen: set[str] = set()
        for account_id, owner in _opened_accounts(ledger, report.position):
            if merchant_id is None or owner == merchant_id:
                seen.add(str(account_id))
                _verify_account(ledger, tx, account_id, report)
        for orphan in _projected_accounts(tx, merchant_id) - seen:
            report.mismatches.append({"account_id": orphan, "what": "account not in the ledger"})
    return report


def _opened_accounts(ledger: Ledger, up_to: int) -> list[tuple[UUID, str]]:
    topic = get_topic(PointsAccount.Opened)
    found, start = [], 1
    while start <= up_to:
        page = ledger.recorder.select_notifications(start, 1000, stop=up_to, topics=[topic])
        if not page:
            break
        for notification in page:
            event: Any = ledger.mapper.to_domain_event(notification)
            found.append((event.originator_id, event.merchant_id))
        start = page[-1].id + 1
    return found


def _verify_account(ledger: Ledger, tx: Tx, account_id: UUID, report: VerifyReport) -> None:
    positions = ledger.positions(account_id)
    events: list[Any] = [e for e in ledger.events.get(account_id)
                         if positions[e.originator_version] <= report.position]
    expected, account = [], None
    for event in events:
        account = replay(account, [event])
        expected.append(_expected_entry(event, account))
    rows = tx.query(f"SELECT {', '.join(COMPARED)} FROM points_entries WHERE account_id=? "
                    "ORDER BY version", (str(account_id),))
    found = [{k: (int(v) if isinstance(v, int) else v) for k, v in r.items()} for r in rows]
    report.accounts += 1
    report.entries += len(expected)
    customer = account.customer_id if account else None
    for want, got in zip(expected, found, strict=False):
        if want != got:
            report.mismatches.append({"account_id": str(account_id), "customer_id": customer,
                                      "what": "entry differs", "expected": want, "found": got})
    if len(expected) != len(found):
        report.mismatches.append({"account_id": str(account_id), "customer_id": customer,
                                  "what": "entry count differs", "expected": len(expected),
                                  "found": len(found)})
    row = tx.one("SELECT customer_id, balance, merged_into FROM points_accounts WHERE account_id=?",
                 (str(account_id),))
    wallet = {"customer_id": customer, "balance": account.balance if account else 0,
              "merged_into": str(account.merged_into) if account and account.merged_into else None}
    projected = None if row is None else {**row, "balance": int(row["balance"])}
    if projected != wallet:
        report.mismatches.append({"account_id": str(account_id), "customer_id": customer,
                                  "what": "wallet account differs", "expected": wallet,
                                  "found": projected})


def _expected_entry(event: Any, account: PointsAccount) -> dict[str, Any]:
    kind, entry_type, credit, debit = entry_amounts(event)
    opening = isinstance(event, PointsAccount.Opened)
    return {
        "customer_id": account.customer_id, "account_id": str(account.id),
        "version": event.originator_version, "entry_at": iso(event.timestamp),
        "event_id": str(event.event_id), "event_type": event.event_type, "kind": kind,
        "entry_type": entry_type, "credit": credit, "debit": debit,
        "points_on_event": event.opening_balance if opening else event.points_on_event,
        "balance": account.balance, "program": account.program, "category": account.category,
        "source": event.source, "till_id": getattr(event, "till_id", None),
        "store_id": getattr(event, "store_id", None),
        "transaction_id": getattr(event, "transaction_id", None), "reason": event.reason,
    }


def _projected_accounts(tx: Tx, merchant_id: str | None) -> set[str]:
    sql, params = "SELECT account_id FROM points_accounts", []
    if merchant_id is not None:
        sql, params = sql + " WHERE merchant_id=?", [merchant_id]
    return {r["account_id"] for r in tx.query(sql, params)}
