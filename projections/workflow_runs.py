"""Workflows and their runs (D2): what is configured, and what each firing did."""

from __future__ import annotations

from typing import Any

from domain.clock import iso
from domain.workflow import WorkflowBook, WorkflowRun
from infrastructure.database import Tx
from projections.base import Handler, Projection, dumps


class WorkflowRuns(Projection):
    name = "workflow_runs"
    tables = {
        "workflows": (
            "merchant_id TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL, trigger_type TEXT NOT NULL, "
            "status TEXT NOT NULL, revision BIGINT NOT NULL, definition TEXT NOT NULL, "
            "defined_at TEXT NOT NULL, updated_at TEXT NOT NULL, book_id TEXT NOT NULL, "
            "PRIMARY KEY (merchant_id, key)"
        ),
        "workflow_runs": (
            "merchant_id TEXT NOT NULL, run_id TEXT NOT NULL, workflow_key TEXT NOT NULL, "
            "revision BIGINT NOT NULL, customer_id TEXT NOT NULL, trigger_ref TEXT NOT NULL, "
            "trigger_type TEXT NOT NULL, effects_ok BIGINT NOT NULL, effects_refused BIGINT NOT NULL, "
            "results TEXT NOT NULL, position BIGINT NOT NULL, ran_at TEXT NOT NULL, "
            "PRIMARY KEY (merchant_id, run_id)"
        ),
    }
    indexes = ("CREATE INDEX IF NOT EXISTS workflow_runs_by_workflow "
               "ON workflow_runs (merchant_id, workflow_key, position)",)

    def handlers(self) -> dict[type, Handler]:
        return {
            WorkflowBook.Defined: self._defined,
            WorkflowBook.Paused: lambda e, tx, _: self._status(tx, e, "paused"),
            WorkflowBook.Resumed: lambda e, tx, _: self._status(tx, e, "active"),
            WorkflowRun.Completed: self._ran,
        }

    def _defined(self, e: WorkflowBook.Defined, tx: Tx, _: int) -> None:
        book_id, at = str(e.originator_id), iso(e.timestamp)
        d = e.definition
        updated = tx.one("UPDATE workflows SET name=?, trigger_type=?, revision=revision+1, definition=?, "
                         "updated_at=? WHERE book_id=? AND key=? RETURNING key",
                         (d["name"], d["trigger"]["type"], dumps(d), at, book_id, e.key))
        if updated is None:
            tx.execute("INSERT INTO workflows VALUES (?,?,?,?,'active',1,?,?,?,?)",
                       (e.merchant_id, e.key, d["name"], d["trigger"]["type"], dumps(d), at, at, book_id))

    def _status(self, tx: Tx, e: Any, status: str) -> None:
        tx.execute("UPDATE workflows SET status=?, updated_at=? WHERE book_id=? AND key=?",
                   (status, iso(e.timestamp), str(e.originator_id), e.key))

    def _ran(self, e: WorkflowRun.Completed, tx: Tx, position: int) -> None:
        ok = sum(1 for r in e.results if r.get("ok"))
        tx.execute("INSERT INTO workflow_runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   (e.merchant_id, str(e.originator_id), e.workflow_key, e.revision, e.customer_id,
                    e.trigger_ref, e.trigger.get("type", ""), ok, len(e.results) - ok, dumps(e.results),
                    position, iso(e.timestamp)))
