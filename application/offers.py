"""Best offer (R6): for a customer and a cart, the wallet's vouchers ranked by what they give,
and the best stack of them that applies together.

Candidates come from the wallet read model (what the customer holds); every figure comes from
the same decision redeem would take. Ranking: money off first (more is better), then points,
then the code. The best stack is built greedily from that ranking: a code joins when the stack
stays valid as a whole (exclusivity, limits, lines left to discount) and gives more.
"""

from __future__ import annotations

from typing import Any

from application.commands import Actor
from application.stacks import StackRequest, StackService
from domain.eligibility import Order
from projections.queries import QueryService

MAX_CANDIDATES = 50


class OfferService:
    """The simplest honest personalisation: what the customer holds, best first."""

    def __init__(self, stacks: StackService, queries: QueryService) -> None:
        self.stacks = stacks
        self.queries = queries

    def best_offers(self, actor: Actor, customer_id: str, order: Order, *, store_id: str | None = None,
                    channel: str | None = None, min_position: int | None = None) -> dict[str, Any]:
        merchant = actor.merchant_id
        held = self.queries.wallet(merchant, customer_id, min_position)["vouchers"]
        codes = [v["code"] for v in held if v.get("source", "ours") != "partner"
                 and v["state"] != "redeemed" and not v["expired"]][:MAX_CANDIDATES]
        at = self.stacks.redemptions.executor.clock()
        memo: dict[Any, Any] = {}  # one instant: every code's aggregates are loaded once

        def judge(stack: list[str]) -> dict[str, Any]:
            request = StackRequest(codes=tuple(stack), order=order, customer_id=customer_id,
                                   store_id=store_id, channel=channel)
            return self.stacks.decide_validation(merchant, request, at, memo)[0]

        offers = sorted((judge([code])["items"][0] for code in codes),
                        key=lambda i: (not i["valid"], -i["discount"], -i["points"], i["code"]))
        best: list[str] = []
        best_body: dict[str, Any] | None = None
        for offer in (o for o in offers if o["valid"]):
            trial = judge([*best, offer["code"]])
            value = (trial["discount"], trial["points"])
            if trial["valid"] and (best_body is None or value > (best_body["discount"], best_body["points"])):
                best, best_body = [*best, offer["code"]], trial
        return {
            "customer_id": customer_id,
            "currency": order.currency,
            "best_stack": {"codes": best, "discount": best_body["discount"] if best_body else 0,
                           "points": best_body["points"] if best_body else 0,
                           "order_of_application": best_body["order_of_application"] if best_body else []},
            "offers": offers,
        }
