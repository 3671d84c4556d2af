"""Plain SQL on the event store's own database, for read models and tracking.

Read models live in the same database as the events, on the connections of the
`eventsourcing` datastore, so a projection's rows and its tracking position commit
in one transaction. SQL is written once with `?` placeholders and portable types
(TEXT, BIGINT) and runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

Row = dict[str, Any]


class Tx:
    """One transaction: execute statements, fetch rows as dicts."""

    def __init__(self, cursor: Any, dialect: str) -> None:
        self._cursor = cursor
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._sql(sql), tuple(params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.execute(sql, params)
        return [dict(row) for row in self._cursor.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(self._sql(sql), [tuple(r) for r in rows])

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgres":
            return _pg_sql(sql)
        return sql


_PG_CACHE: dict[str, str] = {}


def _pg_sql(sql: str) -> str:
    converted = _PG_CACHE.get(sql)
    if converted is None:
        converted = sql.replace("%", "%%").replace("?", "%s")
        _PG_CACHE[sql] = converted
    return converted


class Database(Protocol):
    dialect: str

    def transaction(self, *, write: bool = False) -> Any: ...


class LibraryDatabase:
    """Transactions on the `eventsourcing` datastore's pool (SQLite file or PostgreSQL)."""

    def __init__(self, datastore: Any, dialect: str) -> None:
        self._datastore = datastore
        self.dialect = dialect

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Tx]:
        if self.dialect == "postgres":
            with self._datastore.get_connection() as conn, conn.transaction():
                yield Tx(conn.cursor(), self.dialect)
            return
        # SQLite: the pool's writer lock serialises writers in this process; BEGIN
        # IMMEDIATE takes the file's write lock up front, so a transaction that reads
        # first never fails to upgrade when another process wrote in between.
        with self._datastore.get_connection(commit=write) as conn:
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield Tx(cursor, self.dialect)
            except BaseException:
                conn.rollback()
                raise
            if write:
                conn.commit()
            else:
                conn.rollback()


class MemoryDatabase:
    """A private in-memory SQLite database: where audits replay projections from zero."""

    dialect = "sqlite"

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Tx]:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute("BEGIN")
            try:
                yield Tx(cursor, self.dialect)
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    def close(self) -> None:
        self._conn.close()
