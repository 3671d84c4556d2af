"""Rewards that hand something over at redemption (C5, W2): a gift item, a partner's code drawn
from its pool, or an offer placed in the customer's wallet.

What is handed over is saved in the same transaction as the redemption that earned it, so a
partner code is never drawn for a redemption that was not recorded, and a recorded redemption
always names what it gave (its `reward` fact).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.pools import PoolService, StockLagging
from application.vouchers import VoucherService
from domain.errors import DomainError, InvalidTransition


class RewardUnavailable(InvalidTransition):
    """The reward cannot be handed over (pool sold out, offer campaign closed, claim limit):
    the redemption is recorded as rejected with this reason, and nothing is used up."""


class RewardDelivery:
    def __init__(self, vouchers: VoucherService, pools: PoolService) -> None:
        self.vouchers = vouchers
        self.pools = pools

    def deliver(self, merchant_id: str, given: dict[str, Any], redemption_id: UUID,
                customer_id: str | None, by: str, at: datetime
                ) -> tuple[dict[str, Any], tuple[Aggregate | None, ...]]:
        """What the redemption gives, completed with the drawn code or the placed voucher, and
        the aggregates to save with it."""
        try:
            if given["type"] == "partner_code":
                sale, changed = self.pools.sale_for(merchant_id, given["pool"], str(redemption_id),
                                                    "reward", customer_id, 1, by, at)
                code = sale.codes[0]
                return given | {"code": code["partner_code"],
                                "internal_code": code["internal_code"]}, changed
            if given["type"] == "offer":
                assert customer_id is not None  # the engine asks for one first
                voucher, saved = self.vouchers.offer_for(merchant_id, given["campaign"], customer_id,
                                                         at)
                return given | {"voucher_code": voucher.code, "voucher_id": str(voucher.id)}, saved
        except StockLagging:
            raise  # retryable: the caller answers 503 and the checkout tries again
        except DomainError as exc:
            raise RewardUnavailable(f"the reward cannot be given: {exc.detail}",
                                    code=_reason_code(given, exc)) from exc
        return given, ()


def _reason_code(given: dict[str, Any], exc: DomainError) -> str:
    if given["type"] == "partner_code":
        return "reward_sold_out" if exc.code == "sold_out" else "reward_unavailable"
    return exc.code if exc.code.startswith("claim_") else "offer_unavailable"
