"""Manual distribution (D1): assign a campaign's vouchers to a list of customers, or export a
batch of unassigned codes for a marketing system, never the same code twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from application.campaigns import load_campaign
from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from application.vouchers import VoucherService
from domain.customer import check_ref
from domain.distribution import MAX_EXPORT, DistributedCode, DistributionBatch, check_batch
from domain.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from domain.voucher import Voucher

MAX_CUSTOMERS = 10_000


class CodeView(Protocol):
    """What the export reads from the distribution read model (`projections/automation_reader.py`)."""

    def freshen(self, names: Sequence[str]) -> None: ...
    def open_codes(self, merchant_id: str, campaign_id: str, after_seq: int, limit: int
                   ) -> list[tuple[str, int]]: ...


class DistributionService:
    """Operations push vouchers to customers or hand a batch of codes to a marketing system."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger, vouchers: VoucherService,
                 view: CodeView) -> None:
        self.executor = executor
        self.ledger = ledger
        self.vouchers = vouchers
        self.view = view

    def assign_to_customers(self, actor: Actor, campaign_key: str, customers: list[str], batch: str
                            ) -> dict[str, Any]:
        """One fresh voucher per listed customer; each line is assigned or refused with a reason.

        Each line is its own command keyed by (campaign, batch, customer): sending the same
        batch again (a retry, a timeout) assigns nobody twice and answers the same lines.
        """
        check_batch(batch)
        if not 1 <= len(customers) <= MAX_CUSTOMERS:
            raise InvalidInput(f"1-{MAX_CUSTOMERS} customers per batch", code="invalid_customer_list")
        load_campaign(self.ledger, actor.merchant_id, campaign_key)  # campaign_not_found up front
        lines: list[dict[str, Any]] = []
        seen: set[str] = set()
        for customer in customers:
            lines.append(self._assign_line(actor, campaign_key, batch, customer, seen))
        assigned = sum(1 for line in lines if line["status"] == "assigned")
        return {"campaign_key": campaign_key, "batch": batch, "assigned": assigned,
                "refused": len(lines) - assigned, "lines": lines}

    def _assign_line(self, actor: Actor, campaign_key: str, batch: str, customer: str,
                     seen: set[str]) -> dict[str, Any]:
        try:
            check_ref(customer, "customer_id")
            if customer in seen:
                raise InvalidInput("the customer is listed twice", code="duplicate_customer")
            seen.add(customer)
            result = self.vouchers.assign_new_voucher(
                actor, campaign_key, customer, idempotency_key=f"dist:{campaign_key}:{batch}:{customer}")
        except DomainError as exc:
            return {"customer_id": customer, "status": "refused", "reason": exc.code, "detail": exc.detail}
        return {"customer_id": customer, "status": "assigned", "code": result.body.get("code"),
                "voucher_id": result.body.get("id")}

    def export_codes(self, actor: Actor, campaign_key: str, batch: str, count: int,
                     idempotency_key: str | None = None) -> CommandResult:
        """Take up to `count` unassigned, never-exported codes; the batch remembers them."""
        check_batch(batch)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_EXPORT:
            raise InvalidInput(f"count must be 1..{MAX_EXPORT}", code="invalid_count")
        merchant = actor.merchant_id

        def decide(at: datetime) -> Outcome:
            batch_id = DistributionBatch.id_for(merchant, campaign_key, batch)
            done = self.ledger.find(batch_id, DistributionBatch)
            if done is not None:  # the same batch again: the same codes
                return Outcome(200, self._view(done, batch, count), ())
            campaign = load_campaign(self.ledger, merchant, campaign_key)
            if campaign.status in ("ended", "disabled"):
                raise InvalidTransition(f"the campaign is {campaign.status}", code="campaign_closed")
            codes = self._pick(merchant, str(campaign.id), count)
            exported = DistributionBatch.export(merchant, campaign.id, campaign_key, batch, codes, count,
                                                actor.ref, at)
            claims = [DistributedCode.claim(merchant, code, batch_id, at) for code in codes]
            return Outcome(201, self._view(exported, batch, count), (exported, *claims))

        return self.executor.run(actor=actor, operation="export_codes",
                                 payload={"campaign": campaign_key, "batch": batch, "count": count},
                                 decide=decide, idempotency_key=idempotency_key,
                                 lock_key=DistributionBatch.id_for(merchant, campaign_key, batch))

    def batch_codes(self, merchant_id: str, campaign_key: str, batch: str) -> list[str]:
        found = self.ledger.find(DistributionBatch.id_for(merchant_id, campaign_key, check_batch(batch)),
                                 DistributionBatch)
        if found is None:
            raise NotFound(f"no export batch {batch!r}", code="batch_not_found")
        return found.codes

    def _pick(self, merchant_id: str, campaign_id: str, count: int) -> list[str]:
        """Open codes by issue order, each checked against its voucher and the export claims."""
        self.view.freshen(["distribution"])
        picked: list[str] = []
        after = 0
        while len(picked) < count:
            page = self.view.open_codes(merchant_id, campaign_id, after, max(100, count - len(picked)))
            if not page:
                break
            after = page[-1][1]
            claims = {DistributedCode.id_for(merchant_id, code): code for code, _ in page}
            taken = {claims[i] for i in self.ledger.existing(list(claims))}
            for code, _ in page:
                voucher = self.ledger.find(Voucher.id_for(merchant_id, code), Voucher)
                if code not in taken and voucher is not None and voucher.holder is None \
                        and not voucher.redemptions and len(picked) < count:
                    picked.append(code)
        return picked

    @staticmethod
    def _view(batch: DistributionBatch, name: str, requested: int) -> dict[str, Any]:
        return {"batch_id": str(batch.id), "batch": name, "campaign_key": batch.campaign_key,
                "count": len(batch.codes), "requested": requested}
