"""Partner code pools: upload a brand's codes, sell them, return the unsold, deliver as QR."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from application.commands import Actor
from application.partner_codes import MAX_CODES_PER_REQUEST
from application.pool_import import read_codes
from domain.errors import InvalidInput
from domain.pool import CodePool
from interfaces.http.pool_schemas import (
    ImportOut,
    PartnerCodeOut,
    PoolCreate,
    PoolOut,
    PoolStockOut,
    RedemptionReportIn,
    RedemptionReportOut,
    ReturnIn,
    ReturnOut,
    SaleIn,
    SaleOut,
)
from interfaces.http.responses import ERRORS, IdempotencyKey, MinPosition, command_response, csv_cell
from interfaces.http.security import Checkout, Operations, Reader, Services, VoucherReader, requires
from projections.pool_stock import EXPORT_COLUMNS, SOLD, UNSOLD
from projections.queries import ProjectionLagging

router = APIRouter(prefix="/v1", tags=["partner code pools"], responses=ERRORS)
# Paths whose bodies are files: the body limit for them is PROMO_MAX_UPLOAD_BYTES.
UPLOAD_SUFFIXES = ("/pool/imports", "/pool/redemptions/file")
Exporter = Annotated[Actor, Depends(requires("operations", "auditor"))]
ExportStatus = Literal["unsold", "available", "returned", "sold", "redeemed", "all"]
STATUSES: dict[str, tuple[str, ...]] = {
    "unsold": UNSOLD, "available": UNSOLD[:1], "returned": UNSOLD[1:], "sold": SOLD,
    "redeemed": SOLD[1:], "all": UNSOLD + SOLD}
QR_KINDS = {"png": "image/png", "svg": "image/svg+xml"}


@router.post("/campaigns/{key}/pool", status_code=201, response_model=PoolOut)
def create_pool(key: str, body: PoolCreate, actor: Operations, services: Services,
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Give a campaign a pool for a partner's own codes, in a declared format."""
    return command_response(services.pools.create_pool(
        actor, key, body.format.model_dump(), body.low_stock_threshold, idempotency_key))


@router.get("/campaigns/{key}/pool", response_model=PoolStockOut)
def pool_stock(key: str, actor: Reader, services: Services, min_position: MinPosition = None
               ) -> dict[str, Any]:
    """Stock: uploaded, available, sold, redeemed, returned, low-stock state, imports."""
    _await(services, min_position)
    stock = services.pool_stock.stock(actor.merchant_id, CodePool.id_for(actor.merchant_id, key))
    if stock is None:
        services.pools.get_pool(actor.merchant_id, key)  # 404 pool_not_found when there is none
        raise ProjectionLagging("the stock read model has not seen this pool yet; retry shortly")
    return stock


@router.post("/campaigns/{key}/pool/imports", status_code=201, response_model=ImportOut)
def import_codes(key: str, actor: Operations, services: Services,
                 file: Annotated[UploadFile, File(description="CSV: one code per line (first column)")],
                 skip_invalid: Annotated[bool, Form(description="import the good lines anyway")] = False,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Upload a partner's code file: all or nothing, or without its bad lines; idempotent by content."""
    return command_response(services.pools.import_codes(
        actor, key, file.file, file.filename or "upload.csv", skip_invalid=skip_invalid,
        idempotency_key=idempotency_key))


@router.post("/campaigns/{key}/pool/sales", status_code=201, response_model=SaleOut,
             responses={200: {"model": SaleOut, "description": "sold before: the same codes again"}})
def sell(key: str, body: SaleIn, actor: Checkout, services: Services,
         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Sell `quantity` codes to an order line; a retried order line gets the same codes."""
    return command_response(services.pools.sell(
        actor, key, body.order_id, quantity=body.quantity, customer_id=body.customer_id,
        line_id=body.line_id, idempotency_key=idempotency_key))


@router.get("/campaigns/{key}/pool/codes.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "streamed CSV"}})
def export_codes(key: str, actor: Exporter, services: Services,
                 status: Annotated[ExportStatus, Query(description="which codes")] = "unsold",
                 min_position: MinPosition = None) -> StreamingResponse:
    """Download codes as CSV, streamed page by page (unsold ones by default, to return them)."""
    pool = services.pools.get_pool(actor.merchant_id, key)
    _await(services, min_position)
    rows = services.pool_stock.export(actor.merchant_id, CodePool.id_for(actor.merchant_id, key),
                                      STATUSES[status])
    filename = f"{pool['campaign_key']}-{status}.csv"
    return StreamingResponse(_csv(rows), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/campaigns/{key}/pool/returns", response_model=ReturnOut)
def return_codes(key: str, body: ReturnIn, actor: Operations, services: Services,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Mark unsold codes (listed, or all of them) returned to the partner: never sold afterwards."""
    if body.all_unsold:
        return command_response(services.partner_codes.return_unsold(
            actor, key, body.reason, idempotency_key))
    return command_response(services.partner_codes.return_codes(
        actor, key, body.codes or [], body.reason, idempotency_key))


@router.post("/campaigns/{key}/pool/redemptions", response_model=RedemptionReportOut)
def report_redeemed(key: str, body: RedemptionReportIn, actor: Operations, services: Services,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """The partner's redemption report: sold codes become redeemed; others are reported back."""
    return command_response(services.partner_codes.report_redeemed(
        actor, key, body.codes, body.reference, idempotency_key))


@router.post("/campaigns/{key}/pool/redemptions/file", response_model=RedemptionReportOut)
def report_redeemed_file(key: str, actor: Operations, services: Services,
                         file: Annotated[UploadFile, File(description="CSV: one code per line")],
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """The partner's redemption report as a CSV file (first column; a header line is skipped)."""
    codes = read_codes(file.file, MAX_CODES_PER_REQUEST)
    return command_response(services.partner_codes.report_redeemed(
        actor, key, codes, file.filename or "", idempotency_key))


@router.get("/partner-codes/{internal_code}", response_model=PartnerCodeOut)
def look_up(internal_code: str, actor: VoucherReader, services: Services) -> dict[str, Any]:
    """A sold partner code, by our internal code: partner code, status, order, customer."""
    return services.partner_codes.look_up(actor.merchant_id, internal_code)


@router.get("/partner-codes/{internal_code}/qr.{kind}", response_class=Response,
            responses={200: {"content": {t: {} for t in QR_KINDS.values()},
                             "description": "the partner code as a QR image"}})
def qr_code(internal_code: str, kind: Literal["png", "svg"], actor: VoucherReader,
            services: Services) -> Response:
    """The partner code as a QR image (PNG or SVG) for the store to scan."""
    code = services.partner_codes.look_up(actor.merchant_id, internal_code)["partner_code"]
    out = io.BytesIO()
    segno.make(code, error="m", micro=False).save(out, kind=kind, scale=8, border=4)
    return Response(out.getvalue(), media_type=QR_KINDS[kind],
                    headers={"Cache-Control": "private, max-age=3600"})


def _await(services: Services, min_position: int | None) -> None:
    if min_position and min_position > services.pool_stock.head():
        raise InvalidInput(f"position {min_position} is beyond the ledger's head", code="unknown_position")
    if min_position and not services.pool_stock.caught_up(min_position):
        raise ProjectionLagging(f"pool_stock has not reached position {min_position} yet; retry shortly",
                                projection="pool_stock", min_position=min_position)


def _csv(rows: Iterator[dict[str, Any]], page: int = 5000) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for count, row in enumerate(rows, 1):
        writer.writerow([csv_cell(row[c]) for c in EXPORT_COLUMNS])
        if count % page == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
