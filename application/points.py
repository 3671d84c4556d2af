"""Points use cases (L1-L8): open accounts, credit, debit, return, group-redeem, convert,
transfer, expire and merge. Every command saves all the accounts it touches together."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from domain.errors import AlreadyExists, InvalidInput, NotFound
from domain.merchant import Merchant
from domain.points import CATEGORIES, EntryMeta, PointsAccount, check_points
from domain.programs import ProgramCatalog

# What the generic credit/debit commands accept; the rest have commands of their own.
OPEN_CREDIT_KINDS = ("allocation", "redemption_reversal", "referral_award", "import", "bulk_award")
OPEN_DEBIT_KINDS = ("redemption", "referral_return", "points_return", "import")


@dataclass(frozen=True)
class EntryContext:
    """Where and why: the event source, till, store, transaction and a reason."""

    source: str = "SYSTEM"
    till_id: str | None = None
    store_id: str | None = None
    transaction_id: str | None = None
    reason: str = ""

    def meta(self, event_type: str, points_on_event: int,
             event_id: uuid.UUID | None = None) -> EntryMeta:
        return EntryMeta(event_id=event_id or uuid.uuid4(), event_type=event_type,
                         points_on_event=points_on_event, **self.__dict__)

    def payload(self) -> dict[str, Any]:
        return dict(self.__dict__)


def account_view(account: PointsAccount) -> dict[str, Any]:
    return {"account_id": str(account.id), "customer_id": account.customer_id,
            "program": account.program, "category": account.category, "balance": account.balance,
            "version": account.version,
            "merged_into": str(account.merged_into) if account.merged_into else None}


class PointsService:
    """One earn/burn ledger per customer, program and category."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger) -> None:
        self.executor = executor
        self.ledger = ledger

    # -- programs -----------------------------------------------------------------------------

    def define_program(self, actor: Actor, program: str, name: str, expiry_days: int | None,
                       idempotency_key: str | None = None) -> CommandResult:
        def decide(at: datetime) -> Outcome:
            catalog = (self.ledger.find(ProgramCatalog.id_for(actor.merchant_id), ProgramCatalog)
                       or ProgramCatalog.start(actor.merchant_id, at))
            catalog.define(program, name, expiry_days, at)
            return Outcome(200, {"program": program, **catalog.programs[program]}, (catalog,))

        return self._run(actor, "define_program", {"program": program, "name": name,
                                                   "expiry_days": expiry_days}, decide, idempotency_key)

    def catalog(self, merchant_id: str) -> ProgramCatalog | None:
        """The program catalog, for reading only (cached, checked against the store)."""
        return self.ledger.read_if_any(ProgramCatalog.id_for(merchant_id), ProgramCatalog)

    def programs(self, merchant_id: str) -> dict[str, dict[str, Any]]:
        catalog = self.catalog(merchant_id)
        return dict(catalog.programs) if catalog else {}

    # -- single-account entries ---------------------------------------------------------------

    def open_account(self, actor: Actor, customer_id: str, program: str, category: str,
                     opening_balance: int, ctx: EntryContext, idempotency_key: str | None = None
                     ) -> CommandResult:
        """L2: registration (zero) or a bulk import of an existing balance."""
        def decide(at: datetime) -> Outcome:
            self._require_program(actor.merchant_id, program)
            if self._find(actor.merchant_id, customer_id, program, category) is not None:
                raise AlreadyExists("the account is already open", code="account_exists")
            event_type = "IMPORT" if opening_balance else "REGISTRATION"
            expiry = self._default_expiry(actor.merchant_id, program, at) if opening_balance > 0 else None
            account = PointsAccount.open(
                actor.merchant_id, customer_id, program, category, at,
                meta=ctx.meta(event_type, opening_balance), opening_balance=opening_balance,
                expires_at=expiry)
            return Outcome(201, account_view(account), (account,))

        payload = {"customer": customer_id, "program": program, "category": category,
                   "opening_balance": opening_balance, **ctx.payload()}
        return self._run(actor, "open_points_account", payload, decide, idempotency_key,
                         PointsAccount.id_for(actor.merchant_id, customer_id, program, category))

    def credit(self, actor: Actor, customer_id: str, program: str, category: str, kind: str,
               points: int, ctx: EntryContext, expires_at: datetime | None = None,
               idempotency_key: str | None = None) -> CommandResult:
        if kind not in OPEN_CREDIT_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(OPEN_CREDIT_KINDS)}",
                               code="invalid_entry_kind")

        def decide(at: datetime) -> Outcome:
            account = self._account(actor.merchant_id, customer_id, program, category, at, ctx)
            expiry = expires_at or self._default_expiry(actor.merchant_id, program, at)
            account.credit(kind, points, at, ctx.meta(kind.upper(), points), expires_at=expiry)
            return Outcome(200, account_view(account), (account,))

        payload = {"customer": customer_id, "program": program, "category": category, "kind": kind,
                   "points": points, "expires_at": expires_at, **ctx.payload()}
        return self._run(actor, "credit_points", payload, decide, idempotency_key,
                         PointsAccount.id_for(actor.merchant_id, customer_id, program, category))

    def debit(self, actor: Actor, customer_id: str, program: str, category: str, kind: str,
              points: int, ctx: EntryContext, idempotency_key: str | None = None) -> CommandResult:
        if kind not in OPEN_DEBIT_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(OPEN_DEBIT_KINDS)}",
                               code="invalid_entry_kind")

        def decide(at: datetime) -> Outcome:
            account = self._existing(actor.merchant_id, customer_id, program, category)
            account.debit(kind, points, at, ctx.meta(kind.upper(), -points))
            return Outcome(200, account_view(account), (account,))

        payload = {"customer": customer_id, "program": program, "category": category, "kind": kind,
                   "points": points, **ctx.payload()}
        return self._run(actor, "debit_points", payload, decide, idempotency_key,
                         PointsAccount.id_for(actor.merchant_id, customer_id, program, category))

    def return_transaction(self, actor: Actor, customer_id: str, program: str, category: str,
                           points_returned: int, redemption_reversed: int, ctx: EntryContext,
                           idempotency_key: str | None = None) -> CommandResult:
        """L8: one entry with the points-return debit, the redemption-reversal credit and the net."""
        def decide(at: datetime) -> Outcome:
            account = self._existing(actor.merchant_id, customer_id, program, category)
            net = redemption_reversed - points_returned
            account.return_transaction(points_returned, redemption_reversed, at,
                                       ctx.meta("TRANSACTION_RETURN", net),
                                       expires_at=self._default_expiry(actor.merchant_id, program, at))
            return Outcome(200, account_view(account), (account,))

        payload = {"customer": customer_id, "program": program, "category": category,
                   "points_returned": points_returned, "redemption_reversed": redemption_reversed,
                   **ctx.payload()}
        return self._run(actor, "return_transaction_points", payload, decide, idempotency_key,
                         PointsAccount.id_for(actor.merchant_id, customer_id, program, category))

    # -- entries across accounts (saved atomically) --------------------------------------------

    def group_redeem(self, actor: Actor, customer_id: str, debits: list[tuple[str, int]],
                     ctx: EntryContext, idempotency_key: str | None = None) -> CommandResult:
        """L4: one redemption drawn from several programs; every entry shows the total."""
        programs = [program for program, _ in debits]
        if not debits or len(set(programs)) != len(programs):
            raise InvalidInput("name each program once", code="invalid_group_redemption")
        total = sum(check_points(points) for _, points in debits)

        def decide(at: datetime) -> Outcome:
            meta = ctx.meta("GROUP_REDEMPTION", -total)
            accounts = []
            for program, points in debits:
                account = self._existing(actor.merchant_id, customer_id, program, "regular")
                account.debit("group_redemption", points, at, meta)
                accounts.append(account)
            body = {"event_id": str(meta.event_id), "total": total,
                    "accounts": [account_view(a) for a in accounts]}
            return Outcome(200, body, tuple(accounts))

        payload = {"customer": customer_id, "debits": debits, **ctx.payload()}
        return self._run(actor, "group_redeem_points", payload, decide, idempotency_key)

    def convert(self, actor: Actor, customer_id: str, program: str, from_category: str, points: int,
                ctx: EntryContext, idempotency_key: str | None = None) -> CommandResult:
        """Promised (or trigger-based) points become regular: one event, debit and credit, net 0."""
        if from_category not in ("promised", "trigger"):
            raise InvalidInput("convert from promised or trigger", code="invalid_category")

        def decide(at: datetime) -> Outcome:
            event_type = "PROMISED_CONVERSION" if from_category == "promised" else "TRIGGER_CONVERSION"
            meta = ctx.meta(event_type, 0)
            source = self._existing(actor.merchant_id, customer_id, program, from_category)
            target = self._account(actor.merchant_id, customer_id, program, "regular", at, ctx)
            source.debit("conversion_out", points, at, meta)
            target.credit("conversion_in", points, at, meta,
                          expires_at=self._default_expiry(actor.merchant_id, program, at))
            body = {"event_id": str(meta.event_id), "debited": account_view(source),
                    "credited": account_view(target)}
            return Outcome(200, body, (source, target))

        payload = {"customer": customer_id, "program": program, "from": from_category, "points": points,
                   **ctx.payload()}
        return self._run(actor, "convert_points", payload, decide, idempotency_key)

    def transfer(self, actor: Actor, from_customer: str, to_customer: str, program: str, category: str,
                 points: int, ctx: EntryContext, idempotency_key: str | None = None) -> CommandResult:
        """L6: the sender's debit and the recipient's credit in one transaction."""
        if from_customer == to_customer:
            raise InvalidInput("a transfer needs two customers", code="invalid_transfer")

        def decide(at: datetime) -> Outcome:
            out = ctx.meta("TRANSFER", -points)  # each side shows its own impact
            in_ = EntryMeta(**{**out.fields(), "points_on_event": points})
            sender = self._existing(actor.merchant_id, from_customer, program, category)
            recipient = self._account(actor.merchant_id, to_customer, program, category, at, ctx)
            lots = sender.lots_for(points)  # each lot moves with its own expiry
            sender.debit("transfer_out", points, at, out)
            recipient.credit("transfer_in", points, at, in_, lots=lots)
            body = {"event_id": str(out.event_id), "debited": account_view(sender),
                    "credited": account_view(recipient)}
            return Outcome(200, body, (sender, recipient))

        payload = {"from": from_customer, "to": to_customer, "program": program, "category": category,
                   "points": points, **ctx.payload()}
        return self._run(actor, "transfer_points", payload, decide, idempotency_key)

    def expire(self, actor: Actor, customer_id: str, idempotency_key: str | None = None) -> CommandResult:
        """L5: debit what is left of every expired lot, dated when this runs; a no-op when none."""
        def decide(at: datetime) -> Outcome:
            accounts, expired = [], 0
            meta = EntryContext(source="SYSTEM", reason="points expiry").meta("EXPIRY", 0)
            for account in self._accounts(actor.merchant_id, customer_id):
                if account.merged_into is None:
                    points = account.expire(at, meta)
                    if points:
                        expired += points
                        accounts.append(account)
            body = {"customer_id": customer_id, "expired": expired,
                    "accounts": [account_view(a) for a in accounts]}
            return Outcome(200, body, tuple(accounts))

        return self._run(actor, "expire_points", {"customer": customer_id}, decide, idempotency_key)

    def merge(self, actor: Actor, victim: str, survivor: str, ctx: EntryContext,
              idempotency_key: str | None = None) -> CommandResult:
        """L7: each of the victim's accounts ends with an entry moving its balance to the survivor."""
        if victim == survivor:
            raise InvalidInput("a customer cannot be merged into themselves", code="invalid_merge")

        def decide(at: datetime) -> Outcome:
            meta = ctx.meta("MERGE", 0)
            changed: list[PointsAccount] = []
            for account in self._accounts(actor.merchant_id, victim):
                if account.merged_into is not None:
                    continue
                target = self._account(actor.merchant_id, survivor, account.program,
                                          account.category, at, ctx)
                account.merge_into(target, at, meta)
                changed += [account, target]
            if not changed:
                raise NotFound(f"customer {victim!r} has no open points accounts", code="nothing_to_merge")
            body = {"event_id": str(meta.event_id), "victim": victim, "survivor": survivor,
                    "accounts": [account_view(a) for a in changed]}
            return Outcome(200, body, tuple(changed))

        payload = {"victim": victim, "survivor": survivor, **ctx.payload()}
        return self._run(actor, "merge_customers", payload, decide, idempotency_key)

    # -- entries decided by other services, saved in their transactions --------------------------

    def credit_for(self, merchant_id: str, customer_id: str, program: str, category: str, kind: str,
                   points: int, at: datetime, meta: EntryMeta,
                   shared: dict[uuid.UUID, PointsAccount] | None = None) -> PointsAccount:
        """The account (a merged customer's survivor's) with a credit pending; the caller saves it.

        `shared` holds accounts already changed in the caller's transaction, so two entries on
        one account go on one object instead of conflicting with each other.
        """
        account_id = PointsAccount.id_for(merchant_id, customer_id, program, category)
        if shared is not None and account_id in shared:
            account = shared[account_id]
        else:
            account = self._survivor(self._account(merchant_id, customer_id, program, category, at,
                                                   EntryContext()))
            if shared is not None:
                shared[account_id] = account
        account.credit(kind, points, at, meta, expires_at=self._default_expiry(merchant_id, program, at))
        return account

    def debit_for(self, merchant_id: str, customer_id: str, program: str, category: str, kind: str,
                  points: int, at: datetime, meta: EntryMeta) -> PointsAccount:
        """The account (a merged customer's survivor's) with a debit pending; the caller saves it."""
        account = self._survivor(self._existing(merchant_id, customer_id, program, category))
        account.debit(kind, points, at, meta)
        return account

    def _survivor(self, account: PointsAccount) -> PointsAccount:
        """Follow merges: what was the victim's is now the survivor's."""
        for _ in range(100):  # merges chain, but never forever
            if account.merged_into is None:
                return account
            account = self.ledger.load(account.merged_into, PointsAccount)
        return account

    # -- helpers ------------------------------------------------------------------------------

    def _run(self, actor: Actor, operation: str, payload: dict[str, Any],
             decide: Callable[[datetime], Outcome], idempotency_key: str | None,
             lock_key: uuid.UUID | None = None) -> CommandResult:
        return self.executor.run(actor=actor, operation=operation, payload=payload, decide=decide,
                                 idempotency_key=idempotency_key, lock_key=lock_key)

    def _require_program(self, merchant_id: str, program: str) -> dict[str, Any]:
        catalog = self.catalog(merchant_id)
        if catalog is None:
            raise NotFound(f"no points program {program!r}", code="program_not_found")
        return catalog.require(program)

    def _default_expiry(self, merchant_id: str, program: str, at: datetime) -> datetime | None:
        """The end of the merchant's local day, `expiry_days` after `at` (None: never)."""
        days = self._require_program(merchant_id, program)["expiry_days"]
        if days is None:
            return None
        merchant = self.ledger.read_if_any(Merchant.id_for(merchant_id), Merchant)
        zone = ZoneInfo(merchant.timezone if merchant else "UTC")
        last_day = at.astimezone(zone).date() + timedelta(days=days)
        end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
        return end.astimezone(UTC)

    def _find(self, merchant_id: str, customer_id: str, program: str, category: str) -> PointsAccount | None:
        return self.ledger.find(PointsAccount.id_for(merchant_id, customer_id, program, category),
                                PointsAccount)

    def _existing(self, merchant_id: str, customer_id: str, program: str, category: str) -> PointsAccount:
        self._require_program(merchant_id, program)
        account = self._find(merchant_id, customer_id, program, category)
        if account is None:
            raise NotFound(f"{customer_id!r} has no {program}/{category} points account",
                           code="account_not_found")
        return account

    def _account(self, merchant_id: str, customer_id: str, program: str, category: str,
                 at: datetime, ctx: EntryContext) -> PointsAccount:
        """The account, opened (zero opening entry) in this same transaction if it is new."""
        self._require_program(merchant_id, program)
        account = self._find(merchant_id, customer_id, program, category)
        if account is not None:
            return account
        opening = EntryContext(source="SYSTEM", reason="account opened").meta("REGISTRATION", 0)
        return PointsAccount.open(merchant_id, customer_id, program, category, at, meta=opening)

    def _accounts(self, merchant_id: str, customer_id: str) -> list[PointsAccount]:
        """Every account the customer has, found from the program catalog (no projection)."""
        found = []
        for program in self.programs(merchant_id):
            for category in CATEGORIES:
                account = self._find(merchant_id, customer_id, program, category)
                if account is not None:
                    found.append(account)
        return found

