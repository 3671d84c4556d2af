"""Manual distribution (D1): batches of unassigned codes exported to a marketing system.

A `DistributionBatch` records which codes went out in one export; each exported code also
gets a tiny `DistributedCode` claim, created in the same transaction, whose ID derives from
the code — so the store refuses to export a code twice, across batches and processes.
"""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput
from domain.ids import derive_id

BATCH_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_EXPORT = 10_000


def check_batch(batch: str) -> str:
    if not isinstance(batch, str) or not BATCH_PATTERN.fullmatch(batch):
        raise InvalidInput("batch: 1-64 of A-Z a-z 0-9 _ . : -", code="invalid_batch")
    return batch


class DistributionBatch(Aggregate):
    """One export of a campaign's unassigned codes, for an external system."""

    class Exported(Aggregate.Created):
        merchant_id: str
        campaign_id: UUID
        campaign_key: str
        batch: str
        codes: list[str]
        requested: int
        by: str

        def apply(self, batch: DistributionBatch) -> None:
            batch.merchant_id, batch.campaign_key, batch.codes = self.merchant_id, self.campaign_key, \
                list(self.codes)

    def __init__(self) -> None:
        self.merchant_id = ""
        self.campaign_key = ""
        self.codes: list[str] = []

    @staticmethod
    def id_for(merchant_id: str, campaign_key: str, batch: str) -> UUID:
        return derive_id(merchant_id, "distribution-batch", f"{campaign_key}/{batch}")

    @classmethod
    def export(cls, merchant_id: str, campaign_id: UUID, campaign_key: str, batch: str,
               codes: list[str], requested: int, by: str, at: datetime) -> DistributionBatch:
        return cls._create(cls.Exported, id=cls.id_for(merchant_id, campaign_key, check_batch(batch)),
                           merchant_id=merchant_id, campaign_id=campaign_id, campaign_key=campaign_key,
                           batch=batch, codes=codes, requested=requested, by=by, timestamp=at)


class DistributedCode(Aggregate):
    """The claim that a code went out in a batch (created once per code, ever)."""

    class Claimed(Aggregate.Created):
        merchant_id: str
        code: str
        batch_id: UUID

    @staticmethod
    def id_for(merchant_id: str, code: str) -> UUID:
        return derive_id(merchant_id, "distributed-code", code)

    @classmethod
    def claim(cls, merchant_id: str, code: str, batch_id: UUID, at: datetime) -> DistributedCode:
        return cls._create(cls.Claimed, id=cls.id_for(merchant_id, code), merchant_id=merchant_id,
                           code=code, batch_id=batch_id, timestamp=at)
