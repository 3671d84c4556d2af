"""Fraud flags (A4): what the detectors raised, support's review, the merchant's thresholds."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from application.commands import Actor
from domain.fraud import DETECTORS
from interfaces.http.responses import ERRORS, IdempotencyKey, MinPosition, command_response
from interfaces.http.schemas import Out, Strict
from interfaces.http.security import Admin, Services, Support, requires

router = APIRouter(prefix="/v1/fraud", tags=["fraud"], responses=ERRORS)
FlagReader = Annotated[Actor, Depends(requires("support", "reporting", "auditor", "operations"))]
Detector = Literal["code_guessing", "shared_code", "store_hopping", "excessive_reversals"]
assert set(Detector.__args__) == set(DETECTORS)  # type: ignore[attr-defined]


class Threshold(Strict):
    count: int | None = Field(None, strict=True, ge=0, le=1_000_000, description="0 switches it off")
    window_minutes: int | None = Field(None, strict=True, ge=1, le=31 * 24 * 60)


class ThresholdsIn(Strict):
    thresholds: dict[Detector, Threshold] = Field(
        description="per detector: how many within how many minutes raise a flag (others unchanged)")


class ThresholdOut(BaseModel):
    count: int
    window_minutes: int


class ThresholdsOut(Out):
    thresholds: dict[str, ThresholdOut]


class ReviewIn(Strict):
    decision: Literal["dismissed", "confirmed"]
    note: str = Field(min_length=1, max_length=1000, description="why: what support found")


class ReviewOut(BaseModel):
    decision: str
    by: str
    note: str
    at: str


class FlagOut(Out):
    id: str
    detector: str
    subject: str = Field(
        description="customer:<id>, key:<api key id>, code:<code>, staff:<actor>, store:<id>")
    status: str
    count: int | None = None
    threshold: int | None = None
    window_start: str | None = None
    window_minutes: int | None = None
    raised_at: str | None = None
    evidence: list[str] = Field(default_factory=list, description="the ledger events behind the flag")
    review: ReviewOut | None = None


class FlagListOut(BaseModel):
    items: list[FlagOut]
    next_cursor: str | None
    counts: dict[str, int]


@router.get("/flags", response_model=FlagListOut)
def list_flags(actor: FlagReader, services: Services,
               status: Annotated[Literal["open", "dismissed", "confirmed"] | None, Query()] = None,
               detector: Annotated[Detector | None, Query()] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               cursor: Annotated[int | None, Query(ge=0, le=2**62)] = None,
               min_position: MinPosition = None) -> dict[str, Any]:
    """Fraud flags, newest first, with counts by status."""
    return services.fraud_flags.flags(actor.merchant_id, status=status, detector=detector, limit=limit,
                                      before=cursor, min_position=min_position)


@router.get("/flags/{flag_id}", response_model=FlagOut)
def get_flag(flag_id: UUID, actor: FlagReader, services: Services,
             min_position: MinPosition = None) -> dict[str, Any]:
    """One flag with its evidence and review."""
    return services.fraud_flags.flag(actor.merchant_id, str(flag_id), min_position)


@router.post("/flags/{flag_id}/review", response_model=FlagOut)
def review_flag(flag_id: UUID, body: ReviewIn, actor: Support, services: Services,
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Dismiss or confirm an open flag, saying why (support)."""
    return command_response(services.fraud.review(actor, flag_id, body.decision, body.note,
                                                  idempotency_key))


@router.get("/thresholds", response_model=ThresholdsOut)
def get_thresholds(actor: FlagReader, services: Services) -> dict[str, Any]:
    """The merchant's detector thresholds (defaults until set)."""
    return {"thresholds": services.fraud.thresholds(actor.merchant_id)}


@router.put("/thresholds", response_model=ThresholdsOut)
def set_thresholds(body: ThresholdsIn, actor: Admin, services: Services,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Change detector thresholds (admin); detectors not named keep theirs."""
    given: dict[str, Any] = {name: t.model_dump(exclude_none=True) for name, t in body.thresholds.items()}
    return command_response(services.fraud.set_thresholds(actor, given, idempotency_key))
