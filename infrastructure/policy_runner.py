"""Event-driven policies over the ledger, exactly once across crashes and processes.

A policy (the workflow policy, the webhook outbox) reacts to events in log order. Its runner
keeps a tracking position per policy in `policy_tracking`, reads the next batch of the
events the policy cares about, hands each to the policy, and then moves the position —
conditionally, from the position it started at.

Why this is exactly-once: every effect a policy has is an ordinary command whose
Idempotency-Key (and, for what it creates, whose aggregate IDs) derive from the triggering
event — the policy name, the event's originator ID and version. A command's effects and its
idempotency record commit in one transaction. So:
- a crash after an effect committed but before the position moved replays the event; the
  command finds its record (or its aggregates) already there and changes nothing;
- a crash before the effect committed left nothing behind: the replay does it once;
- two runners on one policy (two server processes) may both handle an event; the store's
  uniqueness on the record's (and aggregates') IDs lets exactly one commit, the other replays
  it, and the conditional position update lets one of them advance.
The position is progress, never the guarantee: losing it costs re-reading, not double effects.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.utils import get_topic

from application.ledger import Ledger
from infrastructure.database import LibraryDatabase

log = logging.getLogger(__name__)
TRACKING_DDL = ("CREATE TABLE IF NOT EXISTS policy_tracking "
                "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)")


class Policy(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def topics(self) -> Sequence[type]: ...

    def handle(self, event: Any, position: int) -> None: ...


class PolicyRunner:
    """One policy: the next batch of its events after its position, handled, then tracked."""

    def __init__(self, policy: Policy, ledger: Ledger, db: LibraryDatabase, *, batch_size: int = 100
                 ) -> None:
        self.policy = policy
        self.ledger = ledger
        self.db = db
        self.batch_size = batch_size
        self.topics = [get_topic(cls) for cls in policy.topics]
        self.last_error: str | None = None

    @property
    def name(self) -> str:
        return self.policy.name

    def setup(self) -> None:
        with self.db.transaction(write=True) as tx:
            tx.execute(TRACKING_DDL)
            tx.execute("INSERT INTO policy_tracking (name, position) VALUES (?, 0) "
                       "ON CONFLICT (name) DO NOTHING", (self.name,))

    def position(self) -> int:
        with self.db.transaction() as tx:
            row = tx.one("SELECT position FROM policy_tracking WHERE name=?", (self.name,))
        return int(row["position"]) if row else 0

    def run_once(self) -> int:
        """Handle the next batch; return how many events it handled (0 = caught up)."""
        start = self.position()
        head = self.ledger.head()  # read first: an event committed later is in the next round
        if head <= start:
            return 0
        batch = self.ledger.recorder.select_notifications(start + 1, self.batch_size, stop=head,
                                                           topics=self.topics)
        end = batch[-1].id if len(batch) == self.batch_size else head
        handled = start
        try:
            for notification in batch:
                self.policy.handle(self.ledger.mapper.to_domain_event(notification), notification.id)
                handled = notification.id
        except BaseException:
            self._move(start, handled)  # keep the progress made; the failed event comes again
            raise
        self._move(start, end)
        return len(batch)

    def catch_up(self) -> int:
        """Handle everything up to the head; return the final position."""
        while self.run_once():
            pass
        return self.position()

    def _move(self, start: int, end: int) -> bool:
        if end <= start:
            return False
        with self.db.transaction(write=True) as tx:
            row = tx.one("UPDATE policy_tracking SET position=? WHERE name=? AND position=? "
                         "RETURNING position", (end, self.name, start))
        if row is None:
            log.info("policy %s: another runner moved first", self.name)
        return row is not None

    def status(self, head: int) -> dict[str, Any]:
        position = self.position()
        return {"name": self.name, "position": position, "head": head, "lag": max(0, head - position),
                "error": self.last_error}


class PolicyLoop:
    """Drives policy runners in one thread: woken by saves in this process, polling otherwise."""

    def __init__(self, runners: list[PolicyRunner], ledger: Ledger, poll_seconds: float) -> None:
        self.runners = runners
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listeners: list[Callable[[], None]] = []
        ledger.on_saved(lambda _position: self._wake.set())

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="policies", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def run_once(self) -> int:
        return sum(runner.run_once() for runner in self.runners)

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                handled = self.run_once()
                failures = 0
                for runner in self.runners:
                    runner.last_error = None
            except Exception as exc:  # store away or a bug: retry with backoff, never skip
                failures += 1
                for runner in self.runners:
                    runner.last_error = f"{type(exc).__name__}: {exc}"
                if failures == 1:
                    log.exception("policies failed; retrying")
                self._stop.wait(min(5.0, 0.1 * 2**failures))
                continue
            if handled:
                for listener in self.listeners:
                    listener()
                continue
            self._wake.wait(self.poll_seconds)
