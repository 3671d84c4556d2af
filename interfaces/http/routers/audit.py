"""Auditors: raw event streams, projection status, and the projection-vs-replay audit."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from interfaces.http.read_schemas import AuditOut, DecisionOut, ProjectionStatus, StreamOut
from interfaces.http.responses import ERRORS
from interfaces.http.security import Auditor, Services

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=ERRORS)


@router.get("/streams/{aggregate_id}", response_model=StreamOut)
def event_stream(aggregate_id: UUID, actor: Auditor, services: Services,
                 after_version: Annotated[int, Query(ge=0, le=2**62)] = 0,
                 limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> dict[str, Any]:
    """Any aggregate's events exactly as stored, oldest first."""
    return services.audit.stream(actor.merchant_id, aggregate_id, after_version=after_version,
                                 limit=limit)


@router.get("/projections", response_model=list[ProjectionStatus])
def projection_status(actor: Auditor, services: Services) -> list[dict[str, Any]]:
    """Each read model's tracking position and lag behind the ledger."""
    return services.projections.status()


@router.post("/projections/{name}", response_model=AuditOut)
def audit_projection(name: str, actor: Auditor, services: Services) -> dict[str, Any]:
    """Replay the ledger from zero into a private copy and compare it with the live read model
    (this merchant's rows)."""
    return services.projections.audit(name, actor.merchant_id).as_dict()


@router.get("/redemptions/{redemption_id}/decision", response_model=DecisionOut)
def redecide(redemption_id: UUID, actor: Auditor, services: Services) -> dict[str, Any]:
    """Re-run a redemption's decision against the campaign and voucher versions it saw."""
    return services.decisions.redecide(actor.merchant_id, redemption_id)
