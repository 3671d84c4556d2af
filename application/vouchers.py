"""Voucher use cases: issue codes (V1, V2, V5), assign them to customers, look them up."""

from __future__ import annotations

import random
from typing import Any

from application.campaigns import load_campaign
from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from application.views import voucher_view
from domain.campaign import Campaign
from domain.codes import normalize_code
from domain.errors import AlreadyExists, InvalidInput, InvalidTransition, NotFound
from domain.voucher import Voucher


class VoucherService:
    """Codes come from the campaign's spec or are given explicitly; each exists once per merchant."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger, rng: random.Random) -> None:
        self.executor = executor
        self.ledger = ledger
        self.rng = rng

    def issue_codes(
        self, actor: Actor, campaign_key: str, *, count: int | None = None,
        codes: list[str] | None = None, idempotency_key: str | None = None,
    ) -> CommandResult:
        """Generate `count` codes, or add the given `codes` (e.g. a multi-use HOLIMAN100)."""
        if (count is None) == (codes is None):
            raise InvalidInput("give either count or codes", code="count_or_codes")
        wanted = [normalize_code(c) for c in codes] if codes is not None else None
        if wanted is not None and len(set(wanted)) != len(wanted):
            raise InvalidInput("the list repeats a code", code="duplicate_codes")
        merchant = actor.merchant_id

        def decide(at: Any) -> Outcome:
            campaign = load_campaign(self.ledger, merchant, campaign_key)
            if wanted is not None:
                campaign.issue_vouchers(len(wanted), at, generated=False)
                self._refuse_taken(merchant, wanted)
                new_codes, source = wanted, "explicit"
            else:
                assert count is not None
                campaign.issue_vouchers(count, at)
                new_codes, source = self._fresh_codes(campaign, count), "generated"
            limit = campaign.terms.redemption_limit
            vouchers = [Voucher.issue(merchant, campaign.id, code, limit, at, source=source)
                        for code in new_codes]
            body = {"campaign_id": str(campaign.id), "campaign_key": campaign.key,
                    "count": len(new_codes), "codes": new_codes}
            return Outcome(201, body, (campaign, *vouchers))

        return self.executor.run(
            actor=actor, operation="issue_codes",
            payload={"campaign": campaign_key, "count": count, "codes": wanted},
            decide=decide, idempotency_key=idempotency_key,
            lock_key=Campaign.id_for(merchant, campaign_key),
        )

    def assign_new_voucher(
        self, actor: Actor, campaign_key: str, customer_id: str, idempotency_key: str | None = None
    ) -> CommandResult:
        """Issue one fresh code straight to a customer, taken from the campaign's stock."""
        merchant = actor.merchant_id

        def decide(at: Any) -> Outcome:
            campaign = load_campaign(self.ledger, merchant, campaign_key)
            campaign.issue_vouchers(1, at)
            code = self._fresh_codes(campaign, 1)[0]
            valid_from, valid_until = campaign.terms.rules.validity.window(at)
            voucher = Voucher.issue(merchant, campaign.id, code, campaign.terms.redemption_limit,
                                    at, holder=customer_id, valid_from=valid_from,
                                    valid_until=valid_until)
            return Outcome(201, voucher_view(voucher, campaign), (campaign, voucher))

        return self.executor.run(
            actor=actor, operation="assign_new_voucher",
            payload={"campaign": campaign_key, "customer_id": customer_id},
            decide=decide, idempotency_key=idempotency_key,
            lock_key=Campaign.id_for(merchant, campaign_key),
        )

    def link_voucher(
        self, actor: Actor, code: str, customer_id: str, idempotency_key: str | None = None
    ) -> CommandResult:
        """V6: link a physical code to a customer; it is applied at their next checkout."""
        return self.assign_voucher(actor, code, customer_id, idempotency_key, linked=True)

    def assign_voucher(
        self, actor: Actor, code: str, customer_id: str, idempotency_key: str | None = None,
        *, linked: bool = False,
    ) -> CommandResult:
        """Give an existing open code to a customer; it then shows in their wallet."""
        merchant = actor.merchant_id
        code = normalize_code(code)

        def decide(at: Any) -> Outcome:
            voucher = self._load(merchant, code)
            campaign = self.ledger.read(voucher.campaign_id, Campaign)
            if campaign.status in ("ended", "disabled"):
                raise InvalidTransition(f"the campaign is {campaign.status}", code="campaign_closed")
            valid_from, valid_until = campaign.terms.rules.validity.window(at)
            voucher.assign(customer_id, at, valid_from=valid_from, valid_until=valid_until,
                           linked=linked)
            return Outcome(200, voucher_view(voucher, campaign), (voucher,))

        return self.executor.run(
            actor=actor, operation="link_voucher" if linked else "assign_voucher",
            payload={"code": code, "customer_id": customer_id},
            decide=decide, idempotency_key=idempotency_key,
            lock_key=Voucher.id_for(merchant, code),
        )

    def get_voucher(self, merchant_id: str, code: str) -> dict[str, Any]:
        voucher = self._load(merchant_id, normalize_code(code))
        return voucher_view(voucher, self.ledger.read(voucher.campaign_id, Campaign))

    def _load(self, merchant_id: str, code: str) -> Voucher:
        voucher = self.ledger.find(Voucher.id_for(merchant_id, code), Voucher)
        if voucher is None:
            raise NotFound(f"no voucher {code!r}", code="unknown_code")
        return voucher

    def _refuse_taken(self, merchant_id: str, codes: list[str]) -> None:
        ids = {Voucher.id_for(merchant_id, c): c for c in codes}
        taken = self.ledger.existing(list(ids))
        if taken:
            raise AlreadyExists("some codes exist already", code="codes_exist",
                                codes=sorted(ids[i] for i in taken)[:100])

    def _fresh_codes(self, campaign: Campaign, count: int) -> list[str]:
        """`count` generated codes no voucher of this merchant has yet."""
        spec = campaign.terms.code_spec
        taken: set[str] = set()
        codes = spec.generate_many(self.rng, count, taken)
        while True:
            by_id = {Voucher.id_for(campaign.merchant_id, c): c for c in codes}
            clashes = {by_id[i] for i in self.ledger.existing(list(by_id))}
            if not clashes:
                return codes
            taken |= clashes | set(codes)
            keep = [c for c in codes if c not in clashes]
            codes = keep + spec.generate_many(self.rng, len(clashes), taken)
