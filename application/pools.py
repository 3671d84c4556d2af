"""Partner code pools (P1-P6): set up a pool, import a partner's file, sell its codes.

Returns, partner redemption reports and look-ups are in `application/pool_returns.py`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.campaigns import load_campaign
from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from application.pool_import import MAX_LISTED_ERRORS, ScanReport, scan_codes
from domain.campaign import Campaign, Status
from domain.clock import iso
from domain.codes import CodeSpec
from domain.errors import AlreadyExists, DomainError, InvalidInput, InvalidTransition, NotFound
from domain.pool import (
    MAX_SALE_QUANTITY,
    BatchInfo,
    CodeBatch,
    CodePool,
    InternalCode,
    PartnerCode,
    PoolFormat,
    PoolSale,
)

INTERNAL_SPEC = CodeSpec(length=12)  # our format: 12 of 32 unambiguous characters, 60 bits
ERRORS_KEPT_IN_EVENT = 1_000
MAX_SCAN_PAGES = 50


class SoldOut(DomainError):
    """Fewer codes remain in the pool than the sale asks for."""

    kind = "conflict"
    code = "sold_out"


class StockLagging(DomainError):
    """The stock read model could not confirm the pool's state in time; retry."""

    kind = "unavailable"
    code = "stock_lagging"


class FileRejected(InvalidInput):
    """The file has bad lines and the caller did not ask to skip them: nothing was imported."""

    code = "file_rejected"


class StockView(Protocol):
    """What the pool service reads from the stock projection (`projections/pool_stock.py`)."""

    def head(self) -> int: ...
    def caught_up(self, position: int, timeout: float | None = None) -> bool: ...
    def available(self, pool_id: UUID, after: int, below: int | None, limit: int
                  ) -> list[tuple[str, int]]: ...
    def statuses(self, pool_id: UUID, codes: Sequence[str]) -> dict[str, str]: ...
    def remaining(self, pool_id: UUID) -> int: ...


def load_pool(ledger: Ledger, merchant_id: str, campaign_key: str) -> CodePool:
    pool = ledger.find(CodePool.id_for(merchant_id, campaign_key), CodePool)
    if pool is None:
        raise NotFound(f"campaign {campaign_key!r} has no code pool", code="pool_not_found")
    return pool


def settle_stock(ledger: Ledger, stock: StockView, pool: CodePool) -> None:
    """Wait until the read model holds every code of `pool` as of the version loaded."""
    position = ledger.position_of(pool.id, pool.version) or stock.head()
    if not stock.caught_up(position):
        raise StockLagging("the stock read model is catching up; retry shortly", retryable=True)


class PoolService:
    """Operations fill a campaign's pool from partner files; checkout sells its codes."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger, stock: StockView,
                 rng: random.Random) -> None:
        self.executor = executor
        self.ledger = ledger
        self.stock = stock
        self.rng = rng

    def create_pool(self, actor: Actor, campaign_key: str, fmt: dict[str, Any],
                    low_stock_threshold: int = 0, idempotency_key: str | None = None) -> CommandResult:
        """Give a campaign a pool of partner codes in the declared format."""
        merchant = actor.merchant_id
        pool_format = PoolFormat.from_dict(fmt)

        def decide(at: datetime) -> Outcome:
            campaign = load_campaign(self.ledger, merchant, campaign_key)
            if self.ledger.find(CodePool.id_for(merchant, campaign_key), CodePool) is not None:
                raise AlreadyExists(f"campaign {campaign_key!r} has a pool", code="pool_exists")
            pool = CodePool.create(merchant, campaign.id, campaign_key, pool_format,
                                   low_stock_threshold, actor.ref, at)
            return Outcome(201, pool_view(pool), (pool,))

        return self.executor.run(
            actor=actor, operation="create_pool",
            payload={"campaign": campaign_key, "format": pool_format.to_dict(),
                     "low_stock_threshold": low_stock_threshold},
            decide=decide, idempotency_key=idempotency_key,
            lock_key=CodePool.id_for(merchant, campaign_key))

    def get_pool(self, merchant_id: str, campaign_key: str) -> dict[str, Any]:
        return pool_view(load_pool(self.ledger, merchant_id, campaign_key))

    def import_codes(self, actor: Actor, campaign_key: str, stream: IO[bytes], filename: str, *,
                     skip_invalid: bool = False, idempotency_key: str | None = None) -> CommandResult:
        """Import a file of codes: all or nothing, or without its bad lines; once per content."""
        merchant = actor.merchant_id
        filename = (filename or "upload.csv").strip()[:255] or "upload.csv"
        scan = scan_codes(stream, load_pool(self.ledger, merchant, campaign_key).format)
        if scan.lines == 0:
            raise InvalidInput("the file is empty", code="empty_file")

        def decide(at: datetime) -> Outcome:
            pool = load_pool(self.ledger, merchant, campaign_key)
            known = pool.batches.get(scan.content_hash)
            if known is not None:
                return Outcome(200, self._batch_view(pool, known, already_imported=True), ())
            in_pool: set[str] = set()
            if pool.total_codes:  # duplicates against the pool: its read model, settled
                settle_stock(self.ledger, self.stock, pool)
                in_pool = set(self.stock.statuses(pool.id, list(scan.codes)))
            report = _with_pool_duplicates(scan, in_pool)
            if report["rejected"] and not skip_invalid:
                raise FileRejected(
                    f"{report['rejected']} of {scan.lines} lines are invalid or duplicates; "
                    "nothing was imported (ask to skip invalid lines to import the rest)", **report)
            accepted = [code for code in scan.codes if code not in in_pool]
            batch = CodeBatch.import_codes(pool, scan.content_hash, filename, actor.ref, accepted,
                                           report["errors"][:ERRORS_KEPT_IN_EVENT],
                                           report["rejected"], at)
            remaining = self.stock.remaining(pool.id) if pool.total_codes else 0
            pool.record_batch(batch, filename, actor.ref, remaining, at)
            body = {**self._batch_view(pool, pool.batches[scan.content_hash]), **report}
            return Outcome(201, body, (batch, pool))

        return self.executor.run(
            actor=actor, operation="import_codes",
            payload={"campaign": campaign_key, "content_hash": scan.content_hash,
                     "skip_invalid": skip_invalid, "filename": filename},
            decide=decide, idempotency_key=idempotency_key,
            lock_key=CodePool.id_for(merchant, campaign_key))

    def _batch_view(self, pool: CodePool, info: BatchInfo, *, already_imported: bool = False
                    ) -> dict[str, Any]:
        view: dict[str, Any] = {
            "pool_id": str(pool.id), "campaign_key": pool.campaign_key,
            "batch_id": str(info.batch_id), "content_hash": info.content_hash,
            "filename": info.filename, "uploaded_by": info.by, "imported_at": iso(info.at),
            "accepted": info.count, "rejected": info.rejected, "first_seq": info.first_seq,
            "already_imported": already_imported, "pool_total": pool.total_codes,
        }
        if already_imported:  # the lines rejected then, as the batch recorded them
            batch = self.ledger.find_at(info.batch_id, 1)
            view["errors"] = list(batch.errors) if batch is not None else []
        return view

    def sell(self, actor: Actor, campaign_key: str, order_id: str, *, quantity: int = 1,
             customer_id: str | None = None, line_id: str | None = None,
             idempotency_key: str | None = None) -> CommandResult:
        """Hand `quantity` codes to an order line; the same order line retried gets the same codes."""
        if isinstance(quantity, bool) or not 1 <= quantity <= MAX_SALE_QUANTITY:
            raise InvalidInput(f"quantity must be 1..{MAX_SALE_QUANTITY}", code="invalid_quantity")
        merchant = actor.merchant_id
        line = line_id or campaign_key
        pool_id = CodePool.id_for(merchant, campaign_key)
        sale_id = PoolSale.id_for(merchant, order_id, line)

        def decide(at: datetime) -> Outcome:
            existing = self.ledger.find(sale_id, PoolSale)
            if existing is not None:
                if not existing.same_request(pool_id, customer_id, quantity):
                    raise InvalidTransition("this order line bought other codes already",
                                            code="order_line_taken", sale=sale_view(existing))
                return Outcome(200, sale_view(existing), ())
            sale, changed = self.sale_for(merchant, campaign_key, order_id, line, customer_id,
                                          quantity, actor.ref, at)
            return Outcome(201, sale_view(sale), changed)

        try:
            return self.executor.run(
                actor=actor, operation="sell_pool_codes",
                payload={"campaign": campaign_key, "order_id": order_id, "line_id": line,
                         "quantity": quantity, "customer_id": customer_id},
                decide=decide, idempotency_key=idempotency_key, lock_key=sale_id)
        except SoldOut:
            self._alert_when_dry(actor, campaign_key)
            raise

    def sale_for(self, merchant: str, campaign_key: str, order_id: str, line: str,
                 customer_id: str | None, quantity: int, by: str, at: datetime
                 ) -> tuple[PoolSale, tuple[Aggregate | None, ...]]:
        """The sale of `quantity` codes and every aggregate it changes, to save together (a
        redemption whose reward is a partner code saves them with itself)."""
        pool = self._selling_pool(merchant, campaign_key, at)
        picks = self._pick(pool, quantity)
        internal = self._internal_codes(quantity)
        sale_id = PoolSale.id_for(merchant, order_id, line)
        claims = [PartnerCode.sell(pool, code, seq, sale_id, order_id, line, customer_id,
                                   internal_code, at)
                  for (code, seq), internal_code in zip(picks, internal, strict=True)]
        internals = [InternalCode.issue(claim, claim.internal_code or "", at) for claim in claims]
        sale = PoolSale.make(pool, order_id, line, customer_id, claims, by, at)
        alert = self._low_stock_alert(pool, quantity, at)
        return sale, (*claims, *internals, sale, alert)

    def _alert_when_dry(self, actor: Actor, campaign_key: str) -> None:
        """A pool that ran dry before any sale saw it cross the threshold (the stock read model
        lagged behind a burst of sales) raises its LowStock alert now, still only once."""
        pool = load_pool(self.ledger, actor.merchant_id, campaign_key)
        if not pool.needs_low_stock_alert(0):
            return

        def decide(at: datetime) -> Outcome:
            fresh = load_pool(self.ledger, actor.merchant_id, campaign_key)
            fresh.record_low_stock(0, at)
            return Outcome(200, {}, (fresh,))

        self.executor.run(actor=actor, operation="pool_low_stock", payload={"campaign": campaign_key},
                          decide=decide, lock_key=pool.id)

    def _selling_pool(self, merchant_id: str, campaign_key: str, at: datetime) -> CodePool:
        pool_id = CodePool.id_for(merchant_id, campaign_key)
        pool = self.ledger.read_if_any(pool_id, CodePool)  # cached: read only, never changed here
        if pool is None:
            raise NotFound(f"campaign {campaign_key!r} has no code pool", code="pool_not_found")
        campaign = self.ledger.read_if_any(pool.campaign_id, Campaign)
        if campaign is None:
            raise NotFound("the pool's campaign is gone", code="campaign_not_found")
        if campaign.status != Status.ACTIVE:
            raise InvalidTransition(f"the campaign is {campaign.status}, not selling",
                                    code="campaign_not_active", current_status=campaign.status)
        if campaign.terms.ends_at is not None and at >= campaign.terms.ends_at:
            raise InvalidTransition("the campaign has ended", code="campaign_ended")
        return pool

    def _pick(self, pool: CodePool, quantity: int) -> list[tuple[str, int]]:
        """`quantity` codes nobody has claimed, chosen at random; SoldOut when too few remain."""
        found = self._unclaimed(pool, quantity)
        if len(found) < quantity:
            # The read model may not show a refill yet: make sure before saying "sold out".
            if not self.stock.caught_up(self.stock.head()):
                raise StockLagging("the stock read model is catching up; retry shortly",
                                   retryable=True)
            found = self._unclaimed(pool, quantity)
        if len(found) < quantity:
            raise SoldOut(f"only {len(found)} codes left; {quantity} asked for",
                          available=len(found), requested=quantity)
        return self.rng.sample(found, quantity)

    def _unclaimed(self, pool: CodePool, quantity: int) -> list[tuple[str, int]]:
        """Candidates from a random point of the read model, re-checked against the event store."""
        total = max(pool.total_codes, 1)
        start = self.rng.randrange(total)
        want, page = 2 * quantity, max(8, 4 * quantity)
        found: list[tuple[str, int]] = []
        pages = 0
        for after, below in ((start - 1, None), (-1, start)):
            while len(found) < want and pages < MAX_SCAN_PAGES:
                rows = self.stock.available(pool.id, after, below, page)
                if not rows:
                    break
                pages += 1
                ids = {PartnerCode.id_for(pool.merchant_id, pool.id, code): (code, seq)
                       for code, seq in rows}
                taken = self.ledger.existing(list(ids))
                found += [pick for claim_id, pick in ids.items() if claim_id not in taken]
                after = rows[-1][1]
        return found

    def _internal_codes(self, count: int) -> list[str]:
        """Fresh random codes in our format (60 bits). Not looked up first: one that some
        voucher or internal code of the merchant has already makes the save conflict, and
        the sale is decided again with new ones."""
        return INTERNAL_SPEC.generate_many(self.rng, count, set())

    def _low_stock_alert(self, pool: CodePool, quantity: int, at: datetime) -> CodePool | None:
        """The pool with a LowStock event if this sale takes stock below the threshold first.

        Only sales that see the crossing touch the pool, so it is not a hot stream; if
        several do at once, the pool's version lets one of them record it.
        """
        if pool.low_stock or not pool.low_stock_threshold:
            return None
        remaining = self.stock.remaining(pool.id) - quantity
        if not pool.needs_low_stock_alert(remaining):
            return None
        fresh = load_pool(self.ledger, pool.merchant_id, pool.campaign_key)  # as of now
        fresh.record_low_stock(remaining, at)
        return fresh


def _with_pool_duplicates(scan: ScanReport, in_pool: set[str]) -> dict[str, Any]:
    """The scan's report plus a line for every code the pool holds already."""
    summary = scan.summary()
    if not in_pool:
        return summary
    extra: list[dict[str, Any]] = [{"line": scan.codes[code], "reason": "already_in_pool"}
                                   for code in in_pool]
    merged = sorted(summary["errors"] + extra, key=lambda e: int(e["line"]))
    summary["rejected"] += len(in_pool)
    summary["valid"] -= len(in_pool)
    summary["rejected_by_reason"] = dict(sorted(
        {**summary["rejected_by_reason"], "already_in_pool": len(in_pool)}.items()))
    summary["errors"] = merged[:MAX_LISTED_ERRORS]
    summary["errors_truncated"] = summary["rejected"] > len(summary["errors"])
    return summary


def pool_view(pool: CodePool) -> dict[str, Any]:
    return {
        "pool_id": str(pool.id), "campaign_id": str(pool.campaign_id),
        "campaign_key": pool.campaign_key, "version": pool.version,
        "format": pool.format.to_dict(), "low_stock_threshold": pool.low_stock_threshold,
        "low_stock": pool.low_stock, "total_codes": pool.total_codes,
        "batches": [{"batch_id": str(b.batch_id), "content_hash": b.content_hash,
                     "filename": b.filename, "uploaded_by": b.by, "count": b.count,
                     "rejected": b.rejected, "first_seq": b.first_seq, "imported_at": iso(b.at)}
                    for b in pool.batches.values()],
        "created_at": iso(pool.created_on),
    }


def sale_view(sale: PoolSale) -> dict[str, Any]:
    return {
        "sale_id": str(sale.id), "campaign_key": sale.campaign_key, "order_id": sale.order_id,
        "line_id": sale.line_id, "customer_id": sale.customer_id, "quantity": sale.quantity,
        "codes": [{**c, "status": "sold"} for c in sale.codes], "sold_at": iso(sale.created_on),
    }
