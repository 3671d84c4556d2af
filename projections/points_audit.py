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
from domain.points import PointsAccount, entry_amounts
from infrastructure.database import LibraryDatabase, Tx

COMPARED = ("version", "kind", "entry_type", "credit", "debit", "balance")


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
        kind, entry_type, credit, debit = entry_amounts(event)
        expected.append({"version": event.originator_version, "kind": kind, "entry_type": entry_type,
                         "credit": credit, "debit": debit, "balance": account.balance})
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
    balance = tx.one("SELECT balance FROM points_accounts WHERE account_id=?", (str(account_id),))
    replayed = account.balance if account else 0
    if balance is None or int(balance["balance"]) != replayed:
        report.mismatches.append({"account_id": str(account_id), "customer_id": customer,
                                  "what": "wallet balance differs", "expected": replayed,
                                  "found": None if balance is None else int(balance["balance"])})


def _projected_accounts(tx: Tx, merchant_id: str | None) -> set[str]:
    sql, params = "SELECT account_id FROM points_accounts", []
    if merchant_id is not None:
        sql, params = sql + " WHERE merchant_id=?", [merchant_id]
    return {r["account_id"] for r in tx.query(sql, params)}
