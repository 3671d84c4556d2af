"""The fraud detectors' working memory: observations per detector x subject, on the store's database.

Not a read model: the fraud policy writes it as it reads events, keyed by the observed event,
so re-reading an event (after a crash, or by a second runner) changes nothing. Rows older than
the longest window are pruned; a flag, once raised, is an event and needs none of them.
"""

from __future__ import annotations

from datetime import datetime

from application.fraud import Observation
from domain.clock import iso
from infrastructure.database import LibraryDatabase

DDL = (
    "CREATE TABLE IF NOT EXISTS fraud_observations ("
    "merchant_id TEXT NOT NULL, detector TEXT NOT NULL, subject TEXT NOT NULL, item TEXT NOT NULL, "
    "at TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY (merchant_id, detector, subject, ref))",
    "CREATE INDEX IF NOT EXISTS fraud_observations_at ON fraud_observations (at)",
)
EVIDENCE = 50


class SqlObservationStore:
    def __init__(self, db: LibraryDatabase) -> None:
        self.db = db

    def setup(self) -> None:
        with self.db.transaction(write=True) as tx:
            for statement in DDL:
                tx.execute(statement)

    def observe(self, o: Observation, since: datetime) -> tuple[int, list[str]]:
        key = (o.merchant_id, o.detector, o.subject, iso(since), iso(o.at))
        where = "merchant_id=? AND detector=? AND subject=? AND at > ? AND at <= ?"
        with self.db.transaction(write=True) as tx:
            tx.execute("INSERT INTO fraud_observations VALUES (?,?,?,?,?,?) "
                       "ON CONFLICT (merchant_id, detector, subject, ref) DO NOTHING",
                       (o.merchant_id, o.detector, o.subject, o.item, iso(o.at), o.ref))
            row = tx.one(f"SELECT COUNT(DISTINCT item) AS n FROM fraud_observations WHERE {where}", key)
            refs = tx.query(f"SELECT ref FROM fraud_observations WHERE {where} ORDER BY at, ref LIMIT ?",
                            (*key, EVIDENCE))
        return (int(row["n"]) if row else 0), [r["ref"] for r in refs]

    def prune(self, before: datetime) -> None:
        with self.db.transaction(write=True) as tx:
            tx.execute("DELETE FROM fraud_observations WHERE at < ?", (iso(before),))
