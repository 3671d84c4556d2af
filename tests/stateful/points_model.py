"""The points machine's model: each account's balance, its lots by expiry, and what it owes.

Written from L3-L8: credits make lots expiring at the end of the merchant's (UTC) day N days on;
debits take lots first-expiring first (lots without expiry last); a debit that records what
happened elsewhere (a points return, a reversed points code) may overdraw, and a later credit
pays that debt first; expiry debits what is left of the lots due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

Lots = dict[datetime | None, int]


def default_expiry(at: datetime, days: int | None) -> datetime | None:
    """The end of `at`'s UTC day, `days` days on (None: the program's points never expire)."""
    if days is None:
        return None
    return datetime.combine(at.astimezone(UTC).date() + timedelta(days=days + 1), time(0), tzinfo=UTC)


def _first_expiring(expiry: datetime | None) -> tuple[bool, datetime]:
    return (expiry is None, expiry or datetime.min.replace(tzinfo=UTC))


@dataclass
class AccountModel:
    balance: int = 0
    debt: int = 0
    lots: Lots = field(default_factory=dict)
    overdrawn: bool = False  # an overdrawing debit happened: a negative balance is legitimate

    def plan(self, points: int) -> list[tuple[datetime | None, int]]:
        """What a debit of `points` takes from the lots, first-expiring first."""
        taken, left = [], points
        for expiry in sorted(self.lots, key=_first_expiring):
            if left == 0:
                break
            n = min(left, self.lots[expiry])
            taken.append((expiry, n))
            left -= n
        return taken

    def _consume(self, taken: Sequence[tuple[datetime | None, int]]) -> int:
        for expiry, n in taken:
            self.lots[expiry] -= n
            if not self.lots[expiry]:
                del self.lots[expiry]
        return sum(n for _, n in taken)

    def receive(self, points: int, lots: list[tuple[datetime | None, int]]) -> None:
        for expiry, n in lots:
            self.lots[expiry] = self.lots.get(expiry, 0) + n
        self.balance += points
        self.debt -= self._consume(self.plan(min(self.debt, sum(self.lots.values()))))

    def take(self, points: int) -> None:
        self.debt += points - self._consume(self.plan(points))
        self.balance -= points
        self.overdrawn |= self.balance < 0

    def expire(self, at: datetime) -> int:
        due = [(expiry, n) for expiry, n in self.lots.items() if expiry is not None and expiry <= at]
        points = self._consume(due)
        self.balance -= points
        return points
