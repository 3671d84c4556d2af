"""Response models of the read side (projections) and the auditor's views."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class WalletCampaign(BaseModel):
    id: str
    key: str
    name: str
    status: str
    description: str = ""
    image_url: str | None = None
    redirect_url: str | None = None


class WalletVoucher(BaseModel):
    voucher_id: str
    code: str = Field(description="what the customer presents; for a partner code, the partner's own")
    state: str
    source: str = Field("platform", description="platform (our codes) or partner (from a code pool)")
    status: str = Field("open", description="platform codes: open/redeemed; partner codes: sold/redeemed")
    partner_code: str | None = None
    internal_code: str | None = Field(None, description="our reference for a partner code (P3)")
    linked: bool = Field(False, description="a physical code the customer linked (V6): auto-applied")
    redemption_count: int
    redemption_limit: int | None
    campaign: WalletCampaign
    valid_from: str | None
    valid_until: str | None
    expired: bool
    usable_now: bool
    assigned_at: str


class WalletPoints(BaseModel):
    program: str
    category: str
    balance: int


class WalletOut(BaseModel):
    customer_id: str
    vouchers: list[WalletVoucher]
    points: list[WalletPoints] = []


class StatsOut(BaseModel):
    campaign_id: str
    key: str
    name: str
    status: str
    currency: str
    stock: int | None
    issued: int
    assigned: int
    redeemed: int
    reversed: int
    rejected: int
    remaining: int | None
    net_redeemed: int
    discount_total: int
    cost_by_bearer: dict[str, int] = {}
    sub_campaigns: int = 0
    rejections_by_reason: dict[str, int]
    updated_at: str


class CampaignListOut(BaseModel):
    items: list[StatsOut]
    next_cursor: str | None


class LogReversal(BaseModel):
    at: str
    reason: str
    by: str


class LogEntry(BaseModel):
    id: str
    position: int
    occurred_at: str
    outcome: str
    status: str
    code: str
    voucher_id: str | None
    campaign_id: str | None
    campaign_version: int | None
    customer_id: str | None
    order_id: str | None
    order_amount: int
    currency: str
    discount: int
    store_id: str | None
    channel: str | None
    reasons: list[str]
    lines: list[dict[str, Any]]
    costs: dict[str, int] = {}
    reversal: LogReversal | None


class RedemptionLogOut(BaseModel):
    items: list[LogEntry]
    next_cursor: str | None


class StoredEventOut(BaseModel):
    version: int
    type: str
    timestamp: str | None
    data: dict[str, Any]


class StreamOut(BaseModel):
    aggregate_id: str
    aggregate_type: str
    events: list[StoredEventOut]


class DecisionOutcome(BaseModel):
    discount: int
    reasons: list[str]


class DecisionOut(BaseModel):
    redemption_id: str
    campaign_id: str | None
    campaign_version: int | None
    voucher_version: int | None
    recorded: DecisionOutcome
    recomputed: DecisionOutcome
    agrees: bool


class ProjectionStatus(BaseModel):
    name: str
    position: int
    head: int
    lag: int
    running: bool
    error: str | None


class TableDiffOut(BaseModel):
    table: str
    live_rows: int
    replayed_rows: int
    missing: list[dict[str, Any]]
    unexpected: list[dict[str, Any]]


class AuditOut(BaseModel):
    projection: str
    position: int
    ok: bool
    tables: list[TableDiffOut]
