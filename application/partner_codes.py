"""After the sale (P5, V7): return unsold codes to the partner, take in the partner's
redemption report, look a sold code up by our internal code."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from application.pools import StockLagging, StockView, load_pool, settle_stock
from domain.clock import iso
from domain.codes import canonical_code
from domain.errors import InvalidInput, NotFound
from domain.idempotency import IdempotencyRecord, check_key, request_hash
from domain.pool import CodePool, CodeStatus, InternalCode, PartnerCode

MAX_CODES_PER_REQUEST = 10_000
RETURN_PAGE = 2_000


def _codes(codes: Sequence[str]) -> list[str]:
    """Trimmed, de-duplicated, in the order given; partner codes keep their case."""
    cleaned = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not 1 <= len(cleaned) <= MAX_CODES_PER_REQUEST:
        raise InvalidInput(f"give 1..{MAX_CODES_PER_REQUEST} codes", code="invalid_code_list")
    return cleaned


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("a reason of 1-500 characters is required", code="reason_required")
    return reason


class PartnerCodeService:
    """Operations return the unsold and record the partner's redemptions; support looks codes up."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger, stock: StockView) -> None:
        self.executor = executor
        self.ledger = ledger
        self.stock = stock

    def return_codes(self, actor: Actor, campaign_key: str, codes: Sequence[str], reason: str,
                     idempotency_key: str | None = None) -> CommandResult:
        """Mark these unsold codes returned to the partner: they are never sold afterwards."""
        wanted, why = _codes(codes), _reason(reason)
        return self.executor.run(
            actor=actor, operation="return_pool_codes",
            payload={"campaign": campaign_key, "codes": wanted, "reason": why},
            decide=lambda at: self._return(actor, campaign_key, wanted, why, at),
            idempotency_key=idempotency_key,
            lock_key=CodePool.id_for(actor.merchant_id, campaign_key))

    def return_unsold(self, actor: Actor, campaign_key: str, reason: str,
                      idempotency_key: str | None = None) -> CommandResult:
        """Return every code still unsold, a page per transaction; a sale racing it keeps its code."""
        why, merchant = _reason(reason), actor.merchant_id
        operation, payload = "return_unsold", {"campaign": campaign_key, "reason": why}
        replay = self._replay(merchant, idempotency_key, operation, payload)
        if replay is not None:
            return replay
        pool = load_pool(self.ledger, merchant, campaign_key)
        if not self.stock.caught_up(self.stock.head()):
            raise StockLagging("the stock read model is catching up; retry shortly", retryable=True)
        totals = {"returned": 0, "sold": 0, "already_returned": 0}
        after = -1
        while rows := self.stock.available(pool.id, after, None, RETURN_PAGE):
            after = rows[-1][1]
            result = self.return_codes(actor, campaign_key, [code for code, _ in rows], why)
            for name in totals:
                totals[name] += result.body[name] if name == "returned" else len(result.body[name])
        body = {"campaign_key": campaign_key, **totals}
        return self.executor.run(actor=actor, operation=operation, payload=payload,
                                 decide=lambda at: Outcome(200, body, ()),
                                 idempotency_key=idempotency_key)

    def _replay(self, merchant_id: str, key: str | None, operation: str, payload: Any
                ) -> CommandResult | None:
        """The stored answer of a finished multi-transaction command with this key, if any."""
        if key is None:
            return None
        record = self.ledger.find(IdempotencyRecord.id_for(merchant_id, check_key(key)),
                                  IdempotencyRecord)
        if record is None or record.request_hash != request_hash(operation, payload):
            return None  # a different request: the final save refuses the reused key
        position = self.ledger.position_of(record.id, 1) or self.ledger.head()
        return CommandResult(record.status, record.response, position, replayed=True)

    def _return(self, actor: Actor, campaign_key: str, codes: list[str], reason: str,
                at: datetime) -> Outcome:
        pool = load_pool(self.ledger, actor.merchant_id, campaign_key)
        claimed, unclaimed, unknown = self._classify(pool, codes)
        returns = [PartnerCode.give_back(pool, code, reason, actor.ref, at) for code in unclaimed]
        body = {
            "campaign_key": campaign_key, "returned": len(returns),
            "already_returned": [c.code for c in claimed if c.status == CodeStatus.RETURNED],
            "sold": [c.code for c in claimed if c.status != CodeStatus.RETURNED],
            "unknown": unknown,
        }
        return Outcome(200, body, tuple(returns))

    def report_redeemed(self, actor: Actor, campaign_key: str, codes: Sequence[str],
                        reference: str = "", idempotency_key: str | None = None) -> CommandResult:
        """The partner's report of codes redeemed in its stores: sold ones become redeemed."""
        wanted, ref = _codes(codes), reference.strip()[:200]

        def decide(at: datetime) -> Outcome:
            pool = load_pool(self.ledger, actor.merchant_id, campaign_key)
            claimed, unclaimed, unknown = self._classify(pool, wanted)
            redeemed = [c for c in claimed if c.status == CodeStatus.SOLD]
            for code in redeemed:
                code.redeem(ref, actor.ref, at)
            body = {
                "campaign_key": campaign_key, "reference": ref,
                "redeemed": [c.code for c in redeemed],
                "already_redeemed": [c.code for c in claimed if c.status == CodeStatus.REDEEMED
                                     and c not in redeemed],
                "not_sold": unclaimed + [c.code for c in claimed if c.status == CodeStatus.RETURNED],
                "unknown": unknown,
            }
            return Outcome(200, body, tuple(redeemed))

        return self.executor.run(
            actor=actor, operation="report_partner_redemptions",
            payload={"campaign": campaign_key, "codes": wanted, "reference": ref},
            decide=decide, idempotency_key=idempotency_key)

    def _classify(self, pool: CodePool, codes: list[str]
                  ) -> tuple[list[PartnerCode], list[str], list[str]]:
        """Split codes into claimed ones (loaded), unclaimed ones of the pool, and unknown ones."""
        ids = {PartnerCode.id_for(pool.merchant_id, pool.id, code): code for code in codes}
        taken = self.ledger.existing(list(ids))
        claimed = [code for claim_id in ids if claim_id in taken
                   if (code := self.ledger.find(claim_id, PartnerCode)) is not None]
        rest = [code for claim_id, code in ids.items() if claim_id not in taken]
        if not rest:
            return claimed, [], []
        settle_stock(self.ledger, self.stock, pool)  # the read model knows every imported code
        in_pool = self.stock.statuses(pool.id, rest)
        return claimed, [c for c in rest if c in in_pool], [c for c in rest if c not in in_pool]

    def look_up(self, merchant_id: str, internal_code: str) -> dict[str, Any]:
        """A sold partner code, found by our internal code."""
        internal = self.ledger.find(InternalCode.id_for(merchant_id, canonical_code(internal_code)),
                                    InternalCode)
        if internal is None:
            raise NotFound(f"no sold partner code with internal code {internal_code!r}",
                           code="unknown_code")
        partner = self.ledger.find(internal.partner_code_id, PartnerCode)
        pool = self.ledger.find(internal.pool_id, CodePool)
        if partner is None or pool is None:
            raise NotFound("the partner code is gone", code="unknown_code")
        return {
            "internal_code": internal.code, "partner_code": partner.code, "status": partner.status,
            "campaign_key": pool.campaign_key, "campaign_id": str(pool.campaign_id),
            "order_id": partner.order_id, "customer_id": partner.customer_id,
            "sold_at": iso(partner.created_on), "updated_at": iso(partner.modified_on),
        }
