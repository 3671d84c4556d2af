"""Campaign use cases: create, revise, move through review and lifecycle (C3-C5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from application.merchants import MerchantService
from application.views import campaign_view
from domain.campaign import Campaign, CampaignTerms
from domain.errors import AlreadyExists, InvalidInput, NotFound
from domain.programs import ProgramCatalog
from domain.rewards import Points
from domain.template_serial import TemplateSerial

# action -> whether it takes a reason
TRANSITIONS = {"submit": False, "approve": False, "reject": True, "activate": False,
               "end": False, "disable": True}


def checked_terms(ledger: Ledger, merchant_id: str, terms: dict[str, Any]) -> CampaignTerms:
    """Terms whose points reward (W2), if any, names one of the merchant's programs."""
    checked = CampaignTerms.from_dict(terms)
    if isinstance(checked.reward, Points):
        catalog = ledger.find(ProgramCatalog.id_for(merchant_id), ProgramCatalog)
        if catalog is None or checked.reward.program not in catalog.programs:
            raise NotFound(f"no points program {checked.reward.program!r}", code="program_not_found")
    return checked


def load_campaign(ledger: Ledger, merchant_id: str, key: str) -> Campaign:
    campaign = ledger.find(Campaign.id_for(merchant_id, key), Campaign)
    if campaign is None:
        raise NotFound(f"no campaign {key!r}", code="campaign_not_found")
    return campaign


class CampaignService:
    """Operations set campaigns up; a reviewer approves them; they run and end."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger,
                 merchants: MerchantService | None = None, serial_width: int = 3) -> None:
        self.executor = executor
        self.ledger = ledger
        self.merchants = merchants
        self.serial_width = serial_width

    def create_campaign(
        self, actor: Actor, key: str, terms: dict[str, Any], idempotency_key: str | None = None,
        parent: str | None = None,
    ) -> CommandResult:
        """A campaign in draft, with its template code (C2); a sub-campaign of `parent` (C1)."""
        def decide(at: Any) -> Outcome:
            if self.ledger.find(Campaign.id_for(actor.merchant_id, key), Campaign) is not None:
                raise AlreadyExists(f"campaign {key!r} exists", code="campaign_exists")
            main = load_campaign(self.ledger, actor.merchant_id, parent) if parent else None
            serial = self._serial(actor.merchant_id, at)
            campaign = Campaign.create(actor.merchant_id, key,
                                       checked_terms(self.ledger, actor.merchant_id, terms), actor.ref, at,
                                       template_code=serial.take(self.serial_width, at), parent=main)
            return Outcome(201, campaign_view(campaign), (campaign, serial))

        return self.executor.run(
            actor=actor, operation="create_campaign", payload={"key": key, "terms": terms, "parent": parent},
            decide=decide, idempotency_key=idempotency_key,
            lock_key=Campaign.id_for(actor.merchant_id, key),
        )

    def _serial(self, merchant_id: str, at: datetime) -> TemplateSerial:
        """Today's serial counter in the merchant's local date; saved with the campaign."""
        local = self.merchants.local_context(merchant_id, at)[0] if self.merchants else at
        day = local.date()
        found = self.ledger.find(TemplateSerial.id_for(merchant_id, day), TemplateSerial)
        return found or TemplateSerial.start(merchant_id, day, at)

    def revise_campaign(
        self, actor: Actor, key: str, terms: dict[str, Any], idempotency_key: str | None = None
    ) -> CommandResult:
        def decide(at: Any) -> Outcome:
            campaign = load_campaign(self.ledger, actor.merchant_id, key)
            campaign.revise(checked_terms(self.ledger, actor.merchant_id, terms), actor.ref, at)
            return Outcome(200, campaign_view(campaign), (campaign,))

        return self.executor.run(
            actor=actor, operation="revise_campaign", payload={"key": key, "terms": terms},
            decide=decide, idempotency_key=idempotency_key,
            lock_key=Campaign.id_for(actor.merchant_id, key),
        )

    def change_status(
        self, actor: Actor, key: str, action: str, reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """submit / approve / reject / activate / end / disable."""
        if action not in TRANSITIONS:
            raise InvalidInput(f"unknown action {action!r}", code="unknown_action")
        if TRANSITIONS[action] and not reason:
            raise InvalidInput(f"{action} needs a reason", code="reason_required")

        def decide(at: Any) -> Outcome:
            campaign = load_campaign(self.ledger, actor.merchant_id, key)
            method = getattr(campaign, action)
            if TRANSITIONS[action]:
                method(actor.ref, reason, at)
            else:
                method(actor.ref, at)
            return Outcome(200, campaign_view(campaign), (campaign,))

        return self.executor.run(
            actor=actor, operation=f"{action}_campaign", payload={"key": key, "reason": reason},
            decide=decide, idempotency_key=idempotency_key,
            lock_key=Campaign.id_for(actor.merchant_id, key),
        )

    def get_campaign(self, merchant_id: str, key: str) -> dict[str, Any]:
        return campaign_view(load_campaign(self.ledger, merchant_id, key))
