"""Campaigns: set-up by operations, review by an admin, codes and assignments, stats."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from domain.campaign import Campaign
from interfaces.http.read_schemas import CampaignListOut, StatsOut
from interfaces.http.responses import ERRORS, IdempotencyKey, MinPosition, command_response
from interfaces.http.schemas import (
    CampaignCreate,
    CampaignOut,
    CampaignTermsIn,
    ClaimIn,
    CodesOut,
    CustomerIn,
    IssueCodesIn,
    ReasonIn,
    VoucherOut,
)
from interfaces.http.security import Admin, Assigner, Checkout, Operations, Reader, Services

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], responses=ERRORS)
KeyPath = Annotated[str, "campaign key"]


@router.post("", status_code=201, response_model=CampaignOut)
def create_campaign(body: CampaignCreate, actor: Operations, services: Services,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Create a campaign in draft."""
    return command_response(services.campaigns.create_campaign(
        actor, body.key, body.to_terms(), idempotency_key, parent=body.parent))


@router.get("", response_model=CampaignListOut)
def list_campaigns(actor: Reader, services: Services,
                   status: Annotated[str | None, Query(max_length=32)] = None,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   cursor: Annotated[str | None, Query(max_length=64)] = None,
                   min_position: MinPosition = None) -> dict[str, Any]:
    """List campaigns with their stock and counts, by key."""
    return services.queries.campaigns(actor.merchant_id, status=status, limit=limit, after=cursor,
                                      min_position=min_position)


@router.get("/{key}", response_model=CampaignOut)
def get_campaign(key: KeyPath, actor: Reader, services: Services) -> dict[str, Any]:
    """A campaign's current terms and status, from its event stream."""
    return services.campaigns.get_campaign(actor.merchant_id, key)


@router.put("/{key}/terms", response_model=CampaignOut)
def revise_campaign(key: KeyPath, body: CampaignTermsIn, actor: Operations, services: Services,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Revise a draft or rejected campaign's terms (it returns to draft)."""
    return command_response(
        services.campaigns.revise_campaign(actor, key, body.to_terms(), idempotency_key))


def _transition(action: str, services: Services, actor: Any, key: str, reason: str | None,
                idempotency_key: str | None) -> JSONResponse:
    return command_response(
        services.campaigns.change_status(actor, key, action, reason, idempotency_key))


@router.post("/{key}/submit", response_model=CampaignOut)
def submit_campaign(key: KeyPath, actor: Operations, services: Services,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Submit a draft for review."""
    return _transition("submit", services, actor, key, None, idempotency_key)


@router.post("/{key}/approve", response_model=CampaignOut)
def approve_campaign(key: KeyPath, actor: Admin, services: Services,
                     idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Approve a campaign pending review (admin)."""
    return _transition("approve", services, actor, key, None, idempotency_key)


@router.post("/{key}/reject", response_model=CampaignOut)
def reject_campaign(key: KeyPath, body: ReasonIn, actor: Admin, services: Services,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Reject a campaign pending review, with a reason (admin)."""
    return _transition("reject", services, actor, key, body.reason, idempotency_key)


@router.post("/{key}/activate", response_model=CampaignOut)
def activate_campaign(key: KeyPath, actor: Operations, services: Services,
                      idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Put an approved campaign live."""
    return _transition("activate", services, actor, key, None, idempotency_key)


@router.post("/{key}/end", response_model=CampaignOut)
def end_campaign(key: KeyPath, actor: Operations, services: Services,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """End an active campaign; its codes stop working."""
    return _transition("end", services, actor, key, None, idempotency_key)


@router.post("/{key}/disable", response_model=CampaignOut)
def disable_campaign(key: KeyPath, body: ReasonIn, actor: Operations, services: Services,
                     idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Disable a campaign at any time, with a reason; its codes stop working."""
    return _transition("disable", services, actor, key, body.reason, idempotency_key)


@router.get("/{key}/stats", response_model=StatsOut)
def campaign_stats(key: KeyPath, actor: Reader, services: Services, rollup: bool = False,
                   min_position: MinPosition = None) -> dict[str, Any]:
    """Stock and counts: issued, assigned, redeemed, reversed, rejected by reason, remaining;
    with `rollup`, a main campaign's figures include its sub-campaigns' (C1)."""
    campaign_id = str(Campaign.id_for(actor.merchant_id, key))
    return services.queries.campaign_stats(actor.merchant_id, campaign_id, min_position, rollup=rollup)


@router.post("/{key}/codes", status_code=201, response_model=CodesOut)
def issue_codes(key: KeyPath, body: IssueCodesIn, actor: Operations, services: Services,
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Generate `count` codes from the campaign's code spec, or add explicit `codes`."""
    return command_response(services.vouchers.issue_codes(
        actor, key, count=body.count, codes=body.codes, idempotency_key=idempotency_key))


@router.post("/{key}/assignments", status_code=201, response_model=VoucherOut)
def assign_new_voucher(key: KeyPath, body: Annotated[CustomerIn, Body()], actor: Assigner,
                       services: Services, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Issue a fresh code from the campaign's stock straight into a customer's wallet."""
    return command_response(
        services.vouchers.assign_new_voucher(actor, key, body.customer_id, idempotency_key))


@router.post("/{key}/claims", status_code=201, response_model=VoucherOut)
def claim_voucher(key: KeyPath, body: ClaimIn, actor: Checkout, services: Services,
                  idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """C6: a customer claims a voucher of a live campaign (claim channel, method, limits per
    natural day/week/month/year and segment apply); the answer has the redirect URL."""
    return command_response(services.vouchers.claim_voucher(
        actor, key, body.customer_id, body.channel, idempotency_key))
