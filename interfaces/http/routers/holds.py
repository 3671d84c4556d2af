"""Holds (R7): set a cart's codes aside at validation, then confirm, cancel or let them lapse."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interfaces.http.responses import ERRORS, IdempotencyKey, command_response
from interfaces.http.routers.redemptions import _stack
from interfaces.http.schemas import CancelIn, HoldIn, HoldOut, HoldRedemptionOut
from interfaces.http.security import Checkout, Services

router = APIRouter(prefix="/v1/holds", tags=["redemptions"], responses=ERRORS)


@router.post("", status_code=201, response_model=HoldOut)
def place_hold(body: HoldIn, actor: Checkout, services: Services,
               idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Validate a cart and hold its codes until `seconds` from now (all of them, or none)."""
    return command_response(services.holds.place(actor, _stack(body), body.seconds, idempotency_key))


@router.get("/{hold_id}", response_model=HoldOut)
def get_hold(hold_id: UUID, actor: Checkout, services: Services) -> dict[str, Any]:
    """A hold and its status (held, confirmed, cancelled or lapsed)."""
    return services.holds.get(actor.merchant_id, hold_id)


@router.post("/{hold_id}/confirmation", status_code=201, response_model=HoldRedemptionOut)
def confirm_hold(hold_id: UUID, actor: Checkout, services: Services,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Redeem the held cart; 409 hold_lapsed once it expired, hold_cancelled, hold_confirmed."""
    return command_response(services.holds.confirm(actor, hold_id, idempotency_key))


@router.post("/{hold_id}/cancellation", response_model=HoldOut)
def cancel_hold(hold_id: UUID, body: CancelIn, actor: Checkout, services: Services,
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Give the held uses back now."""
    return command_response(services.holds.cancel(actor, hold_id, body.reason, idempotency_key))
