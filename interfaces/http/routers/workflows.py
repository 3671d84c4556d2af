"""Workflows (D2): TRIGGER + conditions → EFFECTS → optional DELIVERY, as configured data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from interfaces.http.automation_schemas import WorkflowIn, WorkflowListOut, WorkflowOut, WorkflowRunsOut
from interfaces.http.responses import ERRORS, IdempotencyKey, MinPosition, command_response
from interfaces.http.security import Operations, Reader, Services

router = APIRouter(prefix="/v1/workflows", tags=["workflows"], responses=ERRORS)


@router.put("/{key}", response_model=WorkflowOut)
def define_workflow(key: str, body: WorkflowIn, actor: Operations, services: Services,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Create or revise a workflow; it fires for facts recorded from now on."""
    return command_response(services.workflows.define(actor, key, body.model_dump(), idempotency_key))


@router.get("", response_model=WorkflowListOut)
def list_workflows(actor: Reader, services: Services) -> dict[str, Any]:
    """Every workflow of the merchant, by key."""
    return {"items": services.workflows.list_workflows(actor.merchant_id)}


@router.get("/{key}", response_model=WorkflowOut)
def get_workflow(key: str, actor: Reader, services: Services) -> dict[str, Any]:
    """One workflow's definition and status."""
    return services.workflows.get(actor.merchant_id, key)


@router.post("/{key}/pause", response_model=WorkflowOut)
def pause_workflow(key: str, actor: Operations, services: Services,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Stop a workflow firing (facts meanwhile do not fire it later)."""
    return command_response(services.workflows.set_paused(actor, key, True, idempotency_key))


@router.post("/{key}/resume", response_model=WorkflowOut)
def resume_workflow(key: str, actor: Operations, services: Services,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Let a paused workflow fire again."""
    return command_response(services.workflows.set_paused(actor, key, False, idempotency_key))


@router.get("/{key}/runs", response_model=WorkflowRunsOut)
def workflow_runs(key: str, actor: Reader, services: Services,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  cursor: Annotated[int | None, Query(ge=0)] = None,
                  min_position: MinPosition = None) -> dict[str, Any]:
    """What each firing did, newest first: effect results (assigned code, points) or refusals."""
    services.workflows.get(actor.merchant_id, key)
    services.automation_reader.wait("workflow_runs", min_position)
    items = services.automation_reader.workflow_runs(actor.merchant_id, key, limit + 1, cursor)
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": str(items[-1]["position"]) if more else None}
