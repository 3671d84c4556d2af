"""Response models of the reports (A1-A3). Money: integer minor units, always with its currency."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from interfaces.http.read_schemas import LogEntry, WalletPoints, WalletVoucher


class ReportCampaign(BaseModel):
    id: str
    key: str
    name: str
    status: str
    currency: str
    parent_id: str | None = Field(description="the main campaign of a sub-campaign (C1)")


class CostByBearer(BaseModel):
    group: int
    store: int


class Figures(BaseModel):
    issued: int = Field(description="codes generated or added in the range")
    assigned: int = Field(description="codes that reached a customer: assignments, pushes, claims, links")
    claimed: int = Field(description="of those, claimed by the customer (C6)")
    redeemed: int
    reversed: int = Field(description="full reversals in the range (of redemptions from any day)")
    returned: int = Field(description="partial reversals: some lines came back (R8)")
    rejected: int = Field(description="refused attempts (one attempt may give several reasons)")
    net_redeemed: int = Field(description="redeemed - reversed")
    discount: int = Field(description="discount given, net of reversals and returns")
    cost_by_bearer: CostByBearer


class CurrencyFigures(Figures):
    currency: str


class StoreFigures(CurrencyFigures):
    store_id: str | None = Field(description="null: no store (online, or issues and assignments)")


class ChannelFigures(CurrencyFigures):
    channel: str | None


class DayFigures(CurrencyFigures):
    day: str = Field(description="a local day of the merchant (ISO date)")


class Stock(BaseModel):
    stock: int | None = Field(description="all time; null when a campaign is unlimited")
    issued_all_time: int
    remaining_stock: int | None


class CampaignLine(CurrencyFigures, Stock):
    campaign: ReportCampaign
    rejections_by_reason: dict[str, int]


class CampaignReportOut(Stock):
    campaign: ReportCampaign
    rollup: bool
    sub_campaigns: int
    timezone: str
    since: str | None
    until: str | None
    totals: list[CurrencyFigures] = Field(description="one line per currency")
    rejections_by_reason: dict[str, int]
    by_campaign: list[CampaignLine] = Field(description="the campaign, then its sub-campaigns")
    by_store: list[StoreFigures]
    by_channel: list[ChannelFigures]
    by_day: list[DayFigures]


class CampaignSummary(Stock):
    campaign: ReportCampaign
    sub_campaigns: int
    totals: list[CurrencyFigures]
    rejections_by_reason: dict[str, int]


class CampaignReportListOut(BaseModel):
    items: list[CampaignSummary]
    next_cursor: str | None
    timezone: str
    since: str | None
    until: str | None


class ReasonCount(BaseModel):
    reason: str
    count: int


class CampaignRejections(BaseModel):
    campaign: ReportCampaign
    rejected: int
    rejections_by_reason: dict[str, int]


class DayRejections(BaseModel):
    day: str
    rejected: int


class RejectionReportOut(BaseModel):
    campaign: str | None = Field(description="the campaign key asked for; null: every campaign")
    rollup: bool | None
    timezone: str
    since: str | None
    until: str | None
    rejected: int = Field(description="refused attempts that named a campaign (unknown codes are "
                                      "in the redemption detail with status=rejected)")
    reasons: list[ReasonCount] = Field(description="most frequent first")
    by_campaign: list[CampaignRejections]
    by_day: list[DayRejections]


class RedemptionDetail(LogEntry):
    campaign_key: str | None
    allocations: list[dict[str, Any]] = Field(
        description="the discount per order line as redeemed: {line, sku, amount}")


class RedemptionDetailOut(BaseModel):
    items: list[RedemptionDetail]
    next_cursor: str | None


class Money(BaseModel):
    currency: str
    amount: int


class FavouriteCampaign(BaseModel):
    campaign_id: str
    key: str | None
    name: str | None
    redemptions: int = Field(description="redemptions still in force")
    discount: int
    currency: str
    last_redeemed_at: str


class Customer360Out(BaseModel):
    customer_id: str
    registered_at: str | None
    wallet: list[WalletVoucher]
    points: list[WalletPoints]
    redemption_counts: dict[str, int] = Field(description="attempts by status")
    lifetime_discount: list[Money] = Field(description="discount received, net of reversals")
    favourite_campaigns: list[FavouriteCampaign] = Field(description="most redeemed first")
    redemptions: RedemptionDetailOut = Field(
        description="the latest; `next_cursor` continues in GET /v1/reports/redemptions?customer_id=")
