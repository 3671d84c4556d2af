"""Stacking (R3): several codes on one order, applied in a documented order, all or nothing.

Order of application: fixed amounts first (amount off, cash vouchers), then percentages on what
the earlier codes left of each line, then points rewards (no money off); within one kind, in the
order the checkout listed the codes. Each campaign's exclusivity is checked against every other
campaign in the stack, from both sides. A stack is redeemed in one transaction: every code, or
none — a refused stack records a rejection for each code that failed, and redeems nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from application.commands import Actor, CommandResult, Outcome
from application.redemptions import (
    UNKNOWN_CODE,
    RedeemRequest,
    RedemptionService,
    _Loaded,
    _voucher_id,
)
from application.views import redemption_view
from domain.codes import canonical_code
from domain.eligibility import Attempt, Decision, Order, decide
from domain.errors import InvalidInput
from domain.points import PointsAccount
from domain.usage import CustomerUsage
from domain.voucher import Voucher

KIND_ORDER = {"amount_off": 0, "cash_voucher": 0, "percent_off": 1, "points": 2}
MAX_CODES = 10


@dataclass(frozen=True)
class StackRequest:
    """Codes for one order, with who, where and how."""

    codes: tuple[str, ...]
    order: Order
    customer_id: str | None = None
    store_id: str | None = None
    channel: str | None = None
    apply_linked: bool = False  # V6: add the customer's linked codes that improve the stack

    def single(self, code: str) -> RedeemRequest:
        return RedeemRequest(code=code, order=self.order, customer_id=self.customer_id,
                             store_id=self.store_id, channel=self.channel)

    def payload(self) -> dict[str, Any]:
        return {"codes": list(self.codes), "order": self.order.to_dict(), "customer_id": self.customer_id,
                "store_id": self.store_id, "channel": self.channel, "apply_linked": self.apply_linked}


@dataclass
class _Item:
    code: str
    given: int  # position in the request
    loaded: _Loaded
    decision: Decision | None = None
    outcome: Outcome | None = None  # what redeeming it would save

    @property
    def kind_rank(self) -> int:
        campaign = self.loaded.campaign
        return KIND_ORDER.get(campaign.terms.reward.type, 9) if campaign else 9


class StackService:
    """Validate and redeem stacks with the single-code pieces of the redemption service."""

    def __init__(self, redemptions: RedemptionService,
                 linked_codes: Callable[[str, str], list[str]] | None = None) -> None:
        self.redemptions = redemptions
        self.linked_codes = linked_codes  # (merchant, customer) -> codes linked to the customer

    def validate(self, actor: Actor, request: StackRequest) -> dict[str, Any]:
        """Would this stack apply, code by code, and for how much in all? Records nothing."""
        request = _checked(request)
        at = self.redemptions.executor.clock()
        request = _some(self._with_linked(actor.merchant_id, request, at))
        return _body(self._evaluate(actor.merchant_id, request, at), request)

    def redeem(self, actor: Actor, request: StackRequest, idempotency_key: str | None = None
               ) -> CommandResult:
        """Redeem every code of the stack in one transaction, or none of them."""
        request = _checked(request)
        merchant = actor.merchant_id
        return self.redemptions.executor.run(
            actor=actor, operation="redeem_stack", payload=request.payload(),
            decide=lambda at: self.decide_redemption(merchant, request, at, by=actor.ref),
            idempotency_key=idempotency_key,
            lock_key=_voucher_id(merchant, request.codes[0]) if request.codes else None,
        )

    def decide_redemption(self, merchant: str, request: StackRequest, at: datetime,
                          hold_id: UUID | None = None, by: str | None = None) -> Outcome:
        """The outcome of redeeming the stack now (confirming `hold_id`, if given)."""
        request = _some(self._with_linked(merchant, request, at))
        stack_id = uuid.uuid4()
        shared: dict[UUID, PointsAccount] = {}
        items = self._evaluate(merchant, request, at, stack_id=stack_id, shared=shared,
                               hold_id=hold_id, by=by)
        refused = [i for i in items if i.decision is not None and not i.decision.accepted]
        if refused:
            return self._refusal(stack_id, merchant, request, items, refused, at, by)
        changed: list[Any] = []
        views = []
        for item in items:
            assert item.outcome is not None
            changed += [a for a in item.outcome.aggregates if a is not None]
            views.append(item.outcome.body)
        body = {**_body(items, request), "id": str(stack_id), "status": "redeemed", "redemptions": views}
        return Outcome(201, body, tuple(changed))

    def decide_validation(self, merchant: str, request: StackRequest, at: datetime,
                          memo: dict[Any, Any] | None = None) -> tuple[dict[str, Any], list[Voucher]]:
        """The validation body at `at`, and the vouchers exactly as it saw them (for holds).

        `memo` lets a caller judging many stacks at one instant (best offer) load each code's
        aggregates, and the attempt's context, once.
        """
        items = self._evaluate(merchant, request, at, memo=memo)
        vouchers = [i.loaded.voucher for i in sorted(items, key=lambda i: i.given) if i.loaded.voucher]
        return _body(items, request), vouchers

    def _loaded(self, merchant: str, single: RedeemRequest, memo: dict[Any, Any] | None) -> _Loaded:
        if memo is None:
            return self.redemptions._load(merchant, single)
        key = ("loaded", single.code)
        if key not in memo:
            memo[key] = self.redemptions._load(merchant, single)
        found: _Loaded = memo[key]
        return _Loaded(found.voucher, found.campaign, found.usage)  # a fresh attempt slot per trial

    def _attempt(self, merchant: str, campaign: Any, single: RedeemRequest, at: datetime,
                 memo: dict[Any, Any] | None) -> Attempt:
        if memo is None:
            return self.redemptions._attempt(merchant, campaign, single, at)
        key = ("attempt", campaign.id)
        if key not in memo:
            memo[key] = self.redemptions._attempt(merchant, campaign, single, at)
        attempt: Attempt = memo[key]
        return replace(attempt, order=single.order)

    def _with_linked(self, merchant: str, request: StackRequest, at: datetime) -> StackRequest:
        """V6: each linked code of the customer joins when the stack stays valid and gives more."""
        if not (request.apply_linked and request.customer_id and self.linked_codes):
            return request
        best = _value(self._evaluate(merchant, request, at))
        for code in self.linked_codes(merchant, request.customer_id):
            if code in request.codes or len(request.codes) >= MAX_CODES:
                continue
            trial = replace(request, codes=(*request.codes, code))
            items = self._evaluate(merchant, trial, at)
            if all(i.decision and i.decision.accepted for i in items) and _value(items) > best:
                request, best = trial, _value(items)
        return replace(request, apply_linked=False)

    def _evaluate(self, merchant: str, request: StackRequest, at: datetime, *,
                  stack_id: UUID | None = None, shared: dict[UUID, PointsAccount] | None = None,
                  hold_id: UUID | None = None, memo: dict[Any, Any] | None = None,
                  by: str | None = None) -> list[_Item]:
        """Decide each code in application order; with `stack_id`, also apply the accepted ones."""
        svc = self.redemptions
        items = [_Item(code, n, self._loaded(merchant, request.single(code), memo))
                 for n, code in enumerate(request.codes)]
        items.sort(key=lambda i: (i.kind_rank, i.given))
        keys = tuple(i.loaded.campaign.key for i in items if i.loaded.campaign is not None)
        remaining = [line.amount for line in request.order.engine_lines()]
        usages: dict[UUID, CustomerUsage | None] = {}
        for item in items:
            loaded = item.loaded
            if loaded.voucher is None or loaded.campaign is None:
                item.decision = Decision(0, (UNKNOWN_CODE,))
                continue
            campaign = loaded.campaign
            loaded.usage = usages.get(campaign.id, loaded.usage)  # one object per campaign
            attempt = self._attempt(merchant, campaign, request.single(item.code), at, memo)
            loaded.attempt = replace(attempt, stack=tuple(k for k in keys if k != campaign.key),
                                     remaining=tuple(remaining), hold_id=hold_id)
            uses = loaded.usage.count if loaded.usage is not None else 0
            item.decision = decide(campaign, loaded.voucher, uses, loaded.attempt)
            if not item.decision.accepted:
                continue
            for allocation in item.decision.allocations:
                remaining[allocation.line] -= allocation.amount
            if stack_id is not None:
                item.outcome = svc._acceptance(
                    uuid.uuid4(), merchant, request.single(item.code), loaded, item.decision, at,
                    stack_id=stack_id, shared_accounts=shared, hold_id=hold_id, by=by or "")
                usages[campaign.id] = loaded.usage
        return items

    def _refusal(self, stack_id: UUID, merchant: str, request: StackRequest, items: list[_Item],
                 refused: list[_Item], at: datetime, by: str | None = None) -> Outcome:
        rejections = []
        for item in refused:
            assert item.decision is not None
            rejections.append(self.redemptions._rejection(
                uuid.uuid4(), merchant, request.single(item.code), item.loaded, item.decision, at,
                stack_id=stack_id, by=by))
        first = refused[0].decision
        assert first is not None
        body = {**_body(items, request), "id": str(stack_id), "status": "rejected",
                "reasons": [{"code": r.code, "message": r.message} for r in first.reasons],
                "rejections": [redemption_view(r) for r in rejections]}
        all_unknown = all(i.decision is not None and i.decision.reasons == (UNKNOWN_CODE,)
                          for i in refused)
        return Outcome(404 if all_unknown and len(refused) == len(items) else 422, body, tuple(rejections))


def _some(request: StackRequest) -> StackRequest:
    if not request.codes:
        raise InvalidInput("no code to apply: none given and none linked applies", code="no_codes")
    return request


def _value(items: list[_Item]) -> tuple[int, int]:
    accepted = [i.decision for i in items if i.decision is not None and i.decision.accepted]
    return sum(d.discount for d in accepted), sum(d.points for d in accepted)


def _checked(request: StackRequest) -> StackRequest:
    codes = tuple(canonical_code(c) for c in request.codes)
    least = 0 if request.apply_linked and request.customer_id else 1  # linked codes may fill it
    if not least <= len(codes) <= MAX_CODES:
        raise InvalidInput(f"a stack has 1..{MAX_CODES} codes", code="invalid_stack")
    if len(set(codes)) != len(codes):
        raise InvalidInput("a code appears twice in the stack", code="duplicate_codes")
    return replace(request, codes=codes)


def _body(items: list[_Item], request: StackRequest) -> dict[str, Any]:
    rows = []
    for item in sorted(items, key=lambda i: i.given):
        d = item.decision or Decision(0, (UNKNOWN_CODE,))
        campaign = item.loaded.campaign
        rows.append({
            "code": item.code, "valid": d.accepted, "discount": d.discount, "points": d.points,
            "allocations": d.allocation_dicts(), "costs": asdict(d.costs),
            "campaign_key": campaign.key if campaign else None,
            "reasons": [{"code": r.code, "message": r.message} for r in d.reasons],
        })
    accepted = [i for i in items if i.decision is not None and i.decision.accepted]
    return {
        "valid": len(accepted) == len(items),
        "discount": sum(i.decision.discount for i in accepted if i.decision),
        "points": sum(i.decision.points for i in accepted if i.decision),
        "currency": request.order.currency,
        "order_of_application": [i.code for i in items],
        "items": rows,
    }
