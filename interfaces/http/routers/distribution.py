"""Manual distribution (D1): assign vouchers to a list of customers; export codes for a
marketing system; a campaign's low-stock alert threshold (C4)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from application.commands import Actor
from application.distribution import MAX_CUSTOMERS
from domain.errors import InvalidInput
from interfaces.http.automation_schemas import (
    DistributionIn,
    DistributionOut,
    ExportIn,
    StockAlertIn,
    StockAlertOut,
)
from interfaces.http.responses import ERRORS, IdempotencyKey, command_response, csv_cell
from interfaces.http.security import Assigner, Operations, Services, requires

router = APIRouter(prefix="/v1/campaigns", tags=["distribution"], responses=ERRORS)
Exporter = Annotated[Actor, Depends(requires("operations", "auditor"))]
CSV_HEADERS = {"customer_id", "customer", "id"}


@router.post("/{key}/distributions", response_model=DistributionOut)
def distribute(key: str, body: DistributionIn, actor: Assigner, services: Services) -> dict[str, Any]:
    """A fresh voucher for each listed customer; per line: assigned (code) or refused (reason)."""
    return services.distribution.assign_to_customers(actor, key, body.customers, body.batch)


@router.post("/{key}/distributions/file", response_model=DistributionOut)
def distribute_file(key: str, actor: Assigner, services: Services,
                    file: Annotated[UploadFile, File(description="CSV: customer ids in the first column")],
                    batch: Annotated[str, Form(min_length=1, max_length=64)]) -> dict[str, Any]:
    """The same from a CSV file (a `customer_id` header line is skipped)."""
    return services.distribution.assign_to_customers(actor, key, _customers(file), batch)


@router.post("/{key}/exports", response_class=StreamingResponse,
             responses={200: {"content": {"text/csv": {}}}, 201: {"content": {"text/csv": {}}}})
def export_codes(key: str, body: ExportIn, actor: Operations, services: Services,
                 idempotency_key: IdempotencyKey = None) -> StreamingResponse:
    """Take up to `count` unassigned codes never exported before, as a streamed CSV; the same
    batch again returns the same codes."""
    result = services.distribution.export_codes(actor, key, body.batch, body.count, idempotency_key)
    codes = services.distribution.batch_codes(actor.merchant_id, key, body.batch)
    headers = {"X-Promo-Position": str(result.position), "X-Promo-Count": str(len(codes)),
               "Content-Disposition": f'attachment; filename="{key}-{body.batch}.csv"'}
    return StreamingResponse(_csv(codes), status_code=result.status, media_type="text/csv",
                             headers=headers)


@router.get("/{key}/exports/{batch}", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
def get_export(key: str, batch: str, actor: Exporter, services: Services) -> StreamingResponse:
    """An earlier export's codes again, as CSV."""
    codes = services.distribution.batch_codes(actor.merchant_id, key, batch)
    return StreamingResponse(_csv(codes), media_type="text/csv")


@router.put("/{key}/stock-alert", response_model=StockAlertOut)
def set_stock_alert(key: str, body: StockAlertIn, actor: Operations, services: Services,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Alert (webhook `campaign.low_stock`) once when remaining stock drops below the threshold."""
    return command_response(services.stock_alerts.set_threshold(actor, key, body.threshold, idempotency_key))


def _csv(codes: list[str]) -> Iterator[str]:
    yield "code\n"
    for start in range(0, len(codes), 1000):  # codes never need quoting: A-Z 0-9 - _
        yield "".join(f"{csv_cell(code)}\n" for code in codes[start:start + 1000])


def _customers(file: UploadFile) -> list[str]:
    text = io.TextIOWrapper(file.file, encoding="utf-8-sig", errors="replace", newline="")
    customers = []
    for number, row in enumerate(csv.reader(text), 1):
        value = row[0].strip() if row else ""
        if not value or (number == 1 and value.lower() in CSV_HEADERS):
            continue
        customers.append(value)
        if len(customers) > MAX_CUSTOMERS:
            raise InvalidInput(f"at most {MAX_CUSTOMERS} customers per file", code="invalid_customer_list")
    return customers
