"""Request and response models of the points ledger API (L1-L10, A5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from interfaces.http.schemas import Out, Strict, Text, Timestamp

Points = Annotated[int, Field(strict=True, ge=1, le=10**12)]
Program = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Category = Literal["regular", "promised", "trigger"]


class EntryContextIn(Strict):
    """Where and why, on every entry: event source, till, store, transaction, reason."""

    source: str = Field("SYSTEM", pattern=r"^[A-Z][A-Z0-9_]{1,31}$",
                        description="INSTORE, ECOMMERCE, WEBSITE, TMALL, …")
    till_id: Text | None = None
    store_id: Text | None = None
    transaction_id: Text | None = None
    reason: str = Field("", max_length=500)


class ProgramIn(Strict):
    name: str = Field("", max_length=200)
    expiry_days: int | None = Field(None, strict=True, ge=1, le=36_500,
                                    description="default lifetime of credited points; null = never")


class ProgramOut(Out):
    program: str
    name: str
    expiry_days: int | None


class OpenAccountIn(EntryContextIn):
    program: Program
    category: Category = "regular"
    opening_balance: int = Field(0, strict=True, ge=-10**12, le=10**12,
                                 description="0 at registration, or an imported balance")


class CreditIn(EntryContextIn):
    program: Program
    category: Category = "regular"
    kind: Literal["allocation", "redemption_reversal", "referral_award", "import", "bulk_award"]
    points: Points
    expires_at: Timestamp | None = Field(None, description="defaults to the program's expiry")


class DebitIn(EntryContextIn):
    program: Program
    category: Category = "regular"
    kind: Literal["redemption", "referral_return", "points_return", "import"]
    points: Points


class ReturnIn(EntryContextIn):
    program: Program
    category: Category = "regular"
    points_returned: int = Field(strict=True, ge=0, le=10**12)
    redemption_reversed: int = Field(strict=True, ge=0, le=10**12)


class GroupDebitIn(Strict):
    program: Program
    points: Points


class GroupRedemptionIn(EntryContextIn):
    debits: list[GroupDebitIn] = Field(min_length=1, max_length=50)


class ConversionIn(EntryContextIn):
    program: Program
    from_category: Literal["promised", "trigger"] = "promised"
    points: Points


class TransferIn(EntryContextIn):
    to_customer_id: Text
    program: Program
    category: Category = "regular"
    points: Points


class MergeIn(EntryContextIn):
    survivor_customer_id: Text


class AccountOut(Out):
    account_id: str
    customer_id: str
    program: str
    category: str
    balance: int
    version: int
    merged_into: str | None


class AccountState(BaseModel):
    account_id: str
    customer_id: str
    program: str
    category: str
    balance: int
    version: int
    merged_into: str | None


class GroupRedemptionOut(Out):
    event_id: str
    total: int
    accounts: list[AccountState]


class MoveOut(Out):
    event_id: str
    debited: AccountState
    credited: AccountState


class ExpiryOut(Out):
    customer_id: str
    expired: int
    accounts: list[AccountState]


class MergeOut(Out):
    event_id: str
    victim: str
    survivor: str
    accounts: list[AccountState]


class LedgerEntry(BaseModel):
    customer_id: str
    account_id: str
    version: int
    position: int
    entry_at: str
    event_id: str
    event_type: str
    kind: str
    entry_type: str
    credit: int
    debit: int
    points_on_event: int
    balance: int
    program: str
    category: str
    source: str
    till_id: str | None
    store_id: str | None
    transaction_id: str | None
    reason: str


class LedgerPage(BaseModel):
    customer_id: str
    items: list[LedgerEntry]
    next_cursor: str | None


class AccountBalance(BaseModel):
    account_id: str
    program: str
    category: str
    balance: int


class ClosingBalanceOut(BaseModel):
    customer_id: str
    as_of_position: int | None
    total: int
    accounts: list[AccountBalance]


class HistoryEntry(BaseModel):
    position: int
    at: str | None
    account_id: str
    program: str
    category: str
    version: int
    event_id: str
    event_type: str
    kind: str
    entry_type: str
    credit: int
    debit: int
    points_on_event: int
    source: str
    till_id: str | None
    store_id: str | None
    transaction_id: str | None
    reason: str
    balance: int
    recorded_balance: int
    customer_balance: int


class HistoryOut(BaseModel):
    customer_id: str
    entries: list[HistoryEntry]
    balances: list[AccountBalance]


class BalanceAtOut(BaseModel):
    account_id: str
    customer_id: str
    program: str
    category: str
    as_of: str | None
    version: int
    balance: int


class VerifyOut(BaseModel):
    ok: bool
    position: int
    accounts: int
    entries: int
    mismatches: list[dict[str, Any]]
