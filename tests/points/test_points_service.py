"""PointsService end to end on SQLite and PostgreSQL: every command, its atomicity and idempotency,
points rewards on promo codes (W2), and the auditor's history and point-in-time balances (A5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.clock import ManualClock
from application.commands import IdempotencyKeyReused
from application.points import OPEN_CREDIT_KINDS, OPEN_DEBIT_KINDS, EntryContext
from application.redemptions import RedeemRequest
from domain.eligibility import Order
from domain.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from domain.points import PointsAccount, entry_amounts
from domain.redemption import Redemption
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign
from tests.points.helpers import (
    ADMIN,
    CTX,
    account,
    balance,
    by_expiry,
    maybe_account,
    replay,
    state,
    stream,
)


@pytest.fixture
def c(container: Container) -> Container:
    """A store with two programs: main (points expire after a year) and fuel (never)."""
    container.points.define_program(ADMIN, "main", "Main", 365)
    container.points.define_program(ADMIN, "fuel", "Fuel", None)
    return container


def credit(c: Container, customer: str, points: int, program: str = "main", category: str = "regular",
           kind: str = "allocation", ctx: EntryContext = CTX, **kw: Any) -> Any:
    return c.points.credit(ADMIN, customer, program, category, kind, points, ctx, **kw)


def refused(call: Any, code: str, error: type[DomainError] = DomainError) -> DomainError:
    with pytest.raises(error) as caught:
        call()
    assert caught.value.code == code, caught.value
    return caught.value


def unchanged(c: Container, call: Any, code: str) -> None:
    """The command is refused and the store is exactly as before."""
    head = c.ledger.head()
    refused(call, code)
    assert c.ledger.head() == head


# -- programs and accounts -------------------------------------------------------------------------


def test_programs_are_defined_and_every_command_needs_one(container: Container) -> None:
    p = container.points
    refused(lambda: p.credit(ADMIN, "alice", "main", "regular", "allocation", 5, CTX), "program_not_found")

    defined = p.define_program(ADMIN, "main", "Main", 30)
    assert (defined.status, defined.body) == (200, {"program": "main", "name": "Main", "expiry_days": 30})
    p.define_program(ADMIN, "main", "Main program", None)
    assert p.programs("acme") == {"main": {"name": "Main program", "expiry_days": None}}
    assert p.programs("globex") == {}

    calls = [
        lambda: p.open_account(ADMIN, "alice", "nope", "regular", 0, CTX),
        lambda: p.credit(ADMIN, "alice", "nope", "regular", "allocation", 5, CTX),
        lambda: p.debit(ADMIN, "alice", "nope", "regular", "points_return", 5, CTX),
        lambda: p.return_transaction(ADMIN, "alice", "nope", "regular", 5, 0, CTX),
        lambda: p.group_redeem(ADMIN, "alice", [("nope", 1), ("main", 1)], CTX),
        lambda: p.convert(ADMIN, "alice", "nope", "promised", 5, CTX),
        lambda: p.transfer(ADMIN, "alice", "bob", "nope", "regular", 5, CTX),
    ]
    for call in calls:
        unchanged(container, call, "program_not_found")
    refused(lambda: p.define_program(ADMIN, "no spaces", "", None), "invalid_program")
    refused(lambda: p.define_program(ADMIN, "x", "", 0), "invalid_expiry")


def test_accounts_open_at_registration_with_an_import_or_with_their_first_credit(c: Container) -> None:
    opened = c.points.open_account(ADMIN, "alice", "main", "regular", 0, CTX)
    imported = c.points.open_account(ADMIN, "bob", "main", "promised", 250, CTX)
    overdrawn = c.points.open_account(ADMIN, "carol", "fuel", "trigger", -30, CTX)

    assert (opened.status, opened.body["balance"], opened.body["version"]) == (201, 0, 1)
    assert opened.body["account_id"] == str(PointsAccount.id_for("acme", "alice", "main", "regular"))
    assert [(e.event_type, e.opening_balance) for e in stream(c, "alice")] == [("REGISTRATION", 0)]
    assert (imported.status, imported.body["balance"]) == (201, 250)
    [event] = stream(c, "bob", category="promised")
    assert (event.event_type, event.opening_balance, event.source) == ("IMPORT", 250, "INSTORE")
    assert event.expires_at is not None and event.expires_at > c.clock()  # main's points expire
    assert (overdrawn.body["balance"], account(c, "carol", "fuel", "trigger").debt) == (-30, 30)
    unchanged(c, lambda: c.points.open_account(ADMIN, "alice", "main", "regular", 0, CTX), "account_exists")
    unchanged(c, lambda: c.points.open_account(ADMIN, "dave", "main", "gold", 0, CTX), "invalid_category")

    # the first credit of a new account opens it with a zero entry, in the same save
    result = credit(c, "erin", 100)

    events = stream(c, "erin")
    assert [type(e).__name__ for e in events] == ["Opened", "Credited"]
    assert events[0].opening_balance == 0
    assert c.ledger.positions(events[0].originator_id) == {1: result.position - 1, 2: result.position}


# -- credits and debits ------------------------------------------------------------------------------


def test_every_generic_credit_and_debit_kind_lands_in_the_ledger(c: Container, clock: ManualClock) -> None:
    for n, kind in enumerate(OPEN_CREDIT_KINDS):
        ctx = EntryContext(source="ECOMMERCE", till_id=f"T{n}", store_id="S9", transaction_id=f"tx-{n}",
                           reason=kind)
        result = credit(c, "alice", 100, kind=kind, ctx=ctx)
        assert result.status == 200 and result.body["balance"] == 100 * (n + 1)
        clock.advance(timedelta(minutes=1))
    for kind in OPEN_DEBIT_KINDS:
        assert c.points.debit(ADMIN, "alice", "main", "regular", kind, 30, CTX).status == 200

    events = stream(c, "alice")[1:]
    kinds = [entry_amounts(e)[:2] for e in events]
    assert kinds == [(k, "credit") for k in OPEN_CREDIT_KINDS] + [(k, "debit") for k in OPEN_DEBIT_KINDS]
    first = events[0]
    assert (first.event_type, first.points_on_event, first.source, first.till_id, first.store_id,
            first.transaction_id, first.reason) == ("ALLOCATION", 100, "ECOMMERCE", "T0", "S9", "tx-0",
                                                    "allocation")
    assert [e.points_on_event for e in events[len(OPEN_CREDIT_KINDS):]] == [-30] * len(OPEN_DEBIT_KINDS)
    assert balance(c, "alice") == 100 * len(OPEN_CREDIT_KINDS) - 30 * len(OPEN_DEBIT_KINDS)


def test_kinds_with_commands_of_their_own_are_not_generic(c: Container) -> None:
    credit(c, "alice", 100)
    for command, kinds in (("credit", ("transfer_in", "conversion_in", "promo_code", "bonus")),
                           ("debit", ("transfer_out", "group_redemption", "expiry", "conversion_out",
                                      "promo_code_reversal", "allocation"))):
        for kind in kinds:
            unchanged(c, lambda k=kind, cmd=command: getattr(c.points, cmd)(
                ADMIN, "alice", "main", "regular", k, 5, CTX), "invalid_entry_kind")


def test_a_redemption_never_overdraws_but_a_points_return_may(c: Container) -> None:
    credit(c, "alice", 100)

    unchanged(c, lambda: c.points.debit(ADMIN, "alice", "main", "regular", "redemption", 101, CTX),
              "insufficient_points")
    assert c.points.debit(ADMIN, "alice", "main", "regular", "redemption", 100, CTX).body["balance"] == 0
    returned = c.points.debit(ADMIN, "alice", "main", "regular", "points_return", 40, CTX)
    assert returned.body["balance"] == -40
    unchanged(c, lambda: c.points.debit(ADMIN, "alice", "main", "regular", "redemption", 1, CTX),
              "insufficient_points")
    assert credit(c, "alice", 50).body["balance"] == 10  # the debt is paid first
    assert account(c, "alice").debt == 0
    unchanged(c, lambda: c.points.debit(ADMIN, "nobody", "main", "regular", "redemption", 1, CTX),
              "account_not_found")
    assert maybe_account(c, "nobody") is None
    unchanged(c, lambda: credit(c, "alice", 0), "invalid_points")
    # refusals are domain errors whose kind the API maps to a status
    credit(c, "alice", 1)  # balance 11
    assert isinstance(refused(lambda: c.points.debit(ADMIN, "alice", "main", "regular", "redemption", 12,
                                                     CTX), "insufficient_points"), InvalidTransition)
    assert isinstance(refused(lambda: credit(c, "alice", 1, program="nope"), "program_not_found"), NotFound)
    assert isinstance(refused(lambda: credit(c, "alice", -1), "invalid_points"), InvalidInput)


def test_a_transaction_return_is_one_entry_with_its_net(c: Container) -> None:
    credit(c, "alice", 200)
    ctx = EntryContext(source="INSTORE", till_id="T2", transaction_id="return-9")

    result = c.points.return_transaction(ADMIN, "alice", "main", "regular", 80, 30, ctx)

    assert result.body["balance"] == 150
    event = stream(c, "alice")[-1]
    assert isinstance(event, PointsAccount.TransactionReturned)
    assert (event.event_type, event.points_returned, event.redemption_reversed, event.net,
            event.points_on_event, event.transaction_id) == ("TRANSACTION_RETURN", 80, 30, -50, -50,
                                                             "return-9")
    assert c.ledger.head() == result.position  # one event for the whole return
    unchanged(c, lambda: c.points.return_transaction(ADMIN, "alice", "main", "regular", 0, 0, CTX),
              "invalid_points")


# -- group redemption --------------------------------------------------------------------------------


def test_a_group_redemption_debits_every_program_and_each_entry_shows_the_total(c: Container) -> None:
    credit(c, "alice", 100)
    credit(c, "alice", 60, program="fuel")

    result = c.points.group_redeem(ADMIN, "alice", [("main", 70), ("fuel", 45)], CTX)

    assert (result.status, result.body["total"]) == (200, 115)
    assert [a["balance"] for a in result.body["accounts"]] == [30, 15]
    main, fuel = stream(c, "alice")[-1], stream(c, "alice", "fuel")[-1]
    assert str(main.event_id) == str(fuel.event_id) == result.body["event_id"]
    for event, points in ((main, 70), (fuel, 45)):
        assert (event.kind, event.points, event.points_on_event, event.event_type) == (
            "group_redemption", points, -115, "GROUP_REDEMPTION")
    positions = {c.ledger.position_of(e.originator_id, e.originator_version) for e in (main, fuel)}
    assert positions == {result.position - 1, result.position}  # saved together


def test_a_group_redemption_is_all_or_nothing(c: Container) -> None:
    credit(c, "alice", 100)
    credit(c, "alice", 30, program="fuel")
    before = {p: state(account(c, "alice", p)) for p in ("main", "fuel")}

    unchanged(c, lambda: c.points.group_redeem(ADMIN, "alice", [("main", 50), ("fuel", 31)], CTX),
              "insufficient_points")
    unchanged(c, lambda: c.points.group_redeem(ADMIN, "bob", [("main", 1)], CTX), "account_not_found")
    c.points.define_program(ADMIN, "air", "Air", None)
    unchanged(c, lambda: c.points.group_redeem(ADMIN, "alice", [("main", 5), ("air", 1)], CTX),
              "account_not_found")
    for debits in ([], [("main", 5), ("main", 5)]):
        unchanged(c, lambda d=debits: c.points.group_redeem(ADMIN, "alice", d, CTX),
                  "invalid_group_redemption")
    unchanged(c, lambda: c.points.group_redeem(ADMIN, "alice", [("main", 5), ("fuel", 0)], CTX),
              "invalid_points")

    assert {p: state(account(c, "alice", p)) for p in ("main", "fuel")} == before
    entries = stream(c, "alice") + stream(c, "alice", "fuel")
    assert not any(isinstance(e, PointsAccount.Debited) for e in entries)


# -- conversion ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("category", "event_type"), [("promised", "PROMISED_CONVERSION"),
                                                        ("trigger", "TRIGGER_CONVERSION")])
def test_a_conversion_is_one_event_debiting_promised_and_crediting_regular(
    c: Container, category: str, event_type: str,
) -> None:
    credit(c, "alice", 80, category=category)

    result = c.points.convert(ADMIN, "alice", "main", category, 50, CTX)

    assert (result.body["debited"]["balance"], result.body["credited"]["balance"]) == (30, 50)
    out, into = stream(c, "alice", category=category)[-1], stream(c, "alice")[-1]
    assert str(out.event_id) == str(into.event_id) == result.body["event_id"]
    assert (out.kind, out.points, into.kind, into.points) == ("conversion_out", 50, "conversion_in", 50)
    assert out.points_on_event == into.points_on_event == 0
    assert out.event_type == into.event_type == event_type
    assert [type(e).__name__ for e in stream(c, "alice")] == ["Opened", "Credited"]  # opened with it

    unchanged(c, lambda: c.points.convert(ADMIN, "alice", "main", category, 31, CTX), "insufficient_points")
    unchanged(c, lambda: c.points.convert(ADMIN, "alice", "main", "regular", 1, CTX), "invalid_category")
    unchanged(c, lambda: c.points.convert(ADMIN, "bob", "main", category, 1, CTX), "account_not_found")
    assert maybe_account(c, "bob") is None


# -- transfer -------------------------------------------------------------------------------------------


def test_a_transfer_saves_both_sides_together(c: Container, clock: ManualClock) -> None:
    expiry = clock() + timedelta(days=20)
    credit(c, "alice", 100, expires_at=expiry)
    head = c.ledger.head()

    result = c.points.transfer(ADMIN, "alice", "bob", "main", "regular", 60, CTX)

    assert (result.body["debited"]["balance"], result.body["credited"]["balance"]) == (40, 60)
    out, into = stream(c, "alice")[-1], stream(c, "bob")[-1]
    assert str(out.event_id) == str(into.event_id) == result.body["event_id"]
    assert (out.kind, into.kind, out.event_type) == ("transfer_out", "transfer_in", "TRANSFER")
    assert into.lots == [{"remaining": 60, "expires_at": expiry}]  # each lot keeps its life
    assert by_expiry(account(c, "bob")) == {expiry: 60}
    saved = [c.ledger.position_of(e.originator_id, e.originator_version)
             for e in (out, *stream(c, "bob"))]
    assert sorted(saved) == list(range(head + 1, result.position + 1))  # one save: debit, open, credit


def test_a_transfer_never_overdraws_and_a_refused_one_leaves_no_trace(c: Container) -> None:
    credit(c, "alice", 100)

    unchanged(c, lambda: c.points.transfer(ADMIN, "alice", "bob", "main", "regular", 101, CTX),
              "insufficient_points")
    assert maybe_account(c, "bob") is None  # the recipient's account was not opened either
    unchanged(c, lambda: c.points.transfer(ADMIN, "alice", "alice", "main", "regular", 1, CTX),
              "invalid_transfer")
    unchanged(c, lambda: c.points.transfer(ADMIN, "carol", "bob", "main", "regular", 1, CTX),
              "account_not_found")
    c.points.debit(ADMIN, "alice", "main", "regular", "points_return", 150, CTX)  # -50
    unchanged(c, lambda: c.points.transfer(ADMIN, "alice", "bob", "main", "regular", 1, CTX),
              "insufficient_points")

    # a transfer to a customer in debt pays the debt first
    credit(c, "xena", 100)
    c.points.open_account(ADMIN, "bob", "main", "regular", -30, CTX)

    result = c.points.transfer(ADMIN, "xena", "bob", "main", "regular", 50, CTX)

    assert result.body["credited"]["balance"] == 20
    assert account(c, "bob").debt == 0


def test_a_transfer_keeps_the_expiry_of_each_lot_it_moves(c: Container, clock: ManualClock) -> None:
    soon = clock() + timedelta(days=2)
    credit(c, "alice", 90, program="fuel")  # fuel's points never expire
    credit(c, "alice", 10, program="fuel", expires_at=soon)

    c.points.transfer(ADMIN, "alice", "bob", "fuel", "regular", 100, CTX)
    clock.advance(timedelta(days=3))
    c.points.expire(ADMIN, "bob")

    assert balance(c, "bob", "fuel") == 90


# -- expiry ------------------------------------------------------------------------------------------------


def test_expiry_debits_expired_lots_when_it_runs_and_a_second_run_is_a_no_op(
    c: Container, clock: ManualClock,
) -> None:
    start = clock()
    credit(c, "alice", 100, expires_at=start + timedelta(days=10))
    credit(c, "alice", 40, expires_at=start + timedelta(days=30))
    credit(c, "alice", 25, program="fuel", expires_at=start + timedelta(days=5))
    c.points.debit(ADMIN, "alice", "main", "regular", "redemption", 30, CTX)
    ran = clock.advance(timedelta(days=11, hours=6))

    result = c.points.expire(ADMIN, "alice")

    assert (result.status, result.body["expired"]) == (200, 70 + 25)
    assert {(a["program"], a["balance"]) for a in result.body["accounts"]} == {("main", 40), ("fuel", 0)}
    main, fuel = stream(c, "alice")[-1], stream(c, "alice", "fuel")[-1]
    assert (main.kind, main.points, main.points_on_event, main.timestamp) == ("expiry", 70, -70, ran)
    assert (fuel.points, fuel.timestamp, fuel.event_type) == (25, ran, "EXPIRY")
    head = c.ledger.head()

    again = c.points.expire(ADMIN, "alice")
    assert (again.body["expired"], again.body["accounts"], c.ledger.head()) == (0, [], head)
    assert c.points.expire(ADMIN, "nobody").body["expired"] == 0

    clock.advance(timedelta(days=30))
    assert c.points.expire(ADMIN, "alice").body["expired"] == 40
    assert balance(c, "alice") == 0


def test_default_expiry_comes_from_the_program_and_a_keyed_run_applies_once(
    c: Container, clock: ManualClock,
) -> None:
    credit(c, "alice", 100)  # main: 365 days
    credit(c, "alice", 100, program="fuel")  # fuel: never

    clock.advance(timedelta(days=364))
    assert c.points.expire(ADMIN, "alice").body["expired"] == 0
    clock.advance(timedelta(days=3))
    assert c.points.expire(ADMIN, "alice").body["expired"] == 100
    assert (balance(c, "alice"), balance(c, "alice", "fuel")) == (0, 100)

    # with an idempotency key, a run is applied once
    credit(c, "ivan", 100, expires_at=clock() + timedelta(days=1))
    clock.advance(timedelta(days=2))

    first = c.points.expire(ADMIN, "ivan", idempotency_key="expiry-2026-03-03")
    credit(c, "ivan", 10, expires_at=clock() - timedelta(hours=1))  # already expired
    again = c.points.expire(ADMIN, "ivan", idempotency_key="expiry-2026-03-03")

    assert again.replayed and (again.body, again.position) == (first.body, first.position)
    assert balance(c, "ivan") == 10


# -- merge ------------------------------------------------------------------------------------------------


def test_merge_moves_every_account_and_the_victim_refuses_entries_afterwards(
    c: Container, clock: ManualClock,
) -> None:
    soon = clock() + timedelta(days=5)
    credit(c, "bob", 100, expires_at=soon)
    credit(c, "bob", 40, category="promised")
    credit(c, "bob", 70, program="fuel")
    credit(c, "alice", 10)
    ctx = EntryContext(source="SYSTEM", reason="duplicate profile")

    result = c.points.merge(ADMIN, "bob", "alice", ctx)

    assert (result.body["victim"], result.body["survivor"]) == ("bob", "alice")
    assert len(result.body["accounts"]) == 6
    for program, category, moved, survivor_balance in (("main", "regular", 100, 110),
                                                         ("main", "promised", 40, 40),
                                                         ("fuel", "regular", 70, 70)):
        victim, survivor = account(c, "bob", program, category), account(c, "alice", program, category)
        last, received = stream(c, "bob", program, category)[-1], stream(c, "alice", program, category)[-1]
        assert (victim.balance, victim.merged_into) == (0, survivor.id)
        assert (last.points, entry_amounts(last)[1], received.points) == (moved, "debit", moved)
        assert str(last.event_id) == str(received.event_id) == result.body["event_id"]
        assert (last.reason, last.event_type) == ("duplicate profile", "MERGE")
        assert survivor.balance == survivor_balance

    for call in (lambda: credit(c, "bob", 5),
                 lambda: c.points.debit(ADMIN, "bob", "main", "regular", "points_return", 5, CTX),
                 lambda: c.points.transfer(ADMIN, "bob", "alice", "main", "regular", 5, CTX),
                 lambda: c.points.transfer(ADMIN, "alice", "bob", "main", "regular", 5, CTX),
                 lambda: c.points.merge(ADMIN, "alice", "bob", CTX)):  # nor can it survive one
        unchanged(c, call, "account_merged")
    unchanged(c, lambda: c.points.merge(ADMIN, "bob", "alice", CTX), "nothing_to_merge")
    unchanged(c, lambda: c.points.merge(ADMIN, "alice", "alice", CTX), "invalid_merge")
    assert c.points.expire(ADMIN, "bob").body["expired"] == 0  # merged accounts are skipped

    # the victim's lots kept their expiry at the survivor, through the store
    clock.advance(timedelta(days=6))
    assert c.points.expire(ADMIN, "alice").body["expired"] == 100
    assert balance(c, "alice") == 10


def test_merge_with_a_negative_victim_credits_the_victim_and_debits_the_survivor(c: Container) -> None:
    credit(c, "alice", 100)
    credit(c, "bob", 20)
    c.points.debit(ADMIN, "bob", "main", "regular", "points_return", 60, CTX)  # -40

    c.points.merge(ADMIN, "bob", "alice", CTX)

    last, received = stream(c, "bob")[-1], stream(c, "alice")[-1]
    assert entry_amounts(last) == ("merge_out", "credit", 40, 0)
    assert entry_amounts(received) == ("merge_in", "debit", 0, 40)
    assert (balance(c, "bob"), balance(c, "alice")) == (0, 60)

    # a survivor without an account gets one, opened in the merge's save
    credit(c, "yuri", 30)
    c.points.merge(ADMIN, "yuri", "zed", CTX)
    assert [type(e).__name__ for e in stream(c, "zed")] == ["Opened", "MergeReceived"]
    assert balance(c, "zed") == 30


# -- idempotency -------------------------------------------------------------------------------------------


def test_the_same_key_gives_the_same_answer_and_applies_once(c: Container) -> None:
    first = credit(c, "alice", 100, idempotency_key="k-credit")
    again = credit(c, "alice", 100, idempotency_key="k-credit")
    assert (again.replayed, again.body, again.position, again.status) == (True, first.body, first.position,
                                                                          200)
    assert balance(c, "alice") == 100

    moved = c.points.transfer(ADMIN, "alice", "bob", "main", "regular", 60, CTX, idempotency_key="k-move")
    moved_again = c.points.transfer(ADMIN, "alice", "bob", "main", "regular", 60, CTX,
                                    idempotency_key="k-move")
    assert moved_again.replayed and (moved_again.body, moved_again.position) == (moved.body, moved.position)
    assert (balance(c, "alice"), balance(c, "bob")) == (40, 60)

    # a retry whose debit would now be refused still gets the first answer
    spent = c.points.debit(ADMIN, "alice", "main", "regular", "redemption", 40, CTX, idempotency_key="k-d")
    assert c.points.debit(ADMIN, "alice", "main", "regular", "redemption", 40, CTX,
                          idempotency_key="k-d").body == spent.body
    assert balance(c, "alice") == 0

    group = c.points.group_redeem(ADMIN, "bob", [("main", 10)], CTX, idempotency_key="k-g")
    assert c.points.group_redeem(ADMIN, "bob", [("main", 10)], CTX, idempotency_key="k-g").body == group.body
    assert balance(c, "bob") == 50

    refused(lambda: credit(c, "alice", 99, idempotency_key="k-credit"), "idempotency_key_reused",
            IdempotencyKeyReused)
    refused(lambda: c.points.merge(ADMIN, "bob", "alice", CTX, idempotency_key="k-move"),
            "idempotency_key_reused")


# -- W2: a promo code whose outcome is points ---------------------------------------------------------------


def points_code(c: Container, key: str = "bonus", points: int = 250, **reward: Any) -> str:
    live_campaign(c, ADMIN, key, reward={"type": "points", "points": points, "program": "main", **reward})
    code: str = c.vouchers.issue_codes(ADMIN, key, count=1).body["codes"][0]
    return code


def redeem(c: Container, code: str, customer: str | None, channel: str | None = "online") -> Any:
    return c.redemptions.redeem(ADMIN, RedeemRequest(code=code, order=Order.build(3000, "EUR", "order-1", []),
                                                     customer_id=customer, channel=channel))


def test_a_points_code_credits_the_account_atomically_with_the_redemption(c: Container) -> None:
    code = points_code(c)
    head = c.ledger.head()

    result = redeem(c, code, "alice")

    assert (result.status, result.body["points_awarded"], result.body["discount"]) == (201, 250, 0)
    redemption = c.ledger.find(UUID(result.body["id"]), Redemption)
    assert redemption is not None and redemption.facts["points_awarded"] == 250
    assert balance(c, "alice") == 250
    entry = stream(c, "alice")[-1]
    assert (entry.kind, entry.points, entry.event_type, entry.source, entry.transaction_id) == (
        "promo_code", 250, "PROMO_CODE", "ECOMMERCE", "order-1")
    saved = [c.ledger.position_of(e.originator_id, e.originator_version) for e in stream(c, "alice")]
    assert all(head < p <= result.position for p in saved)  # in the redemption's own save


def test_a_points_code_needs_a_customer_a_known_program_and_its_terms_met(c: Container) -> None:
    code = points_code(c)
    result = redeem(c, code, None)
    assert (result.status, [r["code"] for r in result.body["reasons"]]) == (422, ["customer_required"])
    assert result.body["points_awarded"] == 0
    assert c.redemptions.validate(ADMIN, RedeemRequest(code=code, order=Order.build(3000, "EUR", None, []))
                                  )["reasons"][0]["code"] == "customer_required"

    refused(lambda: live_campaign(c, ADMIN, "x", reward={"type": "points", "points": 5, "program": "nope"}),
            "program_not_found")

    minimum = points_code(c, "minimum", points=40, category="promised", min_spend=5000)
    rejected = redeem(c, minimum, "alice")
    assert (rejected.status, rejected.body["reasons"][0]["code"]) == (422, "min_spend_not_met")
    assert maybe_account(c, "alice", category="promised") is None


def test_a_points_code_redeemed_by_a_merged_customer_credits_the_survivor(c: Container) -> None:
    code = points_code(c)
    credit(c, "alice", 5)
    c.points.merge(ADMIN, "alice", "bob", CTX)

    redeemed = redeem(c, code, "alice")

    assert redeemed.status == 201
    assert balance(c, "bob") == 5 + redeemed.body["points_awarded"]
    assert account(c, "alice").balance == 0


def test_reversing_a_points_redemption_debits_the_points_back_even_if_spent(c: Container) -> None:
    code = points_code(c)
    redeemed = redeem(c, code, "alice", channel="offline")
    c.points.debit(ADMIN, "alice", "main", "regular", "redemption", 200, CTX)

    reversed_ = c.redemptions.reverse(ADMIN, UUID(redeemed.body["id"]), "customer complained")

    assert reversed_.status == 200 and reversed_.body["status"] == "reversed"
    entry = stream(c, "alice")[-1]
    assert (entry.kind, entry.points, entry.points_on_event, entry.source) == (
        "promo_code_reversal", 250, -250, "INSTORE")
    assert balance(c, "alice") == -200
    assert c.ledger.position_of(entry.originator_id, entry.originator_version) <= reversed_.position


def test_a_points_redemption_of_a_merged_customer_can_still_be_reversed(c: Container) -> None:
    code = points_code(c)
    redeemed = redeem(c, code, "alice")
    c.points.merge(ADMIN, "alice", "bob", CTX)

    reversed_ = c.redemptions.reverse(ADMIN, UUID(redeemed.body["id"]), "fraud")

    assert reversed_.status == 200
    assert balance(c, "alice") + balance(c, "bob") == 0


# -- A5: history and point-in-time balances, from the streams ---------------------------------------------


def busy_customer(c: Container, clock: ManualClock) -> None:
    steps = [
        lambda: credit(c, "alice", 500),
        lambda: credit(c, "alice", 300, program="fuel"),
        lambda: credit(c, "alice", 80, category="promised"),
        lambda: c.points.debit(ADMIN, "alice", "main", "regular", "redemption", 120, CTX),
        lambda: credit(c, "bob", 90),
        lambda: c.points.group_redeem(ADMIN, "alice", [("main", 50), ("fuel", 50)], CTX),
        lambda: c.points.convert(ADMIN, "alice", "main", "promised", 80, CTX),
        lambda: c.points.transfer(ADMIN, "alice", "bob", "main", "regular", 100, CTX),
        lambda: c.points.return_transaction(ADMIN, "alice", "fuel", "regular", 30, 10, CTX),
        lambda: c.points.return_transaction(ADMIN, "bob", "main", "regular", 150, 20, CTX),
        lambda: c.points.merge(ADMIN, "bob", "alice", CTX),
        lambda: c.points.debit(ADMIN, "alice", "main", "regular", "points_return", 400, CTX),
    ]
    for step in steps:
        step()
        clock.advance(timedelta(minutes=5))


def test_history_lists_every_entry_of_every_account_in_commit_order(c: Container, clock: ManualClock) -> None:
    busy_customer(c, clock)

    history = c.points_history.history("acme", "alice")

    entries = history["entries"]
    streams = [stream(c, "alice", p, k) for p, k in (("main", "regular"), ("main", "promised"),
                                                     ("fuel", "regular"))]
    assert len(entries) == sum(len(s) for s in streams)
    positions = [e["position"] for e in entries]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    for e in entries:
        assert e["balance"] == e["recorded_balance"], e
    total = 0
    for e in entries:
        total += e["credit"] - e["debit"]
        assert e["customer_balance"] == total
    assert {(b["program"], b["category"], b["balance"]) for b in history["balances"]} == {
        ("main", "regular", balance(c, "alice")), ("main", "promised", 0),
        ("fuel", "regular", balance(c, "alice", "fuel"))}
    assert total == sum(b["balance"] for b in history["balances"])
    kinds = {e["kind"] for e in entries}
    assert kinds >= {"opening", "allocation", "redemption", "group_redemption", "conversion_out",
                     "conversion_in", "transfer_out", "transaction_return", "merge_in", "points_return"}
    group = [e for e in entries if e["kind"] == "group_redemption"]
    assert len(group) == 2 and {e["points_on_event"] for e in group} == {-100}
    assert len({e["event_id"] for e in group}) == 1

    # the same entries the ledger projection shows, in the same order
    c.projections.catch_up()
    with c.db.transaction() as tx:
        rows = tx.query("SELECT position, balance, credit, debit FROM points_entries "
                        "WHERE customer_id='alice' ORDER BY position")
    assert [(r["position"], int(r["balance"]), int(r["credit"]), int(r["debit"])) for r in rows] == [
        (e["position"], e["balance"], e["credit"], e["debit"]) for e in entries]

    bob = c.points_history.history("acme", "bob")["entries"]
    assert bob[-1]["kind"] == "merge_out" and bob[-1]["balance"] == 0
    assert c.points_history.history("acme", "nobody") == {"customer_id": "nobody", "entries": [],
                                                         "balances": []}


def test_balance_at_a_version_or_a_time(c: Container, clock: ManualClock) -> None:
    opened_at = clock()
    credit(c, "alice", 100)  # versions 1, 2
    t1 = clock.advance(timedelta(hours=1))
    credit(c, "alice", 50)  # 3
    t2 = clock.advance(timedelta(hours=1))
    c.points.debit(ADMIN, "alice", "main", "regular", "redemption", 120, CTX)  # 4
    clock.advance(timedelta(hours=1))

    def at_version(v: int) -> int:
        found: int = c.points_history.balance_at("acme", "alice", "main", "regular", version=v)["balance"]
        return found

    assert [at_version(v) for v in (1, 2, 3, 4, 99)] == [0, 100, 150, 30, 30]
    by_time = c.points_history.balance_at
    assert by_time("acme", "alice", "main", "regular", at=opened_at - timedelta(seconds=1))["balance"] == 0
    assert by_time("acme", "alice", "main", "regular", at=opened_at)["balance"] == 100
    assert by_time("acme", "alice", "main", "regular", at=t1 - timedelta(seconds=1))["version"] == 2
    middle = by_time("acme", "alice", "main", "regular", at=t1 + timedelta(minutes=30))
    assert (middle["balance"], middle["version"]) == (150, 3)
    assert by_time("acme", "alice", "main", "regular", at=t2)["balance"] == 30
    assert by_time("acme", "alice", "main", "regular")["balance"] == 30
    refused(lambda: by_time("acme", "alice", "main", "regular", at=t1, version=2), "at_or_version",
            InvalidInput)
    refused(lambda: by_time("acme", "bob", "main", "regular"), "account_not_found", NotFound)


def test_a_long_account_loads_from_its_snapshot_as_it_replays(c: Container, clock: ManualClock) -> None:
    """Points accounts are snapshotted every 200 events: loading one must equal replaying it."""
    credit(c, "alice", 1)
    live = account(c, "alice")
    soon = clock() + timedelta(days=3)
    for n in range(230):
        live.credit("allocation", 2, clock(), CTX.meta("ALLOCATION", 2),
                    expires_at=soon + timedelta(days=n % 7))
        if n % 3 == 0:
            live.debit("redemption", 3, clock(), CTX.meta("REDEMPTION", -3))
    c.ledger.save_all(live)

    loaded = account(c, "alice")
    assert state(loaded) == state(replay(stream(c, "alice"))) == state(live)
    assert loaded.version > 300
    clock.advance(timedelta(days=5))
    expired = c.points.expire(ADMIN, "alice").body["expired"]
    assert expired == sum(n for e, n in by_expiry(live).items() if e is not None and e <= clock())
    now = c.points_history.balance_at("acme", "alice", "main", "regular")
    assert now["balance"] == live.balance - expired
