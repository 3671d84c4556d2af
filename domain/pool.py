"""Partner code pools (P1-P6): a brand's own codes, each sold to exactly one order line, ever.

Aggregates, smallest stream first:
  * `CodePool` — one per campaign (voucher product): the declared code format, the
    low-stock threshold, and every accepted import batch (count, content hash, uploader,
    file). Imports serialise on it; sales never write it (except the one that observes
    the stock crossing below the threshold), so it is not a hot stream.
  * `CodeBatch` — one accepted file: a header event, then the codes in chunks of a few
    thousand per event. Its stream is the provenance of every code (B8); nothing loads it
    on a hot path, and a 1,000,000-code import is ~200 events, not 1,000,000.
  * `PartnerCode` — one per code, created only when the code's fate is decided (sold or
    returned); its ID is derived from (pool, code), so the store's uniqueness lets a code
    be claimed once. A partner's redemption report then moves a sold code to redeemed.
  * `InternalCode` — our own code for a sold partner code (P3). Its ID lives in the
    same namespace as `Voucher` IDs, so it can never collide with any other code of the
    merchant, generated, explicit or internal.
  * `PoolSale` — one order line's purchase; its ID is derived from (order, line), so a
    retried order finds it and gets the same codes back.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, InvalidTransition
from domain.ids import derive_id
from domain.voucher import Voucher

ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
CHARSET_PATTERN = re.compile(r"^[A-Za-z0-9_.:/+=-]{2,100}$")  # no comma, quote, blank: CSV-safe
MAX_CODE_LENGTH = 128
CHUNK_SIZE = 5_000  # codes per CodeBatch event: ~115 KB of JSON for 20-character codes
MAX_SALE_QUANTITY = 100


class CodeStatus:
    """Where a partner code stands; the pool's generated-code counterpart is "open"."""

    AVAILABLE = "available"
    SOLD = "sold"
    REDEEMED = "redeemed"
    RETURNED = "returned"


@dataclass(frozen=True)
class PoolFormat:
    """What a partner's codes look like: a length range and the characters allowed."""

    min_length: int = 20
    max_length: int = 20
    charset: str = ALPHANUMERIC

    def validate(self) -> PoolFormat:
        for name in ("min_length", "max_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CODE_LENGTH:
                raise InvalidInput(f"{name} must be 1..{MAX_CODE_LENGTH}", code="invalid_pool_format")
        if self.min_length > self.max_length:
            raise InvalidInput("min_length exceeds max_length", code="invalid_pool_format")
        if not CHARSET_PATTERN.fullmatch(self.charset) or len(set(self.charset)) != len(self.charset):
            raise InvalidInput("charset: 2-100 distinct characters of A-Z a-z 0-9 _ . : / + = -",
                               code="invalid_pool_format")
        return self

    def checker(self) -> re.Pattern[str]:
        """A compiled test for the charset (one regex call per line on 1,000,000-line files)."""
        return re.compile(f"[{re.escape(self.charset)}]+")

    def problem(self, code: str, charset: re.Pattern[str] | None = None) -> str | None:
        """Why `code` does not fit the format (a stable reason), or None."""
        if len(code) < self.min_length:
            return "too_short"
        if len(code) > self.max_length:
            return "too_long"
        if not (charset or self.checker()).fullmatch(code):
            return "invalid_characters"
        return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PoolFormat:
        try:
            return cls(**data).validate()
        except TypeError as exc:
            raise InvalidInput(f"bad pool format: {exc}", code="invalid_pool_format") from None


@dataclass(frozen=True)
class BatchInfo:
    """An accepted import, as the pool remembers it."""

    batch_id: UUID
    content_hash: str
    filename: str
    by: str
    count: int
    rejected: int
    first_seq: int
    at: datetime


class CodePool(Aggregate):
    """A campaign's partner codes: format, threshold and the batches they came in."""

    class Created(Aggregate.Created):
        merchant_id: str
        campaign_id: UUID
        campaign_key: str
        format: dict[str, Any]
        low_stock_threshold: int
        by: str

        def apply(self, pool: CodePool) -> None:
            pool.merchant_id = self.merchant_id
            pool.campaign_id = self.campaign_id
            pool.campaign_key = self.campaign_key
            pool.format = PoolFormat(**self.format)
            pool.low_stock_threshold = self.low_stock_threshold

    class BatchImported(Aggregate.Event):
        batch_id: UUID
        content_hash: str
        filename: str
        by: str
        count: int
        rejected: int
        first_seq: int
        remaining_after: int
        low_stock_cleared: bool

        def apply(self, pool: CodePool) -> None:
            pool.batches[self.content_hash] = BatchInfo(
                self.batch_id, self.content_hash, self.filename, self.by, self.count,
                self.rejected, self.first_seq, self.timestamp)
            pool.total_codes += self.count
            if self.low_stock_cleared:
                pool.low_stock = False

    class LowStock(Aggregate.Event):
        remaining: int
        threshold: int

        def apply(self, pool: CodePool) -> None:
            pool.low_stock = True

    def __init__(self) -> None:
        self.merchant_id = ""
        self.campaign_id: UUID
        self.campaign_key = ""
        self.format = PoolFormat()
        self.low_stock_threshold = 0
        self.low_stock = False
        self.total_codes = 0
        self.batches: dict[str, BatchInfo] = {}

    @staticmethod
    def id_for(merchant_id: str, campaign_key: str) -> UUID:
        return derive_id(merchant_id, "code_pool", campaign_key)

    @classmethod
    def create(cls, merchant_id: str, campaign_id: UUID, campaign_key: str, fmt: PoolFormat,
               low_stock_threshold: int, by: str, at: datetime) -> CodePool:
        """A pool for a campaign's partner codes; one per campaign."""
        _check_threshold(low_stock_threshold)
        return cls._create(cls.Created, id=cls.id_for(merchant_id, campaign_key),
                           merchant_id=merchant_id, campaign_id=campaign_id,
                           campaign_key=campaign_key, format=fmt.validate().to_dict(),
                           low_stock_threshold=low_stock_threshold, by=by, timestamp=at)

    def record_batch(self, batch: CodeBatch, filename: str, by: str, remaining_before: int,
                     at: datetime) -> None:
        """Accept an imported batch; a refill back to the threshold re-arms the low-stock alert."""
        if batch.content_hash in self.batches:
            raise InvalidTransition("this file was imported already", code="batch_already_imported")
        remaining_after = remaining_before + batch.count
        cleared = self.low_stock and remaining_after >= self.low_stock_threshold
        self.trigger_event(self.BatchImported, batch_id=batch.id, content_hash=batch.content_hash,
                           filename=filename, by=by, count=batch.count, rejected=batch.rejected,
                           first_seq=batch.first_seq, remaining_after=remaining_after,
                           low_stock_cleared=cleared, timestamp=at)

    def needs_low_stock_alert(self, remaining: int) -> bool:
        return not self.low_stock and self.low_stock_threshold > 0 and remaining < self.low_stock_threshold

    def record_low_stock(self, remaining: int, at: datetime) -> None:
        """Raise the alert once; it stays raised until a refill brings stock back above."""
        if self.needs_low_stock_alert(remaining):
            self.trigger_event(self.LowStock, remaining=max(0, remaining),
                               threshold=self.low_stock_threshold, timestamp=at)


def _check_threshold(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**12:
        raise InvalidInput("low_stock_threshold must be 0..10^12 (0 = no alert)",
                           code="invalid_threshold")


class CodeBatch(Aggregate):
    """One accepted file: its header, then its codes in chunks, in file order."""

    class Opened(Aggregate.Created):
        merchant_id: str
        pool_id: UUID
        content_hash: str
        filename: str
        by: str
        count: int
        rejected: int
        first_seq: int
        errors: list[dict[str, Any]]  # the rejected lines (capped), for the audit trail

        def apply(self, batch: CodeBatch) -> None:
            batch.pool_id = self.pool_id
            batch.content_hash = self.content_hash
            batch.count = self.count
            batch.rejected = self.rejected
            batch.first_seq = self.first_seq
            batch.errors = self.errors

    class CodesAdded(Aggregate.Event):
        merchant_id: str
        pool_id: UUID
        first_seq: int
        codes: list[str]

        def apply(self, batch: CodeBatch) -> None:
            batch.added += len(self.codes)

    def __init__(self) -> None:
        self.pool_id: UUID
        self.content_hash = ""
        self.count = 0
        self.rejected = 0
        self.first_seq = 0
        self.errors: list[dict[str, Any]] = []
        self.added = 0

    @staticmethod
    def id_for(merchant_id: str, pool_id: UUID, content_hash: str) -> UUID:
        return derive_id(merchant_id, "code_batch", f"{pool_id}/{content_hash}")

    @classmethod
    def import_codes(cls, pool: CodePool, content_hash: str, filename: str, by: str,
                     codes: list[str], errors: list[dict[str, Any]], rejected: int,
                     at: datetime) -> CodeBatch:
        """A batch holding `codes` (already validated), numbered after the pool's last code."""
        if not codes:
            raise InvalidInput("the file holds no valid code", code="no_valid_codes")
        batch = cls._create(cls.Opened, id=cls.id_for(pool.merchant_id, pool.id, content_hash),
                            merchant_id=pool.merchant_id, pool_id=pool.id,
                            content_hash=content_hash, filename=filename, by=by, count=len(codes),
                            rejected=rejected, first_seq=pool.total_codes, errors=errors,
                            timestamp=at)
        for start in range(0, len(codes), CHUNK_SIZE):
            batch.trigger_event(cls.CodesAdded, merchant_id=pool.merchant_id, pool_id=pool.id,
                                first_seq=pool.total_codes + start,
                                codes=codes[start:start + CHUNK_SIZE], timestamp=at)
        return batch


class PartnerCode(Aggregate):
    """One partner code whose fate is decided: sold (then perhaps redeemed) or returned."""

    class Sold(Aggregate.Created):
        merchant_id: str
        pool_id: UUID
        campaign_id: UUID
        code: str
        seq: int
        sale_id: UUID
        order_id: str
        line_id: str
        customer_id: str | None
        internal_code: str

        def apply(self, code: PartnerCode) -> None:
            code.merchant_id = self.merchant_id
            code.pool_id = self.pool_id
            code.campaign_id = self.campaign_id
            code.code = self.code
            code.status = CodeStatus.SOLD
            code.sale_id = self.sale_id
            code.order_id = self.order_id
            code.customer_id = self.customer_id
            code.internal_code = self.internal_code

    class Returned(Aggregate.Created):
        merchant_id: str
        pool_id: UUID
        campaign_id: UUID
        code: str
        reason: str
        by: str

        def apply(self, code: PartnerCode) -> None:
            code.merchant_id = self.merchant_id
            code.pool_id = self.pool_id
            code.campaign_id = self.campaign_id
            code.code = self.code
            code.status = CodeStatus.RETURNED

    class Redeemed(Aggregate.Event):
        pool_id: UUID
        code: str
        report: str
        by: str

        def apply(self, code: PartnerCode) -> None:
            code.status = CodeStatus.REDEEMED

    def __init__(self) -> None:
        self.merchant_id = ""
        self.pool_id: UUID
        self.campaign_id: UUID
        self.code = ""
        self.status = CodeStatus.AVAILABLE
        self.sale_id: UUID | None = None
        self.order_id: str | None = None
        self.customer_id: str | None = None
        self.internal_code: str | None = None

    @staticmethod
    def id_for(merchant_id: str, pool_id: UUID, code: str) -> UUID:
        return derive_id(merchant_id, "partner_code", f"{pool_id}/{code}")

    @classmethod
    def sell(cls, pool: CodePool, code: str, seq: int, sale_id: UUID, order_id: str, line_id: str,
             customer_id: str | None, internal_code: str, at: datetime) -> PartnerCode:
        """Claim an available code for an order line; a second claim cannot be stored."""
        return cls._create(cls.Sold, id=cls.id_for(pool.merchant_id, pool.id, code),
                           merchant_id=pool.merchant_id, pool_id=pool.id,
                           campaign_id=pool.campaign_id, code=code, seq=seq, sale_id=sale_id,
                           order_id=order_id, line_id=line_id, customer_id=customer_id,
                           internal_code=internal_code, timestamp=at)

    @classmethod
    def give_back(cls, pool: CodePool, code: str, reason: str, by: str, at: datetime) -> PartnerCode:
        """Return an unsold code to the partner: it can never be sold afterwards."""
        return cls._create(cls.Returned, id=cls.id_for(pool.merchant_id, pool.id, code),
                           merchant_id=pool.merchant_id, pool_id=pool.id,
                           campaign_id=pool.campaign_id, code=code, reason=reason, by=by,
                           timestamp=at)

    def redeem(self, report: str, by: str, at: datetime) -> None:
        """The partner's store redeemed the code (reported by the partner)."""
        if self.status != CodeStatus.SOLD:
            raise InvalidTransition(f"the code is {self.status}", code=f"code_{self.status}")
        self.trigger_event(self.Redeemed, pool_id=self.pool_id, code=self.code, report=report, by=by,
                           timestamp=at)


class InternalCode(Aggregate):
    """Our code for a sold partner code; its ID shares the namespace of every voucher code."""

    class Issued(Aggregate.Created):
        merchant_id: str
        code: str
        partner_code_id: UUID
        partner_code: str
        pool_id: UUID
        campaign_id: UUID
        sale_id: UUID

        def apply(self, internal: InternalCode) -> None:
            internal.merchant_id = self.merchant_id
            internal.code = self.code
            internal.partner_code_id = self.partner_code_id
            internal.pool_id = self.pool_id

    def __init__(self) -> None:
        self.merchant_id = ""
        self.code = ""
        self.partner_code_id: UUID
        self.pool_id: UUID

    @staticmethod
    def id_for(merchant_id: str, code: str) -> UUID:
        return Voucher.id_for(merchant_id, code)

    @classmethod
    def issue(cls, partner: PartnerCode, code: str, at: datetime) -> InternalCode:
        assert partner.sale_id is not None
        return cls._create(cls.Issued, id=cls.id_for(partner.merchant_id, code),
                           merchant_id=partner.merchant_id, code=code, partner_code_id=partner.id,
                           partner_code=partner.code, pool_id=partner.pool_id,
                           campaign_id=partner.campaign_id, sale_id=partner.sale_id, timestamp=at)


class PoolSale(Aggregate):
    """The codes one order line bought; found again when the order is retried."""

    class Made(Aggregate.Created):
        merchant_id: str
        pool_id: UUID
        campaign_id: UUID
        campaign_key: str
        order_id: str
        line_id: str
        customer_id: str | None
        quantity: int
        codes: list[dict[str, str]]  # [{"partner_code": ..., "internal_code": ...}]
        by: str

        def apply(self, sale: PoolSale) -> None:
            sale.pool_id = self.pool_id
            sale.campaign_key = self.campaign_key
            sale.order_id = self.order_id
            sale.line_id = self.line_id
            sale.customer_id = self.customer_id
            sale.quantity = self.quantity
            sale.codes = [dict(c) for c in self.codes]

    def __init__(self) -> None:
        self.pool_id: UUID
        self.campaign_key = ""
        self.order_id = ""
        self.line_id = ""
        self.customer_id: str | None = None
        self.quantity = 0
        self.codes: list[dict[str, str]] = []

    @staticmethod
    def id_for(merchant_id: str, order_id: str, line_id: str) -> UUID:
        return derive_id(merchant_id, "pool_sale", f"{order_id}\x1f{line_id}")

    @classmethod
    def make(cls, pool: CodePool, order_id: str, line_id: str, customer_id: str | None,
             claims: list[PartnerCode], by: str, at: datetime) -> PoolSale:
        return cls._create(
            cls.Made, id=cls.id_for(pool.merchant_id, order_id, line_id),
            merchant_id=pool.merchant_id, pool_id=pool.id, campaign_id=pool.campaign_id,
            campaign_key=pool.campaign_key, order_id=order_id, line_id=line_id,
            customer_id=customer_id, quantity=len(claims),
            codes=[{"partner_code": c.code, "internal_code": c.internal_code or ""} for c in claims],
            by=by, timestamp=at)

    def same_request(self, pool_id: UUID, customer_id: str | None, quantity: int) -> bool:
        return (self.pool_id, self.customer_id, self.quantity) == (pool_id, customer_id, quantity)
