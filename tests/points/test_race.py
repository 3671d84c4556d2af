"""Concurrent debits of one points account on PostgreSQL can't overspend it.

Several containers (separate connection pools, like separate processes), each driven by several
threads, start together at a barrier. Clients retry a ConcurrencyConflict with the same
Idempotency-Key, so each call ends in exactly one final outcome, which is what is counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from application.points import EntryContext
from infrastructure.bootstrap import Container
from projections.points_audit import verify_points
from tests.application.test_concurrency import Final, Race, StoreConflicts, as_client, containers_for
from tests.points.helpers import ADMIN, account, balance

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["postgres"], indirect=True)]

START = 1000
CALLS = 40


def funded(make_container: Callable[..., Container]) -> list[Container]:
    containers = containers_for(make_container)
    first = containers[0]
    first.points.define_program(ADMIN, "main", "Main", 365)
    first.points.credit(ADMIN, "alice", "main", "regular", "allocation", START, EntryContext())
    return containers


def replayed_balance(c: Container, customer: str) -> int:
    history = c.points_history.history("acme", customer)
    assert all(e["balance"] == e["recorded_balance"] for e in history["entries"])
    total: int = sum(b["balance"] for b in history["balances"])
    return total


def assert_read_models_agree(c: Container, *customers: str) -> None:
    c.projections.catch_up()
    for customer in customers:
        assert c.queries.points_balance("acme", customer, None)["total"] == balance(c, customer)
    assert verify_points(c.ledger, c.db, "acme").ok


def test_concurrent_redemptions_cannot_overspend_an_account(
    make_container: Callable[..., Container], pg_url: str,
) -> None:
    containers = funded(make_container)
    first, points = containers[0], 60

    def redeem(n: int) -> Callable[[Container], Final]:
        ctx = EntryContext(source="INSTORE", till_id=f"T{n % 4}", transaction_id=f"tx-{n}")
        return lambda c: as_client(lambda: c.points.debit(ADMIN, "alice", "main", "regular", "redemption",
                                                          points, ctx, idempotency_key=f"redeem-{n}"))

    with StoreConflicts(containers) as conflicts:
        outcomes: list[Final] = Race(containers).run([redeem(n) for n in range(CALLS)])

    wins = START // points
    assert Counter((o.status, o.code) for o in outcomes) == {(200, None): wins,
                                                               (0, "insufficient_points"): CALLS - wins}
    assert conflicts.count > 0, "no save conflicted: the containers did not race"
    final = balance(first, "alice")
    assert final == START - wins * points >= 0
    assert final == replayed_balance(first, "alice")
    debits = [e for e in first.ledger.events.get(account(first, "alice").id) if getattr(e, "kind", "")
              == "redemption"]
    assert len(debits) == wins
    assert sorted(e.balance for e in debits) == [START - k * points for k in range(wins, 0, -1)]
    assert {o.body["balance"] for o in outcomes if o.status == 200} == {e.balance for e in debits}
    assert_read_models_agree(first, "alice")


def test_concurrent_transfers_cannot_overspend_the_sender(
    make_container: Callable[..., Container], pg_url: str,
) -> None:
    containers = funded(make_container)
    first, points = containers[0], 70

    def transfer(n: int) -> Callable[[Container], Final]:
        to = f"friend-{n % 5}"  # several transfers race to the same new recipients too
        return lambda c: as_client(lambda: c.points.transfer(ADMIN, "alice", to, "main", "regular", points,
                                                             EntryContext(), idempotency_key=f"move-{n}"))

    with StoreConflicts(containers) as conflicts:
        outcomes: list[Final] = Race(containers).run([transfer(n) for n in range(CALLS)])

    wins = START // points
    assert Counter((o.status, o.code) for o in outcomes) == {(200, None): wins,
                                                               (0, "insufficient_points"): CALLS - wins}
    assert conflicts.count > 0, "no save conflicted: the containers did not race"
    friends = [f"friend-{k}" for k in range(5)]
    received = {f: balance(first, f) for f in friends}
    assert balance(first, "alice") == START - wins * points >= 0
    assert sum(received.values()) == wins * points  # every debit has its credit, and no more
    for friend, points_in in received.items():
        won = [o for o in outcomes if o.status == 200 and o.body["credited"]["customer_id"] == friend]
        assert points_in == points * len(won)
        assert points_in == replayed_balance(first, friend)
    assert balance(first, "alice") == replayed_balance(first, "alice")
    assert_read_models_agree(first, "alice", *friends)
