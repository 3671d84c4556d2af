"""One projection over the event log, with exactly-once tracking.

A batch of events is applied and the projection's tracking position advanced in
one transaction; the position update is conditional on the position the batch
started from, so a second runner (or a rebuild) can never apply a batch twice.
The hub drives all runners from one polling loop; this class is also used alone
by the CLI to rebuild or catch up one read model.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from application.ledger import Ledger
from infrastructure.database import LibraryDatabase, Tx
from projections.base import Projection

TRACKING_DDL = ("CREATE TABLE IF NOT EXISTS projection_tracking "
                "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
VERSIONS_DDL = ("CREATE TABLE IF NOT EXISTS projection_versions "
                "(name TEXT PRIMARY KEY, version BIGINT NOT NULL)")


class TrackingMoved(Exception):
    """Another runner or a rebuild moved the position since this batch began."""


class ProjectionRunner:
    """One projection's loop: read a batch after its position, apply, advance, commit."""

    def __init__(self, projection: Projection, ledger: Ledger, db: LibraryDatabase, *,
                 batch_size: int = 500, poll_seconds: float = 0.05) -> None:
        self.projection = projection
        self.ledger = ledger
        self.db = db
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._advanced = threading.Condition()
        self._position = 0
        self.driven = False
        self.last_error: str | None = None

    @property
    def name(self) -> str:
        return self.projection.name

    def setup(self) -> None:
        """Create the tables; if they were made by another version of the projection, start over."""
        with self.db.transaction(write=True) as tx:
            tx.execute(TRACKING_DDL)
            tx.execute(VERSIONS_DDL)
            row = tx.one("SELECT version FROM projection_versions WHERE name=?", (self.name,))
            if row is not None and int(row["version"]) != self.projection.version:
                self.projection.drop_tables(tx)  # the hub replays the log into the new shape
                tx.execute("UPDATE projection_tracking SET position=0 WHERE name=?", (self.name,))
            self.projection.create_tables(tx)
            tx.execute("INSERT INTO projection_tracking (name, position) VALUES (?, 0) "
                       "ON CONFLICT (name) DO NOTHING", (self.name,))
            tx.execute("INSERT INTO projection_versions (name, version) VALUES (?, ?) ON CONFLICT (name) "
                       "DO UPDATE SET version=excluded.version", (self.name, self.projection.version))
        self._position = self.stored_position()

    def stored_position(self) -> int:
        with self.db.transaction() as tx:
            row = tx.one("SELECT position FROM projection_tracking WHERE name=?", (self.name,))
        return int(row["position"]) if row else 0

    def run_once(self) -> int:
        """Apply the next batch; return how many notifications it held (0 = caught up)."""
        start = self.stored_position()
        self.advance_to(start)
        notifications = self.ledger.recorder.select_notifications(start + 1, self.batch_size)
        if not notifications:
            return 0
        end = notifications[-1].id
        with self.db.transaction(write=True) as tx:
            self.claim(tx, start)
            for notification in notifications:
                event = self.ledger.mapper.to_domain_event(notification)
                self.projection.process(event, tx, notification.id)
            self.move_tracking(tx, start, end)
        self.advance_to(end)
        return len(notifications)

    def catch_up(self) -> int:
        """Apply batches until the log is exhausted; return the final position."""
        while self.run_once():
            pass
        return self._position

    def rebuild(self) -> int:
        """Drop the read model's rows and replay the whole log into it."""
        with self.db.transaction(write=True) as tx:
            self.projection.create_tables(tx)
            self.projection.clear(tx)
            tx.execute("UPDATE projection_tracking SET position=0 WHERE name=?", (self.name,))
        self._position = 0
        return self.catch_up()

    def claim(self, tx: Tx, start: int) -> None:
        """Lock the tracking row for this transaction; TrackingMoved if it is not at `start`.

        Checked before any row is written, so a runner that lost a race backs off
        cleanly instead of colliding with rows the winner inserted.
        """
        lock = " FOR UPDATE" if tx.dialect == "postgres" else ""  # SQLite: BEGIN IMMEDIATE
        row = tx.one(f"SELECT position FROM projection_tracking WHERE name=?{lock}", (self.name,))
        if row is None or int(row["position"]) != start:
            raise TrackingMoved(self.name)

    def move_tracking(self, tx: Tx, start: int, end: int) -> None:
        row = tx.one("UPDATE projection_tracking SET position=? WHERE name=? AND position=? "
                     "RETURNING position", (end, self.name, start))
        if row is None:
            raise TrackingMoved(self.name)

    def advance_to(self, position: int) -> None:
        with self._advanced:
            self._position = position
            self._advanced.notify_all()

    @property
    def running(self) -> bool:
        """Whether a loop in this process is applying events to this projection."""
        return self.driven

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until this read model includes `position`; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._advanced:
            if not self.running:  # a runner elsewhere does the work: look at the table
                self._position = max(self._position, self.stored_position())
            while self._position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._advanced.wait(min(remaining, 0.05))
                if not self.running:  # a runner elsewhere does the work: look at the table
                    self._position = max(self._position, self.stored_position())
        return True

    def status(self, head: int) -> dict[str, Any]:
        position = self.stored_position()
        return {"name": self.name, "position": position, "head": head,
                "lag": max(0, head - position), "running": self.running, "error": self.last_error}
