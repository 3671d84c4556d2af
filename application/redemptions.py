"""Checkout use cases: validate (changes nothing), redeem (records), reverse (compensates). R1-R5."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from application.merchants import MerchantService
from application.points import EntryContext, PointsService
from application.reward_delivery import RewardDelivery, RewardUnavailable
from application.segments import SegmentService
from application.views import redemption_view
from domain.campaign import Campaign
from domain.codes import canonical_code, normalize_code
from domain.eligibility import Attempt, Decision, Order, Reason, decide
from domain.errors import InvalidInput, NotFound
from domain.points import EntryMeta, PointsAccount
from domain.redemption import Redemption
from domain.rewards import Points
from domain.usage import CustomerUsage
from domain.voucher import Voucher

UNKNOWN_CODE = Reason("unknown_code", "no such code")


@dataclass(frozen=True)
class RedeemRequest:
    """A checkout's question: this code, this customer, this order, here."""

    code: str
    order: Order
    customer_id: str | None = None
    store_id: str | None = None
    channel: str | None = None

    def payload(self) -> dict[str, Any]:
        return {"code": self.code, "order": self.order.to_dict(), "customer_id": self.customer_id,
                "store_id": self.store_id, "channel": self.channel}


@dataclass
class _Loaded:
    voucher: Voucher | None
    campaign: Campaign | None
    usage: CustomerUsage | None
    attempt: Attempt | None = None


class RedemptionService:
    """Validate and redeem share one decision function, so they cannot disagree."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger, points: PointsService,
                 merchants: MerchantService, segments: SegmentService) -> None:
        self.executor = executor
        self.ledger = ledger
        self.points = points
        self.merchants = merchants
        self.segments = segments
        self.delivery: RewardDelivery | None = None  # wired once pools and vouchers exist

    def validate(self, actor: Actor, request: RedeemRequest) -> dict[str, Any]:
        """Would this redemption be accepted, and for how much? Records nothing."""
        request = replace(request, code=canonical_code(request.code))
        at = self.executor.clock()
        loaded = self._load(actor.merchant_id, request)
        decision = self._decide(actor.merchant_id, loaded, request, at)
        body: dict[str, Any] = {
            "valid": decision.accepted,
            "code": request.code,
            "discount": decision.discount,
            "points": decision.points,
            "currency": request.order.currency,
            "qualifying_amount": decision.qualifying_amount,
            "allocations": decision.allocation_dicts(),
            "costs": asdict(decision.costs),
            "reasons": [{"code": r.code, "message": r.message} for r in decision.reasons],
        }
        if loaded.campaign is not None:
            body["campaign"] = {"id": str(loaded.campaign.id), "key": loaded.campaign.key,
                                "version": loaded.campaign.version}
        return body

    def redeem(self, actor: Actor, request: RedeemRequest, idempotency_key: str | None = None
               ) -> CommandResult:
        """Record the redemption, or the rejection with its reasons (both are ledger facts)."""
        request = replace(request, code=canonical_code(request.code))
        merchant = actor.merchant_id

        def decide_(at: datetime) -> Outcome:
            loaded = self._load(merchant, request)
            decision = self._decide(merchant, loaded, request, at)
            redemption_id = uuid.uuid4()
            if decision.accepted:
                try:
                    return self._acceptance(redemption_id, merchant, request, loaded, decision, at,
                                            by=actor.ref)
                except RewardUnavailable as exc:  # recorded as a rejection: nothing used up
                    decision = replace(decision, reasons=(Reason(exc.code, exc.detail),))
            rejection = self._rejection(redemption_id, merchant, request, loaded, decision, at,
                                        by=actor.ref)
            status = 404 if decision.reasons[0] == UNKNOWN_CODE else 422
            return Outcome(status, redemption_view(rejection), (rejection,))

        return self.executor.run(
            actor=actor, operation="redeem", payload=request.payload(), decide=decide_,
            idempotency_key=idempotency_key, lock_key=_voucher_id(merchant, request.code),
        )

    def reverse(self, actor: Actor, redemption_id: UUID, reason: str,
                idempotency_key: str | None = None) -> CommandResult:
        """Support reverses a redemption in full: compensating events give the use back (R4)."""
        if not reason.strip():
            raise InvalidInput("a reversal needs a reason", code="reason_required")

        def decide_(at: datetime) -> Outcome:
            redemption = self._load_redemption(actor.merchant_id, redemption_id)
            return self.reversal_outcome(actor, redemption, reason, at)

        return self.executor.run(
            actor=actor, operation="reverse_redemption",
            payload={"redemption_id": str(redemption_id), "reason": reason},
            decide=decide_, idempotency_key=idempotency_key, lock_key=redemption_id,
        )

    def reversal_outcome(self, actor: Actor, redemption: Redemption, reason: str, at: datetime
                         ) -> Outcome:
        """Reverse in full what is in force: the redemption, the voucher's use, the customer's
        usage and any points, as compensating events saved together."""
        redemption.reverse(reason, actor.ref, at)
        voucher = self.ledger.load(redemption.facts["voucher_id"], Voucher)
        voucher.reverse_redemption(redemption.id, reason.strip(), at)
        usage = None
        if redemption.facts["usage_counted"]:
            usage = self.ledger.load(CustomerUsage.id_for(
                actor.merchant_id, redemption.facts["campaign_id"], redemption.facts["customer_id"]),
                CustomerUsage)
            usage.release(redemption.id, at)
        account = self._take_back_points(actor.merchant_id, redemption, reason, at)
        offer = self._take_back_offer(redemption, reason, actor.ref, at)
        return Outcome(200, redemption_view(redemption), (redemption, voucher, usage, account, offer))

    def _take_back_offer(self, redemption: Redemption, reason: str, by: str, at: datetime
                         ) -> Voucher | None:
        """W2: the offer a reversed redemption placed is withdrawn if still unused (a used one
        stays spent; a partner code, once shown to the customer, stays sold)."""
        given = redemption.facts.get("reward") or {}
        if given.get("type") != "offer" or not given.get("voucher_id"):
            return None
        offer = self.ledger.load(UUID(given["voucher_id"]), Voucher)
        return offer if offer.withdraw(redemption.id, reason.strip(), by, at) else None

    def load_redemption(self, merchant_id: str, redemption_id: UUID) -> Redemption:
        return self._load_redemption(merchant_id, redemption_id)

    def _take_back_points(self, merchant_id: str, redemption: Redemption, reason: str,
                          at: datetime) -> PointsAccount | None:
        """A reversed points redemption debits what it credited (may overdraw: already spent)."""
        facts = redemption.facts
        if not facts.get("points_awarded"):
            return None
        reward = self.ledger.find_at(facts["campaign_id"], facts["campaign_version"]).terms.reward
        meta = _points_meta(facts["code"], facts["order"].get("id"), facts.get("channel"),
                            -facts["points_awarded"], reason)
        return self.points.debit_for(merchant_id, facts["customer_id"], reward.program, reward.category,
                                     "promo_code_reversal", facts["points_awarded"], at, meta)

    def get_redemption(self, merchant_id: str, redemption_id: UUID) -> dict[str, Any]:
        return redemption_view(self._load_redemption(merchant_id, redemption_id))

    def _load_redemption(self, merchant_id: str, redemption_id: UUID) -> Redemption:
        redemption = self.ledger.find(redemption_id, Redemption)
        if redemption is None or redemption.merchant_id != merchant_id:
            raise NotFound("no such redemption", code="redemption_not_found")
        return redemption

    def _load(self, merchant_id: str, request: RedeemRequest) -> _Loaded:
        voucher_id = _voucher_id(merchant_id, request.code)
        voucher = self.ledger.find(voucher_id, Voucher) if voucher_id else None
        if voucher is None:
            return _Loaded(None, None, None)
        campaign = self.ledger.read(voucher.campaign_id, Campaign)
        usage = None
        if campaign.terms.per_customer_limit is not None and request.customer_id is not None:
            usage = self.ledger.find(
                CustomerUsage.id_for(merchant_id, campaign.id, request.customer_id), CustomerUsage)
        return _Loaded(voucher, campaign, usage)

    def _decide(self, merchant_id: str, loaded: _Loaded, request: RedeemRequest, at: datetime
                ) -> Decision:
        if loaded.voucher is None or loaded.campaign is None:
            return Decision(discount=0, reasons=(UNKNOWN_CODE,))
        loaded.attempt = self._attempt(merchant_id, loaded.campaign, request, at)
        uses = loaded.usage.count if loaded.usage is not None else 0
        return decide(loaded.campaign, loaded.voucher, uses, loaded.attempt)

    def _attempt(self, merchant_id: str, campaign: Campaign, request: RedeemRequest, at: datetime
                 ) -> Attempt:
        """The attempt with what the rules need: local time, holiday, segment membership."""
        local, holidays = self.merchants.local_context(merchant_id, at)
        return Attempt(customer_id=request.customer_id, order=request.order, at=at,
                       store_id=request.store_id, channel=request.channel, local=local,
                       holidays=frozenset({local.date()} & holidays),
                       segments=self.segments.segments_of(merchant_id, campaign.terms.rules.segment,
                                                          request.customer_id))

    @staticmethod
    def _rejection(redemption_id: UUID, merchant_id: str, request: RedeemRequest, loaded: _Loaded,
                   decision: Decision, at: datetime, stack_id: UUID | None = None,
                   by: str | None = None) -> Redemption:
        campaign = loaded.campaign
        return Redemption.reject(
            redemption_id, at, merchant_id=merchant_id, code=request.code,
            voucher_id=loaded.voucher.id if loaded.voucher else None,
            campaign_id=campaign.id if campaign else None,
            campaign_version=campaign.version if campaign else None,
            customer_id=request.customer_id, order=request.order.to_dict(),
            store_id=request.store_id, channel=request.channel,
            reasons=[{"code": r.code, "message": r.message} for r in decision.reasons],
            voucher_version=loaded.voucher.version if loaded.voucher else None,
            customer_uses=loaded.usage.count if loaded.usage else 0,
            context=_context(loaded.attempt), stack_id=stack_id, by=by,
        )

    def _acceptance(self, redemption_id: UUID, merchant_id: str, request: RedeemRequest,
                    loaded: _Loaded, decision: Decision, at: datetime, *,
                    stack_id: UUID | None = None,
                    shared_accounts: dict[UUID, PointsAccount] | None = None,
                    hold_id: UUID | None = None, by: str = "") -> Outcome:
        voucher, campaign = loaded.voucher, loaded.campaign
        assert voucher is not None and campaign is not None
        reward_given = decision.reward
        handed_over: tuple[Aggregate | None, ...] = ()
        if reward_given is not None and self.delivery is not None:  # before anything is changed
            reward_given, handed_over = self.delivery.deliver(
                merchant_id, reward_given, redemption_id, request.customer_id, by, at)
        voucher_version = voucher.version
        uses = loaded.usage.count if loaded.usage is not None else 0
        voucher.redeem(redemption_id, request.customer_id, decision.discount, at,
                       order_id=request.order.id, hold_id=hold_id)
        usage = None
        limit = campaign.terms.per_customer_limit
        if limit is not None and request.customer_id is not None:
            usage = loaded.usage or CustomerUsage.start(merchant_id, campaign.id, request.customer_id, at)
            usage.use(redemption_id, limit, at)
            loaded.usage = usage  # a stack's next code of this campaign counts this use
        redemption = Redemption.record(
            redemption_id, at, merchant_id=merchant_id, voucher_id=voucher.id, code=voucher.code,
            campaign_id=campaign.id, campaign_version=campaign.version,
            customer_id=request.customer_id, order=request.order.to_dict(),
            store_id=request.store_id, channel=request.channel, currency=request.order.currency,
            discount=decision.discount, usage_counted=usage is not None,
            voucher_version=voucher_version, customer_uses=uses, points_awarded=decision.points,
            allocations=decision.allocation_dicts(), costs=asdict(decision.costs),
            context=_context(loaded.attempt), stack_id=stack_id, reward=reward_given, by=by or None,
        )
        account = None
        reward = campaign.terms.reward
        if decision.points and isinstance(reward, Points) and request.customer_id is not None:
            meta = _points_meta(voucher.code, request.order.id, request.channel, decision.points,
                                f"promo code {voucher.code}")
            account = self.points.credit_for(merchant_id, request.customer_id, reward.program,
                                             reward.category, "promo_code", decision.points, at, meta,
                                             shared=shared_accounts)
        return Outcome(201, redemption_view(redemption),
                       (voucher, usage, redemption, account, *handed_over))


def _context(attempt: Attempt | None) -> dict[str, Any] | None:
    """What the rules saw besides the order, pinned so an auditor can decide again (B4)."""
    if attempt is None:
        return None
    return {"local": (attempt.local or attempt.at).isoformat(),
            "holidays": sorted(d.isoformat() for d in attempt.holidays),
            "segments": sorted(attempt.segments)}


def _points_meta(code: str, order_id: str | None, channel: str | None, points: int,
                 reason: str) -> EntryMeta:
    source = {"online": "ECOMMERCE", "offline": "INSTORE"}.get(channel or "", "SYSTEM")
    return EntryContext(source=source, transaction_id=order_id, reason=reason).meta("PROMO_CODE", points)


def _voucher_id(merchant_id: str, code: str) -> UUID | None:
    try:
        return Voucher.id_for(merchant_id, normalize_code(code))
    except InvalidInput:
        return None  # a malformed code names no voucher: it is simply unknown
