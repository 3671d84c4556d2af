"""Request and response models of partner code pools (P1-P6, V7)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.pool import ALPHANUMERIC, MAX_CODE_LENGTH, MAX_SALE_QUANTITY
from interfaces.http.schemas import Strict

Id = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")


class PoolFormatIn(Strict):
    min_length: int = Field(20, strict=True, ge=1, le=MAX_CODE_LENGTH)
    max_length: int = Field(20, strict=True, ge=1, le=MAX_CODE_LENGTH)
    charset: str = Field(ALPHANUMERIC, min_length=2, max_length=100,
                         description="every character a code may contain")


class PoolCreate(Strict):
    format: PoolFormatIn = Field(default_factory=lambda: PoolFormatIn.model_validate({}))
    low_stock_threshold: int = Field(0, strict=True, ge=0, le=10**12,
                                     description="LowStock fires once when remaining drops below; 0 = never")


class PoolBatchOut(BaseModel):
    batch_id: str
    content_hash: str
    filename: str
    uploaded_by: str
    count: int
    rejected: int
    first_seq: int
    imported_at: str | None


class PoolOut(BaseModel):
    pool_id: str
    campaign_id: str
    campaign_key: str
    version: int
    format: PoolFormatIn
    low_stock_threshold: int
    low_stock: bool
    total_codes: int
    batches: list[PoolBatchOut]
    created_at: str | None
    position: int | None = None


class StockImportOut(BaseModel):
    batch_id: str
    content_hash: str
    filename: str
    uploaded_by: str
    count: int
    rejected: int
    first_seq: int
    imported_at: str


class PoolStockOut(BaseModel):
    pool_id: str
    campaign_id: str
    campaign_key: str
    uploaded: int
    available: int
    sold: int
    redeemed: int
    returned: int
    batches: int
    low_stock_threshold: int
    low_stock: bool
    low_stock_alerts: int
    low_stock_at: str | None
    updated_at: str
    imports: list[StockImportOut]


class LineError(BaseModel):
    model_config = ConfigDict(extra="allow")  # e.g. first_line, length
    line: int
    reason: str = Field(description="blank, too_short, too_long, invalid_characters, not_utf8, "
                                    "duplicate_in_file, already_in_pool")


class ImportOut(BaseModel):
    pool_id: str
    campaign_key: str
    batch_id: str
    content_hash: str
    filename: str
    uploaded_by: str
    imported_at: str | None
    accepted: int
    rejected: int
    first_seq: int
    already_imported: bool = Field(description="the same file was imported before: nothing changed")
    pool_total: int
    lines: int | None = None
    valid: int | None = None
    rejected_by_reason: dict[str, int] | None = None
    errors: list[LineError] = []
    errors_truncated: bool = False
    header_skipped: bool | None = None
    position: int


class SaleIn(Strict):
    order_id: str = Id
    line_id: str | None = Field(None, min_length=1, max_length=128,
                                description="order line; defaults to the campaign key")
    customer_id: str | None = Field(None, min_length=1, max_length=128)
    quantity: int = Field(1, strict=True, ge=1, le=MAX_SALE_QUANTITY)


class SoldCode(BaseModel):
    partner_code: str = Field(description="the partner's code: what the store scans")
    internal_code: str = Field(description="our reference for it (P3)")
    status: str


class SaleOut(BaseModel):
    sale_id: str
    campaign_key: str
    order_id: str
    line_id: str
    customer_id: str | None
    quantity: int
    codes: list[SoldCode]
    sold_at: str | None
    position: int


Codes = Field(min_length=1, max_length=10_000)


class ReturnIn(Strict):
    codes: list[str] | None = Field(None, min_length=1, max_length=10_000,
                                    description="these unsold codes; or all_unsold")
    all_unsold: bool = False
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_selection(self) -> ReturnIn:
        if self.all_unsold == (self.codes is not None):
            raise ValueError("give either codes or all_unsold: true")
        return self


class ReturnOut(BaseModel):
    campaign_key: str
    returned: int
    already_returned: list[str] | int
    sold: list[str] | int = Field(description="codes that were sold: they stay with their buyers")
    unknown: list[str] = []
    position: int


class RedemptionReportIn(Strict):
    codes: list[str] = Codes
    reference: str = Field("", max_length=200)


class RedemptionReportOut(BaseModel):
    campaign_key: str
    reference: str
    redeemed: list[str]
    already_redeemed: list[str]
    not_sold: list[str] = Field(description="codes of the pool that were never sold: unchanged")
    unknown: list[str] = Field(description="codes not in the pool: unchanged")
    position: int


class PartnerCodeOut(BaseModel):
    internal_code: str
    partner_code: str
    status: str
    campaign_key: str
    campaign_id: str
    order_id: str | None
    customer_id: str | None
    sold_at: str | None
    updated_at: str | None
