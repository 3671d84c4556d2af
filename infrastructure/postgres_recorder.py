"""The library's PostgreSQL recorder, with a workaround for large transactions and short retries.

Large transactions: `eventsourcing` 9.5.6 inserts a transaction's events as one array
parameter inside a psycopg pipeline. With a multi-megabyte array (a partner code import:
~23 MB for 1,000,000 codes in one transaction) the pipeline deadlocks: the server waits in
ClientRead, the client in Pipeline.sync (a psycopg pipeline flush issue). Above a size
threshold this recorder runs the very same statements — table lock, NOTIFY, insert,
RETURNING notification ids — without pipeline mode. Small saves keep the library's path.

Short retries: the library retries every read and insert 10 times on connection errors,
each attempt waiting up to the pool's timeout for a connection. With the database away
that kept a checkout waiting ~50 s (reads) to minutes (saves) for its 503. Here each call
is tried `ATTEMPTS` times (a dropped connection is replaced at once, which covers a
database restart), so a request answers 503 within a few seconds and the client retries
with its Idempotency-Key. (The module name contains "postgres": `Ledger` tells the
dialect from its recorder's module.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry

PIPELINE_MAX_BYTES = 512 * 1024
ATTEMPTS = 3
RETRY_WAIT = 0.2  # seconds between attempts
# How long the pool keeps re-trying one lost connection before it gives the slot up; the
# next request then opens a fresh one at once instead of waiting out a back-off that
# grows to minutes after a long outage.
RECONNECT_TIMEOUT = 10.0

_connection_errors = (InterfaceError, OperationalError)


def _undecorated(method: Any) -> Any:
    """The library's method without its own 10-attempt retry."""
    return getattr(method, "__wrapped__", method)


class LargeSafePostgresRecorder(PostgresApplicationRecorder):
    """Inserts transactions over PIPELINE_MAX_BYTES of event state without pipeline mode;
    retries connection errors ATTEMPTS times instead of the library's 10."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.datastore.pool.reconnect_timeout = RECONNECT_TIMEOUT

    @retry(_connection_errors, max_attempts=ATTEMPTS, wait=RETRY_WAIT)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any
                      ) -> Sequence[int] | None:
        if sum(len(e.state) for e in stored_events) <= PIPELINE_MAX_BYTES:
            insert = _undecorated(PostgresApplicationRecorder.insert_events)
            ids: Sequence[int] | None = insert(self, stored_events, **kwargs)
            return ids
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    @retry(_connection_errors, max_attempts=ATTEMPTS, wait=RETRY_WAIT)
    def select_events(self, originator_id: UUID | str, **kwargs: Any) -> Sequence[StoredEvent]:
        select = _undecorated(PostgresApplicationRecorder.select_events)
        events: Sequence[StoredEvent] = select(self, originator_id, **kwargs)
        return events

    @retry(_connection_errors, max_attempts=ATTEMPTS, wait=RETRY_WAIT)
    def select_notifications(self, *args: Any, **kwargs: Any) -> Any:
        return _undecorated(PostgresApplicationRecorder.select_notifications)(self, *args, **kwargs)

    @retry(_connection_errors, max_attempts=ATTEMPTS, wait=RETRY_WAIT)
    def max_notification_id(self) -> int | None:
        head: int | None = _undecorated(PostgresApplicationRecorder.max_notification_id)(self)
        return head
