"""Plain, JSON-ready views of aggregates: what services return and idempotency records store."""

from __future__ import annotations

from typing import Any

from domain.campaign import Campaign
from domain.clock import iso
from domain.redemption import Redemption
from domain.rewards import reward_to_dict
from domain.voucher import Voucher


def campaign_view(campaign: Campaign) -> dict[str, Any]:
    terms = campaign.terms
    return {
        "id": str(campaign.id),
        "key": campaign.key,
        "version": campaign.version,
        "status": campaign.status,
        "template_code": campaign.template_code,
        "parent_id": str(campaign.parent_id) if campaign.parent_id else None,
        "image_url": terms.image_url,
        "redirect_url": terms.redirect_url,
        "internal_remarks": terms.internal_remarks,
        "name": terms.name,
        "description": terms.description,
        "currency": terms.currency,
        "reward": reward_to_dict(terms.reward),
        "voucher_type": terms.voucher_type,
        "redemption_limit": terms.redemption_limit,
        "per_customer_limit": terms.per_customer_limit,
        "stock": terms.stock,
        "budget": terms.budget,
        "unit_cost": terms.reward.unit_cost,
        "issued": campaign.issued,
        "remaining_stock": campaign.remaining_stock,
        "starts_at": iso(terms.starts_at),
        "ends_at": iso(terms.ends_at),
        "code_spec": terms.code_spec.to_dict(),
        "rules": terms.rules.to_dict(),
        "code_entropy_bits": round(terms.code_spec.entropy_bits, 1),
        "created_at": iso(campaign.created_on),
        "updated_at": iso(campaign.modified_on),
    }


def voucher_view(voucher: Voucher, campaign: Campaign | None = None) -> dict[str, Any]:
    view = {
        "id": str(voucher.id),
        "code": voucher.code,
        "campaign_id": str(voucher.campaign_id),
        "state": voucher.state,
        "holder": voucher.holder,
        "redemption_limit": voucher.redemption_limit,
        "redemption_count": voucher.redemption_count,
        "linked": voucher.linked,
        "version": voucher.version,
        "issued_at": iso(voucher.created_on),
    }
    if campaign is not None:
        view["campaign_key"] = campaign.key
        # The window the code really works in: its own (from its claim) within the campaign's.
        starts = [t for t in (voucher.valid_from, campaign.terms.starts_at) if t is not None]
        ends = [t for t in (voucher.valid_until, campaign.terms.ends_at) if t is not None]
        view["valid_from"] = iso(max(starts, default=None))
        view["valid_until"] = iso(min(ends, default=None))
    return view


def redemption_view(redemption: Redemption) -> dict[str, Any]:
    facts = redemption.facts
    reversal = redemption.reversal
    return {
        "id": str(redemption.id),
        "status": redemption.status,
        "code": facts["code"],
        "voucher_id": _str(facts.get("voucher_id")),
        "campaign_id": _str(facts.get("campaign_id")),
        "campaign_version": facts.get("campaign_version"),
        "customer_id": facts.get("customer_id"),
        "order": facts["order"],
        "store_id": facts.get("store_id"),
        "channel": facts.get("channel"),
        "currency": facts.get("currency", facts["order"].get("currency")),
        "discount": facts.get("discount", 0),
        "discount_in_force": redemption.discount_in_force,
        "returned": [{"sku": sku, "quantity": n} for sku, n in sorted(redemption.returned.items())],
        "points_awarded": facts.get("points_awarded", 0),
        "reward": facts.get("reward"),
        "allocations": facts.get("allocations") or [],
        "costs": facts.get("costs") or {"group": 0, "store": 0},
        "stack_id": _str(facts.get("stack_id")),
        "reasons": facts.get("reasons", []),
        "created_at": iso(redemption.created_on),
        "reversal": None if reversal is None else {
            "reason": reversal["reason"], "by": reversal["by"], "at": iso(reversal["at"]),
        },
    }


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def hold_view(hold: Any, at: Any) -> dict[str, Any]:
    return {
        "id": str(hold.id),
        "status": hold.status_at(at),
        "codes": list(hold.request["codes"]),
        "customer_id": hold.request["customer_id"],
        "order_id": hold.request["order"]["id"],
        "expires_at": iso(hold.expires_at),
        "stack_id": _str(hold.stack_id),
    }
