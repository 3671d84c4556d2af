"""Prove a read model agrees with the ledger: replay the log from zero and compare row for row."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from application.ledger import Ledger
from infrastructure.database import LibraryDatabase, MemoryDatabase, Tx
from projections.base import Projection

Row = tuple[tuple[str, Any], ...]


@dataclass
class TableDiff:
    table: str
    live_rows: int
    replayed_rows: int
    missing: list[dict[str, Any]] = field(default_factory=list)  # in the replay, not live
    unexpected: list[dict[str, Any]] = field(default_factory=list)  # live, not in the replay


@dataclass
class AuditReport:
    projection: str
    position: int
    tables: list[TableDiff]

    @property
    def ok(self) -> bool:
        return all(not t.missing and not t.unexpected for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {
            "projection": self.projection, "position": self.position, "ok": self.ok,
            "tables": [{"table": t.table, "live_rows": t.live_rows, "replayed_rows": t.replayed_rows,
                        "missing": t.missing[:20], "unexpected": t.unexpected[:20]}
                       for t in self.tables],
        }


def audit_projection(projection: Projection, ledger: Ledger, db: LibraryDatabase, *,
                     merchant_id: str | None = None, batch: int = 1000) -> AuditReport:
    """Snapshot the live model at its position P, replay events 1..P privately, compare.

    With `merchant_id`, only that merchant's rows are compared and reported.
    """
    position, live = _snapshot(projection, db)
    replayed = _replay(type(projection)(), ledger, position, batch)
    diffs = []
    for table in projection.tables:
        live_rows = Counter(r for r in live[table] if _belongs(r, merchant_id))
        replay_rows = Counter(r for r in replayed[table] if _belongs(r, merchant_id))
        diffs.append(TableDiff(
            table, sum(live_rows.values()), sum(replay_rows.values()),
            missing=[dict(r) for r in (replay_rows - live_rows).elements()],
            unexpected=[dict(r) for r in (live_rows - replay_rows).elements()],
        ))
    return AuditReport(projection.name, position, diffs)


def _snapshot(projection: Projection, db: LibraryDatabase) -> tuple[int, dict[str, list[Row]]]:
    with db.transaction() as tx:
        if tx.dialect == "postgres":  # one snapshot for the position and every table
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        row = tx.one("SELECT position FROM projection_tracking WHERE name=?", (projection.name,))
        position = int(row["position"]) if row else 0
        return position, {table: _rows(tx, table) for table in projection.tables}


def _replay(projection: Projection, ledger: Ledger, position: int, batch: int
            ) -> dict[str, list[Row]]:
    memory = MemoryDatabase()
    try:
        with memory.transaction(write=True) as tx:
            projection.create_tables(tx)
            start = 1
            while start <= position:
                notifications = ledger.recorder.select_notifications(start, batch, stop=position)
                if not notifications:
                    break
                for n in notifications:
                    projection.process(ledger.mapper.to_domain_event(n), tx, n.id)
                start = notifications[-1].id + 1
            return {table: _rows(tx, table) for table in projection.tables}
    finally:
        memory.close()


def _rows(tx: Tx, table: str) -> list[Row]:
    rows = tx.query(f"SELECT * FROM {table}")
    return [tuple(sorted((k, _plain(v)) for k, v in row.items())) for row in rows]


def _belongs(row: Row, merchant_id: str | None) -> bool:
    return merchant_id is None or dict(row).get("merchant_id") == merchant_id


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value
