"""Which of a campaign's codes are still unassigned and never exported (D1), and the exports."""

from __future__ import annotations

from domain.clock import iso
from domain.distribution import DistributedCode, DistributionBatch
from domain.voucher import Voucher
from infrastructure.database import Tx
from projections.base import Handler, Projection


class Distribution(Projection):
    name = "distribution"
    tables = {
        "distribution_codes": (
            "merchant_id TEXT NOT NULL, code TEXT NOT NULL, campaign_id TEXT NOT NULL, "
            "voucher_id TEXT NOT NULL, seq BIGINT NOT NULL, state TEXT NOT NULL, batch_id TEXT, "
            "PRIMARY KEY (merchant_id, code)"
        ),
        "distribution_batches": (
            "merchant_id TEXT NOT NULL, batch_id TEXT NOT NULL PRIMARY KEY, campaign_key TEXT NOT NULL, "
            "batch TEXT NOT NULL, count BIGINT NOT NULL, requested BIGINT NOT NULL, by_ref TEXT NOT NULL, "
            "exported_at TEXT NOT NULL"
        ),
    }
    # Export candidates: a campaign's open codes, oldest first.
    indexes = ("CREATE INDEX IF NOT EXISTS distribution_codes_open "
               "ON distribution_codes (merchant_id, campaign_id, state, seq)",
               "CREATE INDEX IF NOT EXISTS distribution_codes_voucher ON distribution_codes (voucher_id)")

    def handlers(self) -> dict[type, Handler]:
        return {
            Voucher.Issued: self._issued,
            Voucher.Assigned: lambda e, tx, _: self._state(tx, e, "assigned"),
            Voucher.Redeemed: lambda e, tx, _: self._state(tx, e, "redeemed"),
            DistributedCode.Claimed: self._claimed,
            DistributionBatch.Exported: self._exported,
        }

    def _issued(self, e: Voucher.Issued, tx: Tx, position: int) -> None:
        tx.execute("INSERT INTO distribution_codes VALUES (?,?,?,?,?,?,NULL)",
                   (e.merchant_id, e.code, str(e.campaign_id), str(e.originator_id), position,
                    "open" if e.holder is None else "assigned"))

    @staticmethod
    def _state(tx: Tx, e: Voucher.Assigned | Voucher.Redeemed, state: str) -> None:
        # only open or distributed codes move: a redeemed code stays redeemed
        tx.execute("UPDATE distribution_codes SET state=? WHERE voucher_id=? "
                   "AND state IN ('open', 'distributed')", (state, str(e.originator_id)))

    def _claimed(self, e: DistributedCode.Claimed, tx: Tx, _: int) -> None:
        tx.execute("UPDATE distribution_codes SET state='distributed', batch_id=? "
                   "WHERE merchant_id=? AND code=? AND state='open'",
                   (str(e.batch_id), e.merchant_id, e.code))

    def _exported(self, e: DistributionBatch.Exported, tx: Tx, _: int) -> None:
        tx.execute("INSERT INTO distribution_batches VALUES (?,?,?,?,?,?,?,?)",
                   (e.merchant_id, str(e.originator_id), e.campaign_key, e.batch, len(e.codes), e.requested,
                    e.by, iso(e.timestamp)))
