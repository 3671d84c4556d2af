"""The library's PostgreSQL recorder, with one workaround for large transactions.

`eventsourcing` 9.5.6 inserts a transaction's events as one array parameter inside a
psycopg pipeline. With a multi-megabyte array (a partner code import: ~23 MB for
1,000,000 codes in one transaction) the pipeline deadlocks: the server waits in
ClientRead, the client in Pipeline.sync (a psycopg pipeline flush issue). Above a
size threshold this recorder runs the very same statements — table lock, NOTIFY,
insert, RETURNING notification ids — without pipeline mode. Small saves keep the
library's path unchanged. (The module name contains "postgres": `Ledger` tells the
dialect from its recorder's module.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry

PIPELINE_MAX_BYTES = 512 * 1024


class LargeSafePostgresRecorder(PostgresApplicationRecorder):
    """Inserts transactions over PIPELINE_MAX_BYTES of event state without pipeline mode."""

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any
                      ) -> Sequence[int] | None:
        if sum(len(e.state) for e in stored_events) <= PIPELINE_MAX_BYTES:
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
