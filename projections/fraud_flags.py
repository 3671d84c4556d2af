"""Fraud flags (A4) as support and the dashboard list them: open first, newest first."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from domain.clock import iso
from domain.errors import InvalidInput, NotFound
from domain.fraud import FraudFlag
from infrastructure.database import Tx
from projections.base import Handler, Projection, dumps

if TYPE_CHECKING:
    from projections.queries import QueryService


class FraudFlags(Projection):
    name = "fraud_flags"
    tables = {
        "fraud_flags": (
            "merchant_id TEXT NOT NULL, flag_id TEXT NOT NULL PRIMARY KEY, detector TEXT NOT NULL, "
            "subject TEXT NOT NULL, status TEXT NOT NULL, count BIGINT NOT NULL, threshold BIGINT NOT NULL, "
            "window_start TEXT NOT NULL, window_minutes BIGINT NOT NULL, raised_at TEXT NOT NULL, "
            "evidence TEXT NOT NULL, reviewed_by TEXT, review_note TEXT, reviewed_at TEXT, "
            "position BIGINT NOT NULL"
        ),
    }
    indexes = ("CREATE INDEX IF NOT EXISTS fraud_flags_list ON fraud_flags (merchant_id, status, position)",)

    def handlers(self) -> dict[type, Handler]:
        return {FraudFlag.Raised: self._raised, FraudFlag.Reviewed: self._reviewed}

    def _raised(self, e: FraudFlag.Raised, tx: Tx, position: int) -> None:
        tx.execute("INSERT INTO fraud_flags VALUES (?,?,?,?,?,?,?,?,?,?,?,NULL,NULL,NULL,?)",
                   (e.merchant_id, str(e.originator_id), e.detector, e.subject, "open", e.count,
                    e.threshold, iso(e.window_start), e.window_minutes, iso(e.timestamp), dumps(e.evidence),
                    position))

    def _reviewed(self, e: FraudFlag.Reviewed, tx: Tx, _: int) -> None:
        tx.execute("UPDATE fraud_flags SET status=?, reviewed_by=?, review_note=?, reviewed_at=? "
                   "WHERE flag_id=?", (e.decision, e.by, e.note, iso(e.timestamp), str(e.originator_id)))


def _view(row: dict[str, Any]) -> dict[str, Any]:
    review = None
    if row["reviewed_at"] is not None:
        review = {"decision": row["status"], "by": row["reviewed_by"], "note": row["review_note"],
                  "at": row["reviewed_at"]}
    return {"id": row["flag_id"], "detector": row["detector"], "subject": row["subject"],
            "status": row["status"], "count": row["count"], "threshold": row["threshold"],
            "window_start": row["window_start"], "window_minutes": row["window_minutes"],
            "raised_at": row["raised_at"], "evidence": json.loads(row["evidence"]), "review": review,
            "position": row["position"]}


class FraudFlagReader:
    """Flag queries, after waiting (briefly) for the read model to reach `min_position`."""

    def __init__(self, queries: QueryService) -> None:
        self.queries = queries
        self.db = queries.db

    def _await(self, min_position: int | None) -> None:
        self.queries.await_position(min_position, FraudFlags.name)

    def flags(self, merchant_id: str, *, status: str | None, detector: str | None, limit: int,
              before: int | None, min_position: int | None = None) -> dict[str, Any]:
        if status is not None and status not in ("open", "dismissed", "confirmed"):
            raise InvalidInput("status is open, dismissed or confirmed", code="invalid_status")
        self._await(min_position)
        where: list[str] = ["merchant_id=?"]
        params: list[Any] = [merchant_id]
        for column, value in (("status", status), ("detector", detector)):
            if value is not None:
                where.append(f"{column}=?")
                params.append(value)
        if before is not None:
            where.append("position < ?")
            params.append(before)
        with self.db.transaction() as tx:
            rows = tx.query(f"SELECT * FROM fraud_flags WHERE {' AND '.join(where)} "
                            "ORDER BY position DESC LIMIT ?", (*params, limit + 1))
            counts = tx.query("SELECT status, COUNT(*) AS n FROM fraud_flags WHERE merchant_id=? "
                              "GROUP BY status", (merchant_id,))
        more = len(rows) > limit
        items = [_view(r) for r in rows[:limit]]
        return {"items": items, "next_cursor": str(items[-1]["position"]) if more else None,
                "counts": {r["status"]: int(r["n"]) for r in counts}}

    def flag(self, merchant_id: str, flag_id: str, min_position: int | None = None) -> dict[str, Any]:
        self._await(min_position)
        with self.db.transaction() as tx:
            row = tx.one("SELECT * FROM fraud_flags WHERE merchant_id=? AND flag_id=?",
                         (merchant_id, flag_id))
        if row is None:
            raise NotFound("no such fraud flag", code="fraud_flag_not_found")
        return _view(row)
