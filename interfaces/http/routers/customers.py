"""Customers: their wallet."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from interfaces.http.read_schemas import WalletOut
from interfaces.http.responses import ERRORS, MinPosition
from interfaces.http.security import Services, WalletReader

router = APIRouter(prefix="/v1/customers", tags=["customers"], responses=ERRORS)


@router.get("/{customer_id}/wallet", response_model=WalletOut)
def wallet(customer_id: str, actor: WalletReader, services: Services,
           min_position: MinPosition = None) -> dict[str, Any]:
    """The vouchers a customer holds, with state and validity."""
    return services.queries.wallet(actor.merchant_id, customer_id, min_position)
