"""Voucher use cases: issue codes (V1, V2, V5), assign them to customers, look them up."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from application.campaigns import load_campaign
from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from application.merchants import MerchantService
from application.segments import SegmentService
from application.views import voucher_view
from domain.campaign import Campaign
from domain.claims import CustomerClaims
from domain.codes import normalize_code
from domain.customer import check_ref
from domain.eligibility import Reason, campaign_reasons
from domain.errors import AlreadyExists, InvalidInput, InvalidTransition, NotFound
from domain.rules.engine import ClaimSituation
from domain.rules.model import CHANNELS
from domain.voucher import Voucher


class VoucherService:
    """Codes come from the campaign's spec or are given explicitly; each exists once per merchant."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger, rng: random.Random,
                 merchants: MerchantService | None = None, segments: SegmentService | None = None
                 ) -> None:
        self.executor = executor
        self.ledger = ledger
        self.rng = rng
        self.merchants = merchants or MerchantService(executor, ledger)
        self.segments = segments or SegmentService(executor, ledger)

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
        """Push one fresh code straight to a customer, taken from the campaign's stock (C6 rules
        apply: a customers-claim-only campaign refuses, claim limits and segment count)."""
        return self._new_voucher_for(actor, campaign_key, customer_id, "push", None,
                                     "assign_new_voucher", idempotency_key)

    def claim_voucher(
        self, actor: Actor, campaign_key: str, customer_id: str, channel: str | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """C6: the customer claims a voucher: the campaign must be live, the claim channel and
        method allowed, the customer within the claim limits and segment; the answer carries the
        campaign's redirect URL."""
        if channel is not None and channel not in CHANNELS[1:]:
            raise InvalidInput("channel is online or offline", code="invalid_channel")
        return self._new_voucher_for(actor, campaign_key, customer_id, "customer", channel,
                                     "claim_voucher", idempotency_key)

    def _new_voucher_for(self, actor: Actor, campaign_key: str, customer_id: str, method: str,
                         channel: str | None, operation: str, idempotency_key: str | None
                         ) -> CommandResult:
        check_ref(customer_id, "customer_id")
        merchant = actor.merchant_id

        def decide(at: datetime) -> Outcome:
            campaign = load_campaign(self.ledger, merchant, campaign_key)
            extra: list[Reason] = []
            if method == "customer":
                extra = campaign_reasons(campaign, at)
                if campaign.remaining_stock == 0:
                    extra.append(Reason("stock_exhausted", "no vouchers left to claim"))
            voucher, claims = self._fresh_voucher_for(campaign, customer_id, method, channel, at,
                                                      extra)
            body = voucher_view(voucher, campaign)
            if method == "customer":
                body["redirect_url"] = campaign.terms.redirect_url
            return Outcome(201, body, (campaign, voucher, claims))

        return self.executor.run(
            actor=actor, operation=operation,
            payload={"campaign": campaign_key, "customer_id": customer_id,
                     **({"channel": channel} if channel is not None else {})},
            decide=decide, idempotency_key=idempotency_key,
            lock_key=Campaign.id_for(merchant, campaign_key),
        )

    def offer_for(self, merchant_id: str, campaign_key: str, customer_id: str, at: datetime
                  ) -> tuple[Voucher, tuple[Campaign, Voucher, CustomerClaims]]:
        """W2: a voucher of the offer's (live) campaign for the customer's wallet, and what to
        save with the redemption that earned it. Pushed by the system: C6 limits count."""
        campaign = load_campaign(self.ledger, merchant_id, campaign_key)
        voucher, claims = self._fresh_voucher_for(campaign, customer_id, "push", None, at,
                                                  campaign_reasons(campaign, at))
        return voucher, (campaign, voucher, claims)

    def _fresh_voucher_for(self, campaign: Campaign, customer_id: str, method: str,
                           channel: str | None, at: datetime, extra: list[Reason]
                           ) -> tuple[Voucher, CustomerClaims]:
        """A fresh code from stock, held by the customer, counted by C6 (refused with reasons)."""
        claims, situation = self._claims(campaign, customer_id, method, channel, at)
        CustomerClaims.check(campaign.terms.rules, situation, extra)
        campaign.issue_vouchers(1, at)
        code = self._fresh_codes(campaign, 1)[0]
        valid_from, valid_until = campaign.terms.rules.validity.window(at)
        voucher = Voucher.issue(campaign.merchant_id, campaign.id, code,
                                campaign.terms.redemption_limit, at, holder=customer_id,
                                valid_from=valid_from, valid_until=valid_until)
        claims.claim(campaign.terms.rules, situation, voucher.id, code, at)
        return voucher, claims

    def _claims(self, campaign: Campaign, customer_id: str, method: str, channel: str | None,
                at: datetime) -> tuple[CustomerClaims, ClaimSituation]:
        """The customer's claims in the campaign and what C6 judges a new one by."""
        merchant = campaign.merchant_id
        claims = self.ledger.find(CustomerClaims.id_for(merchant, campaign.id, customer_id),
                                  CustomerClaims) \
            or CustomerClaims.start(merchant, campaign.id, customer_id, at)
        local, _ = self.merchants.local_context(merchant, at)
        segments = self.segments.segments_of(merchant, campaign.terms.rules.segment, customer_id)
        return claims, claims.situation(local, method, channel, segments)

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
            claims, situation = self._claims(campaign, customer_id, "link" if linked else "push",
                                             None, at)
            claims.claim(campaign.terms.rules, situation, voucher.id, voucher.code, at)
            return Outcome(200, voucher_view(voucher, campaign), (voucher, claims))

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
