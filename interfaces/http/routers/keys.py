"""API keys of the caller's merchant (admin): issue (the secret is shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from application.commands import Actor, CommandResult
from interfaces.http.responses import ERRORS, IdempotencyKey, command_response
from interfaces.http.schemas import Out, ReasonIn, Strict, Text
from interfaces.http.security import Admin, Services, requires

router = APIRouter(prefix="/v1", tags=["api keys"], responses=ERRORS)
KeyReader = Annotated[Actor, Depends(requires("auditor"))]
Role = Literal["admin", "operations", "checkout", "support", "auditor", "reporting"]


class KeyCreate(Strict):
    role: Role
    label: Text | None = Field(None, description="what the key is for (default: the role)")


class KeyOut(Out):
    id: str
    prefix: str = Field(description="the key's first characters, to recognise it")
    role: str
    label: str
    created_at: str
    created_by: str = Field(description="who issued it: key:<id>, cli:<user>, seed, system")
    revoked: bool
    revoked_at: str | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None


class IssuedKeyOut(KeyOut):
    secret: str | None = Field(description="the key itself: in this answer only, never again "
                               "(null when the answer is an Idempotency-Key replay)")


class KeyListOut(BaseModel):
    items: list[KeyOut]


@router.post("/api-keys", status_code=201, response_model=IssuedKeyOut)
def issue_key(body: KeyCreate, actor: Admin, services: Services,
              idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Issue a key of the merchant for a role; store the `secret` now, it is never shown again."""
    result, secret = services.access.issue_key(actor, body.role, body.label or "", idempotency_key)
    shown = CommandResult(result.status, {**result.body, "secret": secret}, result.position,
                          result.replayed)
    return command_response(shown)


@router.get("/api-keys", response_model=KeyListOut)
def list_keys(actor: KeyReader, services: Services) -> dict[str, Any]:
    """The merchant's keys, revoked ones included (never their secrets or hashes)."""
    return {"items": services.access.list_keys(actor.merchant_id)}


@router.post("/api-keys/{key_id}/revocation", response_model=KeyOut)
def revoke_key(key_id: UUID, body: ReasonIn, actor: Admin, services: Services,
               idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Revoke a key with a reason; it stops authenticating (other processes: within 10 s)."""
    return command_response(services.access.revoke_key(actor, key_id, body.reason, idempotency_key))
