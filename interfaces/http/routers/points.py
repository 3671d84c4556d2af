"""Points: programs, ledger entries of every kind, the ledger and balances, auditor replays."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from application.commands import Actor
from application.points import EntryContext
from domain.clock import iso
from domain.errors import InvalidInput
from interfaces.http.points_schemas import (
    AccountOut,
    BalanceAtOut,
    ClosingBalanceOut,
    ConversionIn,
    CreditIn,
    DebitIn,
    EntryContextIn,
    ExpiryOut,
    GroupRedemptionIn,
    GroupRedemptionOut,
    HistoryOut,
    LedgerPage,
    MergeIn,
    MergeOut,
    MoveOut,
    OpenAccountIn,
    ProgramIn,
    ProgramOut,
    ReturnIn,
    TransferIn,
    VerifyOut,
)
from interfaces.http.responses import ERRORS, IdempotencyKey, MinPosition, command_response
from interfaces.http.schemas import Timestamp
from interfaces.http.security import Auditor, Operations, Services, WalletReader, requires
from projections.points_audit import verify_points
from projections.points_ledger import MAX_PAGE, LedgerFilter

router = APIRouter(tags=["points"], responses=ERRORS)
Writer = Annotated[Actor, Depends(requires("operations", "checkout", "support"))]
Merger = Annotated[Actor, Depends(requires("operations", "support"))]  # merges and expiry runs
HistoryReader = Annotated[Actor, Depends(requires("auditor", "reporting"))]  # the replayed ledger
Category = Literal["regular", "promised", "trigger"]
CUSTOMER = "/v1/customers/{customer_id}"


def _ctx(body: EntryContextIn) -> EntryContext:
    return EntryContext(source=body.source, till_id=body.till_id, store_id=body.store_id,
                        transaction_id=body.transaction_id, reason=body.reason)


@router.put("/v1/points/programs/{program}", response_model=ProgramOut)
def define_program(program: str, body: ProgramIn, actor: Operations, services: Services,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Define a loyalty program (or change its name and default points expiry)."""
    return command_response(services.points.define_program(actor, program, body.name, body.expiry_days,
                                                           idempotency_key))


@router.get("/v1/points/programs", response_model=list[ProgramOut])
def list_programs(actor: WalletReader, services: Services) -> list[dict[str, Any]]:
    """The merchant's loyalty programs."""
    return [{"program": p, **v} for p, v in sorted(services.points.programs(actor.merchant_id).items())]


@router.post(CUSTOMER + "/points/accounts", status_code=201, response_model=AccountOut)
def open_account(customer_id: str, body: OpenAccountIn, actor: Writer, services: Services,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Open an account with its opening entry: zero at registration, or an imported balance."""
    return command_response(services.points.open_account(
        actor, customer_id, body.program, body.category, body.opening_balance, _ctx(body),
        idempotency_key))


@router.post(CUSTOMER + "/points/credits", response_model=AccountOut)
def credit(customer_id: str, body: CreditIn, actor: Writer, services: Services,
           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Credit points (allocation, redemption reversal, referral award, import, bulk award)."""
    return command_response(services.points.credit(
        actor, customer_id, body.program, body.category, body.kind, body.points, _ctx(body),
        body.expires_at, idempotency_key))


@router.post(CUSTOMER + "/points/debits", response_model=AccountOut)
def debit(customer_id: str, body: DebitIn, actor: Writer, services: Services,
          idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Debit points (redemption, referral return, points return, import); a redemption never overdraws."""
    return command_response(services.points.debit(
        actor, customer_id, body.program, body.category, body.kind, body.points, _ctx(body),
        idempotency_key))


@router.post(CUSTOMER + "/points/returns", response_model=AccountOut)
def transaction_return(customer_id: str, body: ReturnIn, actor: Writer, services: Services,
                       idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """A transaction return: points-return debit and redemption-reversal credit in one entry."""
    return command_response(services.points.return_transaction(
        actor, customer_id, body.program, body.category, body.points_returned,
        body.redemption_reversed, _ctx(body), idempotency_key))


@router.post(CUSTOMER + "/points/group-redemptions", response_model=GroupRedemptionOut)
def group_redemption(customer_id: str, body: GroupRedemptionIn, actor: Writer, services: Services,
                     idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Redeem from several programs at once; all debits or none, each showing the total."""
    debits = [(d.program, d.points) for d in body.debits]
    return command_response(services.points.group_redeem(actor, customer_id, debits, _ctx(body),
                                                         idempotency_key))


@router.post(CUSTOMER + "/points/conversions", response_model=MoveOut)
def conversion(customer_id: str, body: ConversionIn, actor: Writer, services: Services,
               idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Convert promised (or trigger-based) points to regular ones: one event, net zero."""
    return command_response(services.points.convert(
        actor, customer_id, body.program, body.from_category, body.points, _ctx(body), idempotency_key))


@router.post(CUSTOMER + "/points/transfers", response_model=MoveOut)
def transfer(customer_id: str, body: TransferIn, actor: Writer, services: Services,
             idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Transfer points to another customer; both entries in one transaction."""
    return command_response(services.points.transfer(
        actor, customer_id, body.to_customer_id, body.program, body.category, body.points,
        _ctx(body), idempotency_key))


@router.post(CUSTOMER + "/points/expiry", response_model=ExpiryOut)
def expire(customer_id: str, actor: Merger, services: Services,
           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Expire what is left of the customer's expired lots, dated now; nothing when none are due."""
    return command_response(services.points.expire(actor, customer_id, idempotency_key))


@router.post(CUSTOMER + "/merge", response_model=MergeOut)
def merge(customer_id: str, body: MergeIn, actor: Merger, services: Services,
          idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Merge this customer (the victim) into a survivor; the victim's accounts then refuse entries."""
    return command_response(services.points.merge(actor, customer_id, body.survivor_customer_id,
                                                  _ctx(body), idempotency_key))


class _Filters:
    """L9's filters as query parameters; the date range defaults to the last 7 days."""

    def __init__(
        self,
        source: Annotated[str | None, Query(max_length=32)] = None,
        till_id: Annotated[str | None, Query(max_length=128)] = None,
        since: Timestamp | None = None,
        until: Timestamp | None = None,
        entry_type: Literal["credit", "debit"] | None = None,
        category: Category | None = None,
        program: Annotated[str | None, Query(max_length=64)] = None,
    ) -> None:
        self.given = any(v is not None for v in (source, till_id, since, until, entry_type, category,
                                                 program))
        self.source, self.till_id, self.since, self.until = source, till_id, since, until
        self.entry_type, self.category, self.program = entry_type, category, program

    def build(self, now: datetime) -> LedgerFilter:
        until = self.until or now + timedelta(microseconds=1)
        since = self.since or until - timedelta(days=7)
        if since > until:
            raise InvalidInput("since is after until", code="invalid_range")
        return LedgerFilter(since=iso(since) or "", until=iso(until) or "", source=self.source,
                            till_id=self.till_id, entry_type=self.entry_type, category=self.category,
                            program=self.program)


Filters = Annotated[_Filters, Depends()]


@router.get(CUSTOMER + "/points/ledger", response_model=LedgerPage)
def ledger(customer_id: str, actor: WalletReader, services: Services, filters: Filters,
           limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 10,
           cursor: Annotated[int | None, Query(ge=0, le=2**62)] = None,
           min_position: MinPosition = None) -> dict[str, Any]:
    """Ledger entries in chronological order, filtered, 10 a page by default (at most 100)."""
    return services.queries.points_ledger(actor.merchant_id, customer_id, filters.build(services.clock()),
                                          limit=limit, after=cursor, min_position=min_position)


@router.get(CUSTOMER + "/points/balance", response_model=ClosingBalanceOut)
def closing_balance(customer_id: str, actor: WalletReader, services: Services, filters: Filters,
                    min_position: MinPosition = None) -> dict[str, Any]:
    """The closing balance of the filtered ledger view, as of its last entry; now without filters."""
    f = filters.build(services.clock()) if filters.given else None
    return services.queries.points_balance(actor.merchant_id, customer_id, f, min_position)


@router.get("/v1/audit/customers/{customer_id}/points/history", response_model=HistoryOut)
def history(customer_id: str, actor: HistoryReader, services: Services) -> dict[str, Any]:
    """Every entry of every account, replayed from the event streams with running balances
    (auditors; reporting too, for the dashboard's customer look-up)."""
    return services.points_history.history(actor.merchant_id, customer_id)


@router.get("/v1/audit/customers/{customer_id}/points/balance", response_model=BalanceAtOut)
def balance_at(customer_id: str, actor: Auditor, services: Services,
               program: Annotated[str, Query(max_length=64)], category: Category = "regular",
               at: Timestamp | None = None,
               version: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> dict[str, Any]:
    """An account's balance as of a time or a version, replayed from its stream."""
    return services.points_history.balance_at(actor.merchant_id, customer_id, program, category,
                                              at=at, version=version)


@router.post("/v1/audit/points/verify", response_model=VerifyOut)
def verify(actor: Auditor, services: Services) -> dict[str, Any]:
    """Replay every points account of this merchant and compare with the ledger and wallet."""
    return verify_points(services.ledger, services.db, actor.merchant_id).as_dict()
