"""The merchant's own settings (time zone, holidays) and its customer segments."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from interfaces.http.responses import ERRORS, IdempotencyKey, command_response
from interfaces.http.schemas import Key, Out, Strict
from interfaces.http.security import Admin, Operations, Reader, Services

router = APIRouter(prefix="/v1", tags=["merchant"], responses=ERRORS)


class HolidaysIn(Strict):
    dates: list[date] = Field(max_length=3660, description="the days that are not workdays (replaces)")


class MerchantOut(Out):
    merchant_id: str
    name: str
    timezone: str
    holidays: list[str]


class MembersIn(Strict):
    customer_ids: list[Key] = Field(min_length=1, max_length=10_000)


class MembersOut(Out):
    segment: str
    added: int = 0
    removed: int = 0
    unchanged: int


class MembershipOut(BaseModel):
    segment: str
    customer_id: str
    member: bool


@router.get("/merchant", response_model=MerchantOut)
def merchant_settings(actor: Reader, services: Services) -> dict[str, Any]:
    """The merchant's time zone and holiday calendar."""
    return services.merchants.settings(actor.merchant_id)


@router.put("/merchant/holidays", response_model=MerchantOut)
def set_holidays(body: HolidaysIn, actor: Admin, services: Services,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Replace the holiday calendar that "workdays only" rules respect."""
    return command_response(services.merchants.set_holidays(actor, body.dates, idempotency_key))


@router.post("/segments/{segment}/members", response_model=MembersOut)
def add_members(segment: Annotated[str, "segment key"], body: MembersIn, actor: Operations,
                services: Services, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Add customers to a segment (a list import is one call of up to 10,000)."""
    return command_response(services.segments.add_members(actor, segment, body.customer_ids,
                                                           idempotency_key))


@router.post("/segments/{segment}/members/removal", response_model=MembersOut)
def remove_members(segment: str, body: MembersIn, actor: Operations, services: Services,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Remove customers from a segment."""
    return command_response(services.segments.remove_members(actor, segment, body.customer_ids,
                                                             idempotency_key))


@router.get("/segments/{segment}/members/{customer_id}", response_model=MembershipOut)
def membership(segment: str, customer_id: str, actor: Reader, services: Services) -> dict[str, Any]:
    """Whether a customer is in a segment."""
    return {"segment": segment, "customer_id": customer_id,
            "member": services.segments.is_member(actor.merchant_id, segment, customer_id)}
