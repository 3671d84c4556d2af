"""The event store every service writes to: one append-only log for all aggregates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate

from domain.points import PointsAccount

A = TypeVar("A", bound=Aggregate)


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    # The library's projector asserts a runtime-checkable Protocol per event, which
    # costs ~50 µs each on Python 3.11; our streams only ever hold aggregate events.
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class Ledger(Application[UUID]):
    """One event log, so projections read one sequence and any two aggregates save atomically."""

    name = "promoledger"  # PostgreSQL table promoledger_events; SQLite uses stored_events
    # Points accounts grow without bound; every 200 events a snapshot bounds their load time.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {PointsAccount: 200}
    snapshotting_projectors: ClassVar[dict[type[Any], Any]] = {PointsAccount: replay}
    READ_CACHE_SIZE = 2048

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[int], None]] = []
        self._read_cache: dict[UUID, Any] = {}
        self.dialect = "postgres" if "postgres" in type(self.recorder).__module__ else "sqlite"

    def on_saved(self, listener: Callable[[int], None]) -> None:
        """Call `listener(position)` after every save in this process (wakes projection runners)."""
        self._listeners.append(listener)

    def save_all(self, *aggregates: Aggregate | None) -> int:
        """Store all pending events in one transaction; return the position of the last one."""
        processing = ProcessingEvent[UUID]()
        for aggregate in aggregates:
            if aggregate is not None:  # the library's collect_events, minus Protocol checks
                processing.events.extend(aggregate.collect_events())
                processing.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        if not recordings:
            return self.head()
        position = recordings[-1].notification.id
        for listener in self._listeners:
            listener(position)
        return position

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate, or None when there is none (or it is of another kind)."""
        try:
            return self.load(aggregate_id, kind)
        except AggregateNotFoundError:
            return None

    def load(self, aggregate_id: UUID, kind: type[A]) -> A:
        """The aggregate; AggregateNotFoundError when there is none of this kind.

        Only kinds that are snapshotted look in the snapshot store: for the others that
        would be one more query on every load for nothing.
        """
        if kind in self.snapshotting_intervals:
            aggregate = self.repository.get(aggregate_id, projector_func=replay)
        else:
            aggregate = replay(None, self.events.get(aggregate_id))
        if not isinstance(aggregate, kind):
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def read(self, aggregate_id: UUID, kind: type[A]) -> A:
        """The current aggregate for reading only: callers must never change it.

        Cached, and checked against the store with one query for newer events; a
        changed aggregate is rebuilt, never patched in place, so readers in other
        threads holding the old object are unaffected.
        """
        cached = self._read_cache.get(aggregate_id)
        # The recorder's list, not events.get(): that returns a lazy map, which is always truthy.
        if isinstance(cached, kind) and not self.recorder.select_events(
                aggregate_id, gt=cached.version, limit=1):
            return cached
        aggregate = self.load(aggregate_id, kind)
        if len(self._read_cache) >= self.READ_CACHE_SIZE:
            self._read_cache.clear()
        self._read_cache[aggregate_id] = aggregate
        return aggregate

    def read_if_any(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """Like `read`, but None when there is no such aggregate (or it is of another kind)."""
        try:
            return self.read(aggregate_id, kind)
        except AggregateNotFoundError:
            return None

    def find_at(self, aggregate_id: UUID, version: int) -> Any:
        try:
            return self.repository.get(aggregate_id, version=version, projector_func=replay)
        except AggregateNotFoundError:
            return None

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def position_of(self, aggregate_id: UUID, version: int) -> int | None:
        """The notification position of one stored event."""
        datastore: Any = self.recorder.datastore  # type: ignore[attr-defined]
        if self.dialect == "postgres":
            table = f"{self.name}_events"
            sql = f"SELECT notification_id AS p FROM {table} WHERE originator_id=%s AND originator_version=%s"
            with datastore.get_connection() as conn:
                row = conn.execute(sql, (aggregate_id, version)).fetchone()
        else:
            sql = "SELECT rowid AS p FROM stored_events WHERE originator_id=? AND originator_version=?"
            with datastore.transaction(commit=False) as cursor:
                cursor.execute(sql, (aggregate_id.hex, version))
                row = cursor.fetchone()
        return None if row is None else int(row["p"])

    def positions(self, aggregate_id: UUID) -> dict[int, int]:
        """Every stored version of an aggregate and its notification position."""
        datastore: Any = self.recorder.datastore  # type: ignore[attr-defined]
        if self.dialect == "postgres":
            sql = (f"SELECT originator_version AS v, notification_id AS p FROM {self.name}_events "
                   "WHERE originator_id=%s")
            with datastore.get_connection() as conn:
                rows = conn.execute(sql, (aggregate_id,)).fetchall()
        else:
            sql = "SELECT originator_version AS v, rowid AS p FROM stored_events WHERE originator_id=?"
            with datastore.transaction(commit=False) as cursor:
                cursor.execute(sql, (aggregate_id.hex,))
                rows = cursor.fetchall()
        return {int(r["v"]): int(r["p"]) for r in rows}

    def existing(self, aggregate_ids: list[UUID]) -> set[UUID]:
        """Which of these aggregates already exist (one query per 500 IDs)."""
        datastore: Any = self.recorder.datastore  # type: ignore[attr-defined]
        found: set[UUID] = set()
        for start in range(0, len(aggregate_ids), 500):
            chunk = aggregate_ids[start:start + 500]
            if self.dialect == "postgres":
                sql = (f"SELECT originator_id FROM {self.name}_events "
                       "WHERE originator_version=1 AND originator_id = ANY(%s)")
                with datastore.get_connection() as conn:
                    rows = conn.execute(sql, (chunk,)).fetchall()
                found.update(UUID(str(r["originator_id"])) for r in rows)
            else:
                marks = ",".join("?" * len(chunk))
                sql = ("SELECT originator_id FROM stored_events "
                       f"WHERE originator_version=1 AND originator_id IN ({marks})")
                with datastore.transaction(commit=False) as cursor:
                    cursor.execute(sql, [i.hex for i in chunk])
                    rows = cursor.fetchall()
                found.update(UUID(r["originator_id"]) for r in rows)
        return found
