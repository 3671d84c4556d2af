"""Random interleavings of points credits (retried with their Idempotency-Key), burns, overdrawing
returns, transfers, group redemptions, expiry by clock travel, and a points code redeemed and
reversed — balances, lots and debts predicted by the model; the ledger, its read models and a
replay checked after every step, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, invariant, precondition, rule

from application.clock import ManualClock
from application.commands import Actor
from application.points import EntryContext
from application.redemptions import RedeemRequest
from domain.eligibility import Order
from domain.points import PointsAccount
from infrastructure.bootstrap import Container
from projections.points_audit import verify_points
from tests.points.helpers import by_expiry
from tests.stateful.points_model import AccountModel, default_expiry
from tests.stateful.support import (
    DEEP,
    StoreMachine,
    attempt,
    audit_whole_store,
    check_refusal,
    machine_settings,
    replay_mismatches,
    report_outcomes,
    run,
    seen,
    settle,
    time_limit,
)

CUSTOMERS = ("ann", "bob", "cy")
PROGRAMS = ("main", "fuel")  # main's points expire, fuel's never do
BONUS = 75  # points the bonus code credits
customers = st.sampled_from(CUSTOMERS)
programs = st.sampled_from(PROGRAMS)
amounts = st.integers(1, 120)
READ_MODELS = ("points_ledger", "wallet", "campaign_stats", "redemption_log")
PROFILE = machine_settings(examples=10, steps=30)
CTX = EntryContext(source="INSTORE", till_id="T1", store_id="S1", reason="stateful")


class PointsMachine(StoreMachine):
    bonus_redemptions = Bundle("bonus_redemptions")

    def __init__(self) -> None:
        super().__init__()
        self.merchant = f"p-{uuid.uuid4().hex[:12]}"
        self.actor = Actor(merchant_id=self.merchant, role="admin", ref="stateful:admin")
        self.accounts: dict[tuple[str, str], AccountModel] = {}
        self.keyed: dict[str, tuple[Callable[[], Any], Any]] = {}  # key -> (the credit, its answer)
        self.reversed: set[str] = set()
        self.touched: set[tuple[str, str]] = set()
        self.serial = 0

    @initialize(days=st.integers(1, 2), openings=st.lists(st.integers(0, 200), min_size=4, max_size=4))
    def programs_accounts_and_bonus_code(self, days: int, openings: list[int]) -> None:
        """Two programs; ann and bob open accounts (an imported balance, or zero), cy has none."""
        self.expiry_days = {"main": days, "fuel": None}
        for program, expiry in self.expiry_days.items():
            self.c.points.define_program(self.actor, program, program.title(), expiry)
        for (customer, program), opening in zip(
                [(c, p) for c in CUSTOMERS[:2] for p in PROGRAMS], openings, strict=True):
            self.c.points.open_account(self.actor, customer, program, "regular", opening, CTX)
            lots = self.credit_lot(program, opening) if opening else []
            self.opened(customer, program).receive(opening, lots)
        terms = {"name": "Bonus", "currency": "EUR", "voucher_type": "multi_use",
                 "redemption_limit": None, "reward": {"type": "points", "points": BONUS, "program": "main"}}
        self.c.campaigns.create_campaign(self.actor, "bonus", terms)
        for action in ("submit", "approve", "activate"):
            self.c.campaigns.change_status(self.actor, "bonus", action)
        self.c.vouchers.issue_codes(self.actor, "bonus", codes=["BONUS-1"])
        self.ready = True

    def account(self, customer: str, program: str) -> AccountModel | None:
        self.touched.add((customer, program))
        return self.accounts.get((customer, program))

    def opened(self, customer: str, program: str) -> AccountModel:
        self.touched.add((customer, program))
        return self.accounts.setdefault((customer, program), AccountModel())

    def credit_lot(self, program: str, points: int) -> list[tuple[Any, int]]:
        return [(default_expiry(self.clock(), self.expiry_days[program]), points)]

    def burn_refusal(self, account: AccountModel | None, points: int) -> str | None:
        if account is None:
            return "account_not_found"
        return "insufficient_points" if points > account.balance else None

    # -- earn and burn ------------------------------------------------------------------------

    @rule(customer=customers, program=programs, points=amounts, keyed=st.booleans())
    def credit(self, customer: str, program: str, points: int, keyed: bool) -> None:
        self.serial += 1
        key = f"credit-{self.serial}" if keyed else None

        def send() -> Any:
            return self.c.points.credit(self.actor, customer, program, "regular", "allocation", points,
                                        CTX, idempotency_key=key)

        result = send()
        self.opened(customer, program).receive(points, self.credit_lot(program, points))
        assert result.body["balance"] == self.accounts[customer, program].balance
        seen("credit: ok")
        if key is not None:
            self.keyed[key] = (send, result)

    @precondition(lambda self: bool(self.keyed))
    @rule(data=st.data())
    def retry_a_credit(self, data: st.DataObject) -> None:
        """The same key and request again: the first answer, and the points credited once."""
        key = data.draw(st.sampled_from(sorted(self.keyed)), label="key")
        send, first = self.keyed[key]
        head = self.c.ledger.head()
        again = send()
        assert (again.body, again.position, again.replayed) == (first.body, first.position, True)
        assert self.c.ledger.head() == head, "a replayed credit wrote events"

    @rule(customer=customers, program=programs, points=amounts)
    def burn(self, customer: str, program: str, points: int) -> None:
        account = self.account(customer, program)
        _, refusal = attempt(lambda: self.c.points.debit(self.actor, customer, program, "regular",
                                                         "redemption", points, CTX))
        check_refusal(refusal, self.burn_refusal(account, points), "burn")
        if refusal is None and account is not None:
            account.take(points)

    @rule(customer=customers, program=programs, points=st.integers(1, 60))
    def return_spent_points(self, customer: str, program: str, points: int) -> None:
        """A points return records what happened at a till: it may overdraw the account."""
        account = self.account(customer, program)
        _, refusal = attempt(lambda: self.c.points.debit(self.actor, customer, program, "regular",
                                                         "points_return", points, CTX))
        check_refusal(refusal, None if account else "account_not_found", "points return")
        if account is not None:
            account.take(points)

    @rule(sender=customers, recipient=customers, program=programs, points=amounts)
    def transfer(self, sender: str, recipient: str, program: str, points: int) -> None:
        source = self.account(sender, program)
        expected = "invalid_transfer" if sender == recipient else self.burn_refusal(source, points)
        _, refusal = attempt(lambda: self.c.points.transfer(self.actor, sender, recipient, program,
                                                            "regular", points, CTX))
        check_refusal(refusal, expected, "transfer")
        if refusal is None and source is not None:
            lots = source.plan(points)  # each lot moves with its own expiry
            source.take(points)
            self.opened(recipient, program).receive(points, lots)

    @rule(customer=customers, main=amounts, fuel=amounts)
    def group_redeem(self, customer: str, main: int, fuel: int) -> None:
        """All or nothing across programs: the first account that cannot pay refuses the whole."""
        wanted = {"main": main, "fuel": fuel}
        accounts = {p: self.account(customer, p) for p in wanted}
        expected = next((r for p in wanted if (r := self.burn_refusal(accounts[p], wanted[p]))), None)
        _, refusal = attempt(lambda: self.c.points.group_redeem(self.actor, customer,
                                                                list(wanted.items()), CTX))
        check_refusal(refusal, expected, "group redemption")
        for program, points in wanted.items():
            account = accounts[program]
            if refusal is None and account is not None:
                account.take(points)

    @rule(customer=customers, hours=st.sampled_from([11, 25, 49, 0]))
    def travel_then_expire(self, customer: str, hours: int) -> None:
        """L5: time passes; the expiry job debits what is left of the customer's lots due."""
        at = self.clock.advance(timedelta(hours=hours))
        due = sum(account.expire(at) for p in PROGRAMS if (account := self.account(customer, p)))
        result = self.c.points.expire(self.actor, customer)
        assert result.body["expired"] == due
        seen(f"expire: {'some' if due else 'none'}")

    # -- a points code (W2) -------------------------------------------------------------------

    @rule(target=bonus_redemptions, customer=st.one_of(st.none(), customers))
    def redeem_bonus_code(self, customer: str | None) -> Any:
        order = Order.build(3000, "EUR", f"o-{uuid.uuid4().hex[:6]}", [])
        result = self.c.redemptions.redeem(self.actor, RedeemRequest(code="BONUS-1", order=order,
                                                                     customer_id=customer))
        seen(f"bonus code: {result.status}")
        if customer is None:
            assert [r["code"] for r in result.body["reasons"]] == ["customer_required"]
            self.reversed.add(result.body["id"])  # a rejection: never reversible
            return result.body["id"]
        assert (result.status, result.body["points_awarded"]) == (201, BONUS), result.body
        self.opened(customer, "main").receive(BONUS, self.credit_lot("main", BONUS))
        return result.body["id"]

    @rule(redemption=bonus_redemptions)
    def reverse_bonus_code(self, redemption: str) -> None:
        """The points go back even if already spent: the reversal may overdraw."""
        result, refusal = attempt(lambda: self.c.redemptions.reverse(self.actor, UUID(redemption),
                                                                     "order cancelled"))
        check_refusal(refusal, "redemption_not_reversible" if redemption in self.reversed else None,
                      "reverse bonus")
        if result is not None:
            self.reversed.add(redemption)
            customer = result.body["customer_id"]
            self.opened(customer, "main").take(BONUS)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def ledgers_agree_with_the_model(self) -> None:
        if self.changed_since_last_check():
            self.accounts_agree(self.touched)
            self.read_models_agree({customer for customer, _ in self.touched})
        self.touched = set()

    def accounts_agree(self, which: set[tuple[str, str]]) -> None:
        """Each account's stream: balance = lots - debt, never negative unless overdrawn."""
        for customer, program in which:
            model = self.accounts.get((customer, program))
            found = self.c.ledger.find(PointsAccount.id_for(self.merchant, customer, program, "regular"),
                                       PointsAccount)
            if model is None:
                assert found is None
                continue
            assert found is not None
            assert (found.balance, found.debt, by_expiry(found)) == (model.balance, model.debt, model.lots)
            assert found.balance == sum(model.lots.values()) - found.debt
            assert found.balance >= 0 or model.overdrawn, "a balance went negative without an overdraw"

    def read_models_agree(self, customers: set[str]) -> None:
        """The customers' balances as the API reads them, and each account's entries summed."""
        settle(self.c)
        for customer in customers:
            expected = {p: a.balance for (c, p), a in self.accounts.items() if c == customer}
            closing = self.c.queries.points_balance(self.merchant, customer, None)
            assert {b["program"]: b["balance"] for b in closing["accounts"]} == expected, closing
            assert closing["total"] == sum(expected.values())
            with self.c.db.transaction() as tx:
                rows = tx.query("SELECT program, SUM(credit) - SUM(debit) AS net FROM points_entries "
                                "WHERE merchant_id=? AND customer_id=? GROUP BY program",
                                (self.merchant, customer))
            assert {r["program"]: int(r["net"]) for r in rows} == expected, "balance != sum of entries"
        if DEEP:
            self.replayed_equal_live()

    def replayed_equal_live(self) -> None:
        assert replay_mismatches(self.c, READ_MODELS, self.merchant, self.start_position) == []
        report = verify_points(self.c.ledger, self.c.db, self.merchant)
        assert report.ok, report.as_dict()

    def teardown(self) -> None:
        if self.ready:
            self.accounts_agree({(c, p) for c in CUSTOMERS for p in PROGRAMS})
            self.read_models_agree(set(CUSTOMERS))
            self.replayed_equal_live()


@time_limit
def test_points_ledgers_keep_their_invariants_under_random_interleavings(
    make_container: Callable[..., Container], clock: ManualClock,
) -> None:
    container = make_container()
    run(PointsMachine, container, clock, PROFILE)
    report_outcomes("points")
    audit_whole_store(container, READ_MODELS)
