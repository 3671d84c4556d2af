"""What the stateful machines share: settings, bound containers, refusals, catch-up and audits.

One store per test (a SQLite file or a PostgreSQL database); every hypothesis example gets a
fresh merchant, so examples are independent without creating a database each.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from application.clock import ManualClock
from domain.errors import DomainError
from infrastructure.bootstrap import Container
from infrastructure.database import MemoryDatabase

T = TypeVar("T")

# `PROMO_STATEFUL_EXAMPLES=200 PROMO_STATEFUL_STEPS=60 pytest tests/stateful` for a deeper run.
EXAMPLES = int(os.environ.get("PROMO_STATEFUL_EXAMPLES", "0") or 0)
STEPS = int(os.environ.get("PROMO_STATEFUL_STEPS", "0") or 0)
DEEP = EXAMPLES > 0
# pyproject's 300 s per test bounds the default run; a deep run takes as long as it asks for.
time_limit = pytest.mark.timeout(0 if DEEP else 300)


def machine_settings(examples: int, steps: int) -> settings:
    """The default budget (the whole directory in well under a minute on both stores), or the
    deeper one from the environment."""
    return settings(
        max_examples=EXAMPLES or examples, stateful_step_count=STEPS or steps, deadline=None,
        database=None, derandomize=not DEEP, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large],
    )


class StoreMachine(RuleBasedStateMachine):
    """A machine over one container; `bound` makes a subclass for a test's store and clock."""

    c: Container
    clock: ManualClock

    @classmethod
    def bound(cls, container: Container, clock: ManualClock) -> type[StoreMachine]:
        return type(f"{cls.__name__}On{container.ledger.dialect.title()}", (cls,),
                    {"c": container, "clock": clock})

    def __init__(self) -> None:
        super().__init__()
        # Each example on a day of its own, from the same time of day (expiry is judged by day),
        # with the same random draws: a failing example replays exactly as it ran.
        day = self.clock().date() + timedelta(days=2)
        self.clock.set(datetime.combine(day, time(9), tzinfo=UTC))
        self.c.vouchers.rng.seed(0)
        self.c.pools.rng.seed(0)
        self.start_position = self.c.ledger.head()  # nothing after it belongs to another example
        self._last_checked: tuple[int, object] | None = None
        self.ready = False  # set by the machine's initialize rule; teardown checks only then

    def changed_since_last_check(self) -> bool:
        """Whether the ledger or the clock moved since the invariants last ran: a refused
        command writes nothing, and what was true before it is true after (reads cost time)."""
        now = (self.c.ledger.head(), self.clock())
        changed, self._last_checked = now != self._last_checked, now
        return changed


def run(machine: type[StoreMachine], container: Container, clock: ManualClock,
        profile: settings) -> None:
    run_state_machine_as_test(machine.bound(container, clock), settings=profile)


def attempt(call: Callable[[], T]) -> tuple[T | None, DomainError | None]:
    """The command's result, or the domain refusal it raised; any other exception is a bug."""
    try:
        return call(), None
    except DomainError as refusal:
        return None, refusal


def once_or_retried(c: Container, key: str | None, call: Callable[[str | None], Any]
                    ) -> tuple[Any, DomainError | None]:
    """Run a command; with an Idempotency-Key, run it again at once: the same answer (or the
    same refusal), marked replayed, and nothing more written."""
    result, refusal = attempt(lambda: call(key))
    if key is not None:
        head = c.ledger.head()
        again, refused_again = attempt(lambda: call(key))
        assert getattr(refused_again, "code", None) == getattr(refusal, "code", None)
        if result is not None:
            assert again is not None
            assert (again.status, again.body, again.position, again.replayed) == (
                result.status, result.body, result.position, True)
        assert c.ledger.head() == head, "a retry with the same key wrote events"
    return result, refusal


OUTCOMES: Counter[str] = Counter()


def seen(outcome: str) -> None:
    """Count an outcome: `pytest -s` prints the mix a run exercised (refusals included)."""
    OUTCOMES[outcome] += 1
    event(outcome)


def report_outcomes(title: str) -> None:
    print(f"\n{title}: outcomes exercised")
    for outcome, n in sorted(OUTCOMES.items()):
        print(f"  {n:6d}  {outcome}")
    OUTCOMES.clear()


def check_refusal(refusal: DomainError | None, expected: str | None, what: str) -> None:
    """The model predicted `expected` (a refusal code) or acceptance (None)."""
    got = None if refusal is None else refusal.code
    seen(f"{what}: {got or 'ok'}")
    detail = "" if refusal is None else f" ({type(refusal).__name__}: {refusal.detail})"
    assert got == expected, f"{what}: expected {expected or 'success'}, got {got or 'success'}{detail}"


def settle(c: Container) -> None:
    """Bring every read model to the ledger's head, the way the server's loop does."""
    while c.projections.run_once() >= c.projections.batch_size:  # a short batch reached the head
        pass


@dataclass
class ReplayDiff:
    table: str
    missing: list[dict[str, Any]]
    unexpected: list[dict[str, Any]]


def replay_mismatches(c: Container, names: Iterable[str], merchant_id: str, since: int
                      ) -> list[ReplayDiff]:
    """The merchant's live read-model rows against a private replay of the events after `since`.

    `projections.audit` replays from the first event of the store; this replays one example's
    events only (the merchant is new at `since`, so nothing earlier touches its rows), which keeps
    a per-example audit cheap however many examples ran before. The whole-store audit runs once at
    the end of each test.
    """
    settle(c)
    head = c.ledger.head()
    diffs: list[ReplayDiff] = []
    for name in names:
        projection = c.projections.runner(name).projection
        live = _merchant_rows(c, projection.tables, merchant_id)
        replayed = _replayed_rows(c, type(projection)(), since, head, merchant_id)
        for table in projection.tables:
            want, got = Counter(replayed[table]), Counter(live[table])
            if want != got:
                diffs.append(ReplayDiff(f"{name}.{table}",
                                        [dict(r) for r in (want - got).elements()],
                                        [dict(r) for r in (got - want).elements()]))
    return diffs


Row = tuple[tuple[str, Any], ...]


def _row(row: dict[str, Any]) -> Row:
    return tuple(sorted((k, int(v) if isinstance(v, bool) else v) for k, v in row.items()))


def _merchant_rows(c: Container, tables: Iterable[str], merchant_id: str) -> dict[str, list[Row]]:
    with c.db.transaction() as tx:
        return {t: [_row(r) for r in tx.query(f"SELECT * FROM {t} WHERE merchant_id=?", (merchant_id,))]
                for t in tables}


def _replayed_rows(c: Container, projection: Any, since: int, head: int, merchant_id: str
                   ) -> dict[str, list[Row]]:
    memory = MemoryDatabase()
    try:
        with memory.transaction(write=True) as tx:
            projection.create_tables(tx)
            start = since + 1
            while start <= head:
                page = c.ledger.recorder.select_notifications(start, 500, stop=head)
                if not page:
                    break
                for n in page:
                    projection.process(c.ledger.mapper.to_domain_event(n), tx, n.id)
                start = page[-1].id + 1
            return {t: [_row(r) for r in tx.query(f"SELECT * FROM {t} WHERE merchant_id=?",
                                                  (merchant_id,))]
                    for t in projection.tables}
    finally:
        memory.close()


def audit_whole_store(c: Container, names: Iterable[str]) -> None:
    """`promo projections audit`: every read model against a replay from the first event."""
    settle(c)
    for name in names:
        report = c.projections.audit(name)
        assert report.ok, report.as_dict()
