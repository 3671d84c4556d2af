"""Points ledger (L9, L10) and balances (W1): one row per entry, one per account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.clock import iso
from domain.points import PointsAccount, entry_amounts
from infrastructure.database import Tx
from projections.base import Handler, Projection

MAX_PAGE = 100
ENTRY_COLUMNS = (
    "merchant_id", "customer_id", "account_id", "version", "position", "entry_at", "event_id",
    "event_type", "kind", "entry_type", "credit", "debit", "points_on_event", "balance", "program",
    "category", "source", "till_id", "store_id", "transaction_id", "reason",
)


class PointsLedger(Projection):
    name = "points_ledger"
    tables = {
        "points_entries": (
            "merchant_id TEXT NOT NULL, customer_id TEXT NOT NULL, account_id TEXT NOT NULL, "
            "version BIGINT NOT NULL, position BIGINT NOT NULL, entry_at TEXT NOT NULL, "
            "event_id TEXT NOT NULL, event_type TEXT NOT NULL, kind TEXT NOT NULL, "
            "entry_type TEXT NOT NULL, credit BIGINT NOT NULL, debit BIGINT NOT NULL, "
            "points_on_event BIGINT NOT NULL, balance BIGINT NOT NULL, program TEXT NOT NULL, "
            "category TEXT NOT NULL, source TEXT NOT NULL, till_id TEXT, store_id TEXT, "
            "transaction_id TEXT, reason TEXT NOT NULL, PRIMARY KEY (merchant_id, account_id, version)"
        ),
        "points_accounts": (
            "merchant_id TEXT NOT NULL, account_id TEXT NOT NULL, customer_id TEXT NOT NULL, "
            "program TEXT NOT NULL, category TEXT NOT NULL, balance BIGINT NOT NULL, "
            "merged_into TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (merchant_id, account_id)"
        ),
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS points_entries_customer "
        "ON points_entries (merchant_id, customer_id, position)",
        "CREATE INDEX IF NOT EXISTS points_accounts_customer "
        "ON points_accounts (merchant_id, customer_id)",
    )

    def __init__(self) -> None:
        super().__init__()
        # An account's owner, program and category never change: remembered, not re-read.
        self._accounts: dict[str, dict[str, Any]] = {}

    def handlers(self) -> dict[type, Handler]:
        entry: Handler = self._entry
        return {
            PointsAccount.Opened: self._opened,
            PointsAccount.Credited: entry,
            PointsAccount.Debited: entry,
            PointsAccount.TransactionReturned: entry,
            PointsAccount.MergedAway: entry,
            PointsAccount.MergeReceived: entry,
        }

    def _opened(self, e: PointsAccount.Opened, tx: Tx, position: int) -> None:
        tx.execute("INSERT INTO points_accounts VALUES (?,?,?,?,?,?,NULL,?)",
                   (e.merchant_id, str(e.originator_id), e.customer_id, e.program, e.category,
                    e.opening_balance, iso(e.timestamp)))
        account = {"merchant_id": e.merchant_id, "customer_id": e.customer_id, "program": e.program,
                   "category": e.category}
        self._accounts[str(e.originator_id)] = account
        self._insert(tx, e, position, account, e.opening_balance, e.opening_balance)

    def _entry(self, e: Any, tx: Tx, position: int) -> None:
        account = self._accounts.get(str(e.originator_id)) or tx.one(
            "SELECT merchant_id, customer_id, program, category FROM points_accounts "
            "WHERE account_id=?", (str(e.originator_id),))
        if account is None:  # cannot happen: Opened is always an account's first event
            raise LookupError(f"points account {e.originator_id} has no opening entry")
        self._accounts[str(e.originator_id)] = account
        merged = str(e.survivor_account_id) if isinstance(e, PointsAccount.MergedAway) else None
        tx.execute("UPDATE points_accounts SET balance=?, merged_into=COALESCE(?, merged_into), "
                   "updated_at=? WHERE account_id=?",
                   (e.balance, merged, iso(e.timestamp), str(e.originator_id)))
        self._insert(tx, e, position, account, e.points_on_event, e.balance)

    @staticmethod
    def _insert(tx: Tx, e: Any, position: int, account: dict[str, Any], points_on_event: int,
                balance: int) -> None:
        kind, entry_type, credit, debit = entry_amounts(e)
        values = (
            account["merchant_id"], account["customer_id"], str(e.originator_id), e.originator_version,
            position, iso(e.timestamp), str(e.event_id), e.event_type, kind, entry_type, credit, debit,
            points_on_event, balance, account["program"], account["category"], e.source,
            getattr(e, "till_id", None), getattr(e, "store_id", None), getattr(e, "transaction_id", None),
            e.reason,
        )
        marks = ",".join("?" * len(values))
        tx.execute(f"INSERT INTO points_entries ({','.join(ENTRY_COLUMNS)}) VALUES ({marks})", values)


@dataclass(frozen=True)
class LedgerFilter:
    """L9's filters; `since`/`until` are ISO text (the API defaults them to the last 7 days)."""

    since: str
    until: str
    source: str | None = None
    till_id: str | None = None
    entry_type: str | None = None  # credit | debit
    category: str | None = None
    program: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        sql, params = " AND entry_at >= ? AND entry_at < ?", [self.since, self.until]
        for column, value in (("source", self.source), ("till_id", self.till_id),
                              ("category", self.category), ("program", self.program)):
            if value is not None:
                sql, params = f"{sql} AND {column}=?", [*params, value]
        if self.entry_type == "credit":
            sql += " AND credit > 0"
        elif self.entry_type == "debit":
            sql += " AND debit > 0"
        return sql, params


def ledger_page(tx: Tx, merchant_id: str, customer_id: str, f: LedgerFilter, limit: int,
                after: int | None) -> list[dict[str, Any]]:
    """Chronological entries; `after` is the cursor (the position of the previous page's last)."""
    where, params = f.where()
    sql = f"SELECT * FROM points_entries WHERE merchant_id=? AND customer_id=?{where}"
    params = [merchant_id, customer_id, *params]
    if after is not None:
        sql, params = f"{sql} AND position > ?", [*params, after]
    # One more than a page, so the caller can tell whether another page follows.
    rows = tx.query(f"{sql} ORDER BY position LIMIT ?", [*params, min(limit, MAX_PAGE + 1)])
    return [{k: v for k, v in row.items() if k != "merchant_id"} for row in rows]


def closing_balance(tx: Tx, merchant_id: str, customer_id: str, f: LedgerFilter | None
                    ) -> dict[str, Any]:
    """L10: each matching account's balance as of the view's last entry (now, without filters)."""
    accounts_sql = "SELECT * FROM points_accounts WHERE merchant_id=? AND customer_id=?"
    params: list[Any] = [merchant_id, customer_id]
    if f is not None:
        for column, value in (("category", f.category), ("program", f.program)):
            if value is not None:
                accounts_sql, params = f"{accounts_sql} AND {column}=?", [*params, value]
    accounts = tx.query(accounts_sql + " ORDER BY program, category", params)
    as_of = None
    if f is not None:
        where, wparams = f.where()
        last = tx.one(f"SELECT MAX(position) AS p FROM points_entries WHERE merchant_id=? "
                      f"AND customer_id=?{where}", [merchant_id, customer_id, *wparams])
        as_of = last["p"] if last and last["p"] is not None else None
        if as_of is None:  # an empty view closes where its period ends
            row = tx.one("SELECT MAX(position) AS p FROM points_entries WHERE merchant_id=? "
                         "AND customer_id=? AND entry_at < ?", (merchant_id, customer_id, f.until))
            as_of = int(row["p"]) if row and row["p"] is not None else 0
    balances = []
    for account in accounts:
        balance = int(account["balance"])
        if as_of is not None:
            row = tx.one("SELECT balance FROM points_entries WHERE account_id=? AND position <= ? "
                         "ORDER BY position DESC LIMIT 1", (account["account_id"], as_of))
            balance = int(row["balance"]) if row else 0
        balances.append({"account_id": account["account_id"], "program": account["program"],
                         "category": account["category"], "balance": balance})
    return {"customer_id": customer_id, "as_of_position": as_of,
            "total": sum(b["balance"] for b in balances), "accounts": balances}


def balances(tx: Tx, merchant_id: str, customer_id: str) -> list[dict[str, Any]]:
    rows = tx.query("SELECT program, category, balance FROM points_accounts WHERE merchant_id=? "
                    "AND customer_id=? AND merged_into IS NULL ORDER BY program, category",
                    (merchant_id, customer_id))
    return [{"program": r["program"], "category": r["category"], "balance": int(r["balance"])}
            for r in rows]
