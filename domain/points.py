"""PointsAccount aggregate: one customer's points in one program and category; its stream is the ledger.

Each business event (a transaction, a transfer, a conversion, a merge…) writes one entry per
account it touches; the entries share an `event_id`, and every entry carries the event's
`points_on_event`. Credits create lots with optional expiry; debits consume lots
first-expiring first. Some debits may take the balance below zero (a return after the points
were spent); a later credit pays that debt first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.clock import require_utc
from domain.errors import InvalidInput, InvalidTransition
from domain.ids import derive_id

CATEGORIES = ("regular", "promised", "trigger")
CREDIT_KINDS = frozenset({"allocation", "transfer_in", "redemption_reversal", "referral_award",
                          "conversion_in", "import", "bulk_award", "promo_code"})
DEBIT_KINDS = frozenset({"redemption", "group_redemption", "transfer_out", "referral_return",
                         "conversion_out", "expiry", "points_return", "import", "promo_code_reversal"})
# Debits that record what already happened elsewhere, so they may overdraw the account.
MAY_OVERDRAW = frozenset({"points_return", "referral_return", "import", "promo_code_reversal"})
MAX_POINTS = 10**12


def check_points(points: int, field: str = "points", *, allow_zero: bool = False) -> int:
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidInput(f"{field} must be an integer", code="invalid_points")
    if points < 0 or points > MAX_POINTS or (points == 0 and not allow_zero):
        raise InvalidInput(f"{field} is out of range: {points}", code="invalid_points")
    return points


@dataclass(frozen=True)
class EntryMeta:
    """What every ledger entry tells about the business event behind it."""

    event_id: UUID
    event_type: str
    points_on_event: int
    source: str = "SYSTEM"
    till_id: str | None = None
    store_id: str | None = None
    transaction_id: str | None = None
    reason: str = ""

    def fields(self) -> dict[str, Any]:
        return dict(self.__dict__)


class PointsAccount(Aggregate):
    """The ledger of one customer x program x category."""

    class Opened(Aggregate.Created):
        merchant_id: str
        customer_id: str
        program: str
        category: str
        opening_balance: int
        expires_at: datetime | None
        event_id: UUID
        event_type: str
        source: str
        reason: str

        def apply(self, account: PointsAccount) -> None:
            account.merchant_id = self.merchant_id
            account.customer_id = self.customer_id
            account.program = self.program
            account.category = self.category
            account._receive(self.opening_balance, _one_lot(self.opening_balance, self.expires_at))

    class Entry(Aggregate.Event):
        """Fields every entry carries; never triggered itself."""

        event_id: UUID
        event_type: str
        points_on_event: int
        source: str
        till_id: str | None
        store_id: str | None
        transaction_id: str | None
        reason: str
        balance: int  # the account's balance after this entry

    class Credited(Entry):
        kind: str
        points: int
        expires_at: datetime | None
        lots: list[dict[str, Any]] | None = None  # a transfer keeps each lot's own expiry

        def apply(self, account: PointsAccount) -> None:
            lots = self.lots if self.lots is not None else _one_lot(self.points, self.expires_at)
            account._receive(self.points, lots)

    class Debited(Entry):
        kind: str
        points: int
        consumed: list[list[int]]  # [lot, points] taken, first-expiring first

        def apply(self, account: PointsAccount) -> None:
            account._take(self.points, self.consumed)

    class TransactionReturned(Entry):
        """L8: the return's points come back (debit) and its redemption is reversed (credit)."""

        points_returned: int
        redemption_reversed: int
        net: int
        consumed: list[list[int]]
        expires_at: datetime | None

        def apply(self, account: PointsAccount) -> None:
            account._take(self.points_returned, self.consumed)
            account._receive(self.redemption_reversed, _one_lot(self.redemption_reversed, self.expires_at))

    class MergedAway(Entry):
        """L7: the victim's last entry; its balance (and lots) go to the survivor."""

        survivor_account_id: UUID
        points: int  # signed: what the victim gives (negative when it was overdrawn)
        lots: list[dict[str, Any]]

        def apply(self, account: PointsAccount) -> None:
            account.lots, account.debt, account.balance = [], 0, 0
            account.merged_into = self.survivor_account_id

    class MergeReceived(Entry):
        victim_account_id: UUID
        points: int  # signed
        lots: list[dict[str, Any]]

        def apply(self, account: PointsAccount) -> None:
            account._receive(self.points, self.lots)

    def __init__(self) -> None:
        self.merchant_id = ""
        self.customer_id = ""
        self.program = ""
        self.category = ""
        self.balance = 0
        self.debt = 0  # points owed: a later credit pays this before it makes a lot
        self.lots: list[dict[str, Any]] = []  # {"lot", "remaining", "expires_at"}
        self.next_lot = 1
        self.merged_into: UUID | None = None

    # -- state changes shared by apply() methods: never raise -----------------------------

    def _receive(self, points: int, lots: list[dict[str, Any]]) -> None:
        """`points` arrive as `lots` (none when negative: an overdrawn import or merge)."""
        if points < 0:
            self.debt += -points
        for lot in lots:
            self._add_lot(lot["remaining"], lot["expires_at"])
        self.balance += points
        self._settle()

    def _add_lot(self, points: int, expires_at: datetime | None) -> None:
        """Pool points by expiry: one lot per expiry instant, kept first-expiring first."""
        key = _expiry_key(expires_at)
        new = {"lot": self.next_lot, "remaining": points, "expires_at": expires_at}
        for index, existing in enumerate(self.lots):
            existing_key = _expiry_key(existing["expires_at"])
            if existing_key == key:
                existing["remaining"] += points
                return
            if existing_key > key:
                self.lots.insert(index, new)
                self.next_lot += 1
                return
        self.lots.append(new)
        self.next_lot += 1

    def _settle(self) -> None:
        """Pay debt from lots, first-expiring first: a credit repays what was overdrawn."""
        available = sum(lot["remaining"] for lot in self.lots)
        for lot_id, take in self.plan_consumption(min(self.debt, available)):
            for lot in self.lots:
                if lot["lot"] == lot_id:
                    lot["remaining"] -= take
            self.debt -= take
        self.lots = [lot for lot in self.lots if lot["remaining"] > 0]

    def _take(self, points: int, consumed: list[list[int]]) -> None:
        taken = dict((lot, n) for lot, n in consumed)
        for lot in self.lots:
            lot["remaining"] -= taken.get(lot["lot"], 0)
        self.lots = [lot for lot in self.lots if lot["remaining"] > 0]
        self.debt += points - sum(taken.values())
        self.balance -= points

    # -- identity and creation ------------------------------------------------------------

    @staticmethod
    def id_for(merchant_id: str, customer_id: str, program: str, category: str) -> UUID:
        return derive_id(merchant_id, "points", f"{program}/{category}/{customer_id}")

    @classmethod
    def open(cls, merchant_id: str, customer_id: str, program: str, category: str, at: datetime,
             *, meta: EntryMeta, opening_balance: int = 0, expires_at: datetime | None = None
             ) -> PointsAccount:
        """L2: the opening entry, zero at registration or an imported balance."""
        if category not in CATEGORIES:
            raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}", code="invalid_category")
        if isinstance(opening_balance, bool) or not isinstance(opening_balance, int) \
                or abs(opening_balance) > MAX_POINTS:
            raise InvalidInput("opening_balance must be an integer", code="invalid_points")
        return cls._create(
            cls.Opened, id=cls.id_for(merchant_id, customer_id, program, category),
            merchant_id=merchant_id, customer_id=customer_id, program=program, category=category,
            opening_balance=opening_balance, expires_at=_aware(expires_at), event_id=meta.event_id,
            event_type=meta.event_type, source=meta.source, reason=meta.reason, timestamp=at,
        )

    # -- commands -------------------------------------------------------------------------

    def credit(self, kind: str, points: int, at: datetime, meta: EntryMeta,
               expires_at: datetime | None = None, lots: list[dict[str, Any]] | None = None) -> None:
        """Credit `points` expiring at `expires_at`, or as `lots` each with its own expiry."""
        self._check_open()
        if kind not in CREDIT_KINDS:
            raise InvalidInput(f"unknown credit kind {kind!r}", code="invalid_entry_kind")
        check_points(points)
        if lots is not None:
            lots = [{"remaining": check_points(lot["remaining"]), "expires_at": _aware(lot["expires_at"])}
                    for lot in lots]
            if sum(lot["remaining"] for lot in lots) != points or expires_at is not None:
                raise InvalidInput("lots must add up to the points, without a separate expiry",
                                   code="invalid_lots")
        self.trigger_event(self.Credited, kind=kind, points=points, expires_at=_aware(expires_at),
                           lots=lots, balance=self.balance + points, timestamp=at, **meta.fields())

    def debit(self, kind: str, points: int, at: datetime, meta: EntryMeta) -> None:
        self._check_open()
        if kind not in DEBIT_KINDS:
            raise InvalidInput(f"unknown debit kind {kind!r}", code="invalid_entry_kind")
        check_points(points)
        if points > self.balance and kind not in MAY_OVERDRAW:
            raise InvalidTransition(f"the balance is {self.balance}; {points} cannot be debited",
                                    code="insufficient_points", balance=self.balance)
        self.trigger_event(self.Debited, kind=kind, points=points,
                           consumed=self.plan_consumption(points), balance=self.balance - points,
                           timestamp=at, **meta.fields())

    def return_transaction(self, points_returned: int, redemption_reversed: int, at: datetime,
                           meta: EntryMeta, expires_at: datetime | None = None) -> None:
        self._check_open()
        check_points(points_returned, "points_returned", allow_zero=True)
        check_points(redemption_reversed, "redemption_reversed", allow_zero=True)
        if points_returned == redemption_reversed == 0:
            raise InvalidInput("a return moves some points", code="invalid_points")
        net = redemption_reversed - points_returned
        self.trigger_event(
            self.TransactionReturned, points_returned=points_returned,
            redemption_reversed=redemption_reversed, net=net,
            consumed=self.plan_consumption(points_returned),
            expires_at=_aware(expires_at), balance=self.balance + net, timestamp=at, **meta.fields(),
        )

    def expire(self, at: datetime, meta: EntryMeta) -> int:
        """L5: debit what is left of lots expired by `at`; 0 (and no entry) when none are."""
        self._check_open()
        due: list[list[int]] = [[lot["lot"], lot["remaining"]] for lot in self.lots
                                if lot["expires_at"] is not None and lot["expires_at"] <= at]
        points = sum(n for _, n in due)
        if points:
            self.trigger_event(self.Debited, kind="expiry", points=points, consumed=due,
                               balance=self.balance - points, timestamp=at,
                               **{**meta.fields(), "points_on_event": -points})
        return points

    def merge_into(self, survivor: PointsAccount, at: datetime, meta: EntryMeta) -> int:
        """L7: move everything to `survivor`; this account takes no entries afterwards."""
        self._check_open()
        survivor._check_open()
        if survivor.id == self.id or survivor.program != self.program or survivor.category != self.category:
            raise InvalidInput("merge into the same program and category of another customer",
                               code="invalid_merge")
        points = int(self.balance)
        lots = [{"remaining": lot["remaining"], "expires_at": lot["expires_at"]} for lot in self.lots]
        fields = {**meta.fields(), "points_on_event": points}
        self.trigger_event(self.MergedAway, survivor_account_id=survivor.id, points=points, lots=lots,
                           balance=0, timestamp=at, **fields)
        survivor.trigger_event(self.MergeReceived, victim_account_id=self.id, points=points, lots=lots,
                               balance=survivor.balance + points, timestamp=at, **fields)
        return points

    def lots_for(self, points: int) -> list[dict[str, Any]]:
        """The lots a debit of `points` would take, with their expiries (what a transfer moves)."""
        expiries = {lot["lot"]: lot["expires_at"] for lot in self.lots}
        taken = [{"remaining": n, "expires_at": expiries[lot]} for lot, n in self.plan_consumption(points)]
        short = points - sum(lot["remaining"] for lot in taken)
        return taken + ([{"remaining": short, "expires_at": None}] if short > 0 else [])

    def plan_consumption(self, points: int) -> list[list[int]]:
        """Which lots a debit consumes: first-expiring first, lots without expiry last."""
        plan, left = [], points
        for lot in self.lots:  # kept in expiry order
            if left == 0:
                break
            take = min(left, lot["remaining"])
            plan.append([lot["lot"], take])
            left -= take
        return plan

    def _check_open(self) -> None:
        if self.merged_into is not None:
            raise InvalidTransition("the account was merged into another customer's",
                                    code="account_merged", merged_into=str(self.merged_into))


def entry_amounts(event: Any) -> tuple[str, str, int, int]:
    """(kind, entry type, credit, debit) of a PointsAccount event as the ledger shows it."""
    if isinstance(event, PointsAccount.Opened):
        return "opening", "opening", max(event.opening_balance, 0), max(-event.opening_balance, 0)
    if isinstance(event, PointsAccount.Credited):
        return event.kind, "credit", event.points, 0
    if isinstance(event, PointsAccount.Debited):
        return event.kind, "debit", 0, event.points
    if isinstance(event, PointsAccount.TransactionReturned):
        credit, debit = event.redemption_reversed, event.points_returned
        entry_type = "both" if credit and debit else "credit" if credit else "debit"
        return "transaction_return", entry_type, credit, debit
    if isinstance(event, PointsAccount.MergedAway):  # the victim's last entry: a debit, unless overdrawn
        return ("merge_out", "debit", 0, event.points) if event.points >= 0 else \
            ("merge_out", "credit", -event.points, 0)
    if isinstance(event, PointsAccount.MergeReceived):
        return ("merge_in", "credit", event.points, 0) if event.points >= 0 else \
            ("merge_in", "debit", 0, -event.points)
    raise TypeError(f"not a ledger entry: {type(event).__qualname__}")


def _expiry_key(expires_at: datetime | None) -> tuple[bool, datetime | None]:
    # Sorts lots without expiry last; compares datetimes only with datetimes.
    return (expires_at is None, expires_at)


def _aware(expires_at: datetime | None) -> datetime | None:
    return None if expires_at is None else require_utc(expires_at, "expires_at")


def _one_lot(points: int, expires_at: datetime | None) -> list[dict[str, Any]]:
    return [{"remaining": points, "expires_at": expires_at}] if points > 0 else []
