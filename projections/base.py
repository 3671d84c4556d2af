"""What a projection is: tables it owns and handlers that write them, one event at a time."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from infrastructure.database import Tx

Handler = Callable[[Any, Tx, int], None]


class Projection:
    """Subclasses name their tables and map event classes to handlers(event, tx, position)."""

    name: ClassVar[str]
    # Bump when the tables change shape: setup then drops them and replays the log into new ones.
    version: ClassVar[int] = 1
    tables: ClassVar[dict[str, str]]  # table name -> column definitions
    indexes: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self._handlers = self.handlers()

    def handlers(self) -> dict[type, Handler]:
        raise NotImplementedError

    def create_tables(self, tx: Tx) -> None:
        for table, columns in self.tables.items():
            tx.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        for index in self.indexes:
            tx.execute(index)

    def drop_tables(self, tx: Tx) -> None:
        for table in self.tables:
            tx.execute(f"DROP TABLE IF EXISTS {table}")

    def clear(self, tx: Tx) -> None:
        for table in self.tables:
            tx.execute(f"DELETE FROM {table}")

    def process(self, event: Any, tx: Tx, position: int) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event, tx, position)


def dumps(value: Any) -> str:
    """Deterministic JSON for read-model columns (audits compare them as text)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
