"""Vouchers by code: look one up, assign it to a customer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interfaces.http.responses import ERRORS, IdempotencyKey, command_response
from interfaces.http.schemas import CustomerIn, VoucherOut
from interfaces.http.security import Assigner, Services, VoucherReader

router = APIRouter(prefix="/v1/vouchers", tags=["vouchers"], responses=ERRORS)


@router.get("/{code}", response_model=VoucherOut)
def get_voucher(code: str, actor: VoucherReader, services: Services) -> dict[str, Any]:
    """A voucher's state, holder and usage, from its event stream."""
    return services.vouchers.get_voucher(actor.merchant_id, code)


@router.post("/{code}/link", response_model=VoucherOut)
def link_voucher(code: str, body: CustomerIn, actor: Assigner, services: Services,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Link a physical code to a customer: it joins their wallet and is applied automatically at
    their next stack validation or redemption with `apply_linked`, when it gives more."""
    return command_response(services.vouchers.link_voucher(actor, code, body.customer_id, idempotency_key))


@router.post("/{code}/assignment", response_model=VoucherOut)
def assign_voucher(code: str, body: CustomerIn, actor: Assigner, services: Services,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Assign an open code to a customer; only that customer can then redeem it."""
    return command_response(
        services.vouchers.assign_voucher(actor, code, body.customer_id, idempotency_key))
