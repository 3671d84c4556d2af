"""Reports (A1-A3): campaign report, redemption detail and its CSV, rejections, customer 360.

Dates are the merchant's local days, `since` and `until` both included.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from application.reports import RedemptionQuery, ReportService
from interfaces.http.report_schemas import (
    CampaignReportListOut,
    CampaignReportOut,
    Customer360Out,
    RedemptionDetailOut,
    RejectionReportOut,
)
from interfaces.http.responses import ERRORS, MinPosition, csv_cell
from interfaces.http.security import Reader, Services

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=ERRORS)

Since = Annotated[date | None, Query(description="first local day (merchant's time zone), included")]
Until = Annotated[date | None, Query(description="last local day, included")]
Rollup = Annotated[bool, Query(description="add the main campaign's sub-campaigns (C1)")]
CampaignKey = Annotated[str | None, Query(max_length=64, description="campaign key")]
Status = Literal["redeemed", "rejected", "reversed", "partially_reversed"]
CSV_COLUMNS = ("id", "position", "occurred_at", "status", "code", "campaign_key", "campaign_id",
               "customer_id", "order_id", "order_amount", "currency", "discount", "cost_group",
               "cost_store", "store_id", "channel", "reasons", "lines", "allocations", "reversed_at",
               "reversal_reason")
def reports(services: Services) -> ReportService:
    return services.reports


Reports = Annotated[ReportService, Depends(reports)]


@router.get("/campaigns", response_model=CampaignReportListOut)
def campaign_reports(actor: Reader, service: Reports, since: Since = None, until: Until = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50,
                     cursor: Annotated[str | None, Query(max_length=64)] = None,
                     min_position: MinPosition = None) -> dict[str, Any]:
    """Main campaigns by key, each rolled up with its sub-campaigns, over a range of days."""
    return service.campaigns(actor.merchant_id, since=since, until=until, limit=limit, after=cursor,
                             min_position=min_position)


@router.get("/campaigns/{key}", response_model=CampaignReportOut)
def campaign_report(key: str, actor: Reader, service: Reports, rollup: Rollup = True,
                    since: Since = None, until: Until = None,
                    min_position: MinPosition = None) -> dict[str, Any]:
    """One campaign's report: totals, rejections by reason, stock, by campaign/store/channel/day."""
    return service.campaign_report(actor.merchant_id, key, rollup=rollup, since=since, until=until,
                                   min_position=min_position)


@router.get("/rejections", response_model=RejectionReportOut)
def rejections(actor: Reader, service: Reports, campaign: CampaignKey = None, rollup: Rollup = True,
               since: Since = None, until: Until = None,
               min_position: MinPosition = None) -> dict[str, Any]:
    """Rejected redemptions by reason with counts, per campaign and per day."""
    return service.rejections(actor.merchant_id, campaign, rollup=rollup, since=since, until=until,
                              min_position=min_position)


def redemption_query(
    campaign: CampaignKey = None,
    rollup: Annotated[bool, Query(description="with `campaign`: its sub-campaigns' too")] = False,
    customer_id: Annotated[str | None, Query(max_length=128)] = None,
    store_id: Annotated[str | None, Query(max_length=128)] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    status: Status | None = None,
    since: Since = None,
    until: Until = None,
) -> RedemptionQuery:
    return RedemptionQuery(campaign=campaign, rollup=rollup, customer_id=customer_id, store_id=store_id,
                           channel=channel, status=status, since=since, until=until)


Filters = Annotated[RedemptionQuery, Depends(redemption_query)]


@router.get("/redemptions", response_model=RedemptionDetailOut)
def redemptions(actor: Reader, service: Reports, filters: Filters,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                cursor: Annotated[int | None, Query(ge=0, le=2**62)] = None,
                min_position: MinPosition = None) -> dict[str, Any]:
    """Each redemption, newest first: customer, store, channel, lines, discount, cost split."""
    return service.redemptions(actor.merchant_id, filters, limit=limit, before=cursor,
                               min_position=min_position)


@router.get("/redemptions.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "streamed CSV"}})
def redemptions_csv(actor: Reader, service: Reports, filters: Filters,
                    min_position: MinPosition = None) -> StreamingResponse:
    """The same redemptions as CSV, streamed page by page."""
    f = service.redemption_filter(actor.merchant_id, filters, min_position)
    rows = service.iter_redemptions(actor.merchant_id, f)
    return StreamingResponse(_csv(rows), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="redemptions.csv"'})


@router.get("/customers/{customer_id}", response_model=Customer360Out)
def customer(customer_id: str, actor: Reader, service: Reports,
             history: Annotated[int, Query(ge=1, le=100, description="latest redemptions")] = 10,
             min_position: MinPosition = None) -> dict[str, Any]:
    """Customer 360: wallet, points, redemptions, favourite campaigns, discount received."""
    return service.customer(actor.merchant_id, customer_id, history=history, min_position=min_position)


def _csv_row(entry: dict[str, Any]) -> list[Any]:
    reversal = entry["reversal"] or {}
    flat = {**entry, "cost_group": entry["costs"]["group"], "cost_store": entry["costs"]["store"],
            "reasons": ";".join(entry["reasons"]), "lines": json.dumps(entry["lines"], sort_keys=True),
            "allocations": json.dumps(entry["allocations"], sort_keys=True),
            "reversed_at": reversal.get("at"), "reversal_reason": reversal.get("reason")}
    return [csv_cell(flat[c]) for c in CSV_COLUMNS]


def _csv(rows: Iterator[dict[str, Any]], page: int = 1000) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for count, row in enumerate(rows, 1):
        writer.writerow(_csv_row(row))
        if count % page == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
