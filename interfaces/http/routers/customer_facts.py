"""Customer and order facts (D2): registrations, completed orders and returns enter the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from application.commands import Actor
from interfaces.http.automation_schemas import CustomerOut, OrderIn, OrderOut, OrderReturnIn, RegistrationIn
from interfaces.http.responses import ERRORS, IdempotencyKey, command_response
from interfaces.http.security import Assigner, Services, requires

router = APIRouter(prefix="/v1", tags=["customer facts"], responses=ERRORS)
Returner = Annotated[Actor, Depends(requires("operations", "checkout", "support"))]


@router.post("/customers/{customer_id}/registration", status_code=201, response_model=CustomerOut)
def register_customer(customer_id: str, body: RegistrationIn, actor: Assigner, services: Services,
                      idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Record that a customer registered (triggers welcome workflows; birthday for date triggers)."""
    return command_response(services.customer_facts.register_customer(
        actor, customer_id, email=body.email, birthday=body.birthday, attributes=body.attributes,
        idempotency_key=idempotency_key))


@router.post("/orders", status_code=201, response_model=OrderOut)
def complete_order(body: OrderIn, actor: Assigner, services: Services,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Record a completed order (triggers spend-based workflows)."""
    return command_response(services.customer_facts.complete_order(
        actor, body.id, customer_id=body.customer_id, amount=body.amount, currency=body.currency,
        store_id=body.store_id, channel=body.channel, idempotency_key=idempotency_key))


@router.post("/orders/{order_id}/returns", response_model=OrderOut)
def return_order(order_id: str, body: OrderReturnIn, actor: Returner, services: Services,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Record that an order came back, in part (amount) or in full."""
    return command_response(services.customer_facts.return_order(
        actor, order_id, body.amount, body.reason, idempotency_key))
