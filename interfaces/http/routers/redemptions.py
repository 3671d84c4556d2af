"""Checkout: validate and redeem codes; support: reverse; everyone with access: the log."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from application.redemptions import RedeemRequest
from application.stacks import StackRequest
from domain.campaign import Campaign
from domain.clock import iso
from domain.codes import canonical_code
from domain.eligibility import Order, OrderLine
from interfaces.http.read_schemas import RedemptionLogOut
from interfaces.http.responses import ERRORS, IdempotencyKey, MinPosition, command_response
from interfaces.http.schemas import (
    BestOfferIn,
    BestOffersOut,
    OrderIn,
    ReasonIn,
    RedeemIn,
    RedemptionOut,
    ReturnIn,
    StackIn,
    StackRedemptionOut,
    StackValidationOut,
    Timestamp,
    ValidationOut,
)
from interfaces.http.security import Checkout, Reader, Services, Support
from projections.redemption_log import LogFilter

router = APIRouter(prefix="/v1", tags=["redemptions"], responses=ERRORS)


def _request(body: RedeemIn) -> RedeemRequest:
    return RedeemRequest(code=body.code, order=_order(body.order), customer_id=body.customer_id,
                         store_id=body.store_id, channel=body.channel)


@router.post("/validations", response_model=ValidationOut)
def validate(body: RedeemIn, actor: Checkout, services: Services) -> dict[str, Any]:
    """Would this code apply to this order, and for how much? Changes nothing."""
    return services.redemptions.validate(actor, _request(body))


@router.post("/redemptions", status_code=201, response_model=RedemptionOut)
def redeem(body: RedeemIn, actor: Checkout, services: Services,
           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Redeem a code for an order. A refusal is recorded too, and answered as a problem
    whose `code` is the first reason (404 unknown_code, 422 for every other reason)."""
    return command_response(services.redemptions.redeem(actor, _request(body), idempotency_key))


def _order(body: OrderIn) -> Order:
    lines = [OrderLine(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price,
                       category=line.category) for line in body.lines]
    return Order.build(body.amount, body.currency, body.id, lines)


def _stack(body: StackIn) -> StackRequest:
    return StackRequest(codes=tuple(body.codes), order=_order(body.order), customer_id=body.customer_id,
                        store_id=body.store_id, channel=body.channel, apply_linked=body.apply_linked)


@router.post("/best-offers", response_model=BestOffersOut)
def best_offers(body: BestOfferIn, actor: Checkout, services: Services,
                min_position: MinPosition = None) -> dict[str, Any]:
    """The customer's wallet vouchers ranked by what they give this cart, and the best stack."""
    return services.offers.best_offers(actor, body.customer_id, _order(body.order),
                                       store_id=body.store_id, channel=body.channel,
                                       min_position=min_position)


@router.post("/stack-validations", response_model=StackValidationOut)
def validate_stack(body: StackIn, actor: Checkout, services: Services) -> dict[str, Any]:
    """Would these codes apply together to this order, and for how much? Changes nothing."""
    return services.stacks.validate(actor, _stack(body))


@router.post("/stack-redemptions", status_code=201, response_model=StackRedemptionOut)
def redeem_stack(body: StackIn, actor: Checkout, services: Services,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Redeem several codes on one order: all of them in one transaction, or none (a problem
    whose `items` say which codes failed and why)."""
    return command_response(services.stacks.redeem(actor, _stack(body), idempotency_key))


@router.post("/redemptions/{redemption_id}/reversal", response_model=RedemptionOut)
def reverse(redemption_id: UUID, body: ReasonIn, actor: Support, services: Services,
            idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Reverse a redemption in full with a reason; the voucher's use is given back."""
    return command_response(
        services.redemptions.reverse(actor, redemption_id, body.reason, idempotency_key))


@router.post("/redemptions/{redemption_id}/returns", response_model=RedemptionOut)
def return_lines(redemption_id: UUID, body: ReturnIn, actor: Support, services: Services,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Some lines came back: the discount on the kept lines is decided again and the difference
    reversed (everything back: the whole redemption is reversed)."""
    lines = [(line.sku, line.quantity) for line in body.lines]
    return command_response(services.returns.return_lines(actor, redemption_id, lines, body.reason,
                                                          idempotency_key))


@router.get("/redemptions/{redemption_id}", response_model=RedemptionOut)
def get_redemption(redemption_id: UUID, actor: Reader, services: Services) -> dict[str, Any]:
    """One redemption or rejection, from its event stream."""
    return services.redemptions.get_redemption(actor.merchant_id, redemption_id)


@router.get("/redemptions", response_model=RedemptionLogOut)
def redemption_log(
    actor: Reader, services: Services,
    campaign: Annotated[str | None, Query(max_length=64, description="campaign key")] = None,
    customer_id: Annotated[str | None, Query(max_length=128)] = None,
    code: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["redeemed", "rejected", "reversed", "partially_reversed"] | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Every attempt, newest first, with reasons for rejections; page with `cursor`."""
    f = LogFilter(
        campaign_id=str(Campaign.id_for(actor.merchant_id, campaign)) if campaign else None,
        customer_id=customer_id, code=canonical_code(code) if code else None, status=status,
        since=iso(since) if since else None, until=iso(until) if until else None,
    )
    return services.queries.redemptions(actor.merchant_id, f, limit=limit, before=cursor,
                                        min_position=min_position)
