"""PointsAccount, the ledger of one customer x program x category: pure domain, no store.

Every credit kind of L3 and debit kind of L4, lots consumed first-expiring first (L5), debits that
may overdraw and those that may not, debt paid first by later credits, the transaction return of
L8, expiry, the merge of L7 (also with a negative victim), and replay reproducing the state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import InvalidInput, InvalidTransition
from domain.points import CREDIT_KINDS, DEBIT_KINDS, MAY_OVERDRAW, PointsAccount, entry_amounts
from tests.points.helpers import by_expiry, consistent, meta, replay, state

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

# L3 and L4, as the seed lists them, in this implementation's vocabulary.
L3_CREDITS = {"allocation", "transfer_in", "redemption_reversal", "referral_award", "conversion_in",
              "import", "bulk_award", "promo_code"}
L4_DEBITS = {"points_return", "expiry", "redemption", "group_redemption", "transfer_out",
             "referral_return", "conversion_out", "import", "promo_code_reversal"}
NEVER_OVERDRAW = ("redemption", "transfer_out", "conversion_out", "group_redemption")
RECORD_ONLY = ("points_return", "referral_return", "import", "promo_code_reversal")


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def opened(customer: str = "alice", *, balance: int = 0, expires_at: datetime | None = None,
           program: str = "main", category: str = "regular") -> PointsAccount:
    return PointsAccount.open("acme", customer, program, category, at(),
                              meta=meta("REGISTRATION" if not balance else "IMPORT", balance),
                              opening_balance=balance, expires_at=expires_at)


def funded(points: int = 100, expires_at: datetime | None = None, **kw: Any) -> PointsAccount:
    account = opened(**kw)
    account.credit("allocation", points, at(hours=1), meta("ALLOCATION", points), expires_at=expires_at)
    return account


def pending(account: PointsAccount) -> list[Any]:
    return list(account._pending_events)  # what a save would store; left in place


def refused(call: Any, error: type[Exception], code: str) -> Any:
    with pytest.raises(error) as caught:
        call()
    assert caught.value.code == code  # type: ignore[attr-defined]
    return caught.value


# -- opening ------------------------------------------------------------------------------------


def test_registration_opens_with_a_zero_entry() -> None:
    account = opened()

    [event] = pending(account)
    assert isinstance(event, PointsAccount.Opened)
    assert (event.opening_balance, event.event_type) == (0, "REGISTRATION")
    assert (account.balance, account.debt, account.lots, account.version) == (0, 0, [], 1)
    assert (account.customer_id, account.program, account.category) == ("alice", "main", "regular")
    assert account.id == PointsAccount.id_for("acme", "alice", "main", "regular")
    assert entry_amounts(event) == ("opening", "opening", 0, 0)


def test_an_imported_opening_balance_is_a_lot_and_a_negative_one_is_debt() -> None:
    positive = opened(balance=300, expires_at=at(days=30))
    negative = opened("bob", balance=-40)

    assert (positive.balance, positive.debt, by_expiry(positive)) == (300, 0, {at(days=30): 300})
    assert entry_amounts(pending(positive)[0]) == ("opening", "opening", 300, 0)
    assert (negative.balance, negative.debt, negative.lots) == (-40, 40, [])
    assert entry_amounts(pending(negative)[0]) == ("opening", "opening", 0, 40)


@pytest.mark.parametrize("category", ["gold", "", "REGULAR"])
def test_an_account_is_regular_promised_or_trigger(category: str) -> None:
    refused(lambda: opened(category=category), InvalidInput, "invalid_category")


@pytest.mark.parametrize("balance", [1.5, True, "10", 10**12 + 1, -(10**12) - 1])
def test_an_opening_balance_is_a_bounded_integer(balance: Any) -> None:
    refused(lambda: opened(balance=balance), InvalidInput, "invalid_points")


# -- L3 credits and L4 debits --------------------------------------------------------------------


def test_the_kinds_cover_l3_and_l4() -> None:
    assert set(CREDIT_KINDS) == L3_CREDITS
    assert set(DEBIT_KINDS) == L4_DEBITS
    assert set(MAY_OVERDRAW) == set(RECORD_ONLY)


@pytest.mark.parametrize("kind", sorted(L3_CREDITS))
def test_every_l3_credit_kind_adds_points_and_carries_the_event_details(kind: str) -> None:
    account = opened()
    details = meta(kind.upper(), 70, source="ECOMMERCE", till_id="T9", store_id="S2",
                   transaction_id="tx-42", reason=f"a {kind}")

    account.credit(kind, 70, at(hours=2), details, expires_at=at(days=90))

    event = pending(account)[-1]
    assert isinstance(event, PointsAccount.Credited)
    assert (event.kind, event.points, event.balance, event.expires_at) == (kind, 70, 70, at(days=90))
    assert event.timestamp == at(hours=2)
    assert {name: getattr(event, name) for name in details.fields()} == details.fields()
    assert entry_amounts(event) == (kind, "credit", 70, 0)
    assert (account.balance, by_expiry(account), account.version) == (70, {at(days=90): 70}, 2)


@pytest.mark.parametrize("kind", sorted(L4_DEBITS))
def test_every_l4_debit_kind_takes_points_and_carries_the_event_details(kind: str) -> None:
    account = funded(100)
    lot = account.lots[0]["lot"]
    details = meta(kind.upper(), -40, source="WEBSITE", till_id="T3", store_id="S3",
                   transaction_id="tx-7", reason=f"a {kind}")

    account.debit(kind, 40, at(hours=3), details)

    event = pending(account)[-1]
    assert isinstance(event, PointsAccount.Debited)
    assert (event.kind, event.points, event.balance, event.consumed) == (kind, 40, 60, [[lot, 40]])
    assert {name: getattr(event, name) for name in details.fields()} == details.fields()
    assert entry_amounts(event) == (kind, "debit", 0, 40)
    assert (account.balance, account.debt, by_expiry(account)) == (60, 0, {None: 60})


@pytest.mark.parametrize(("command", "kind"), [
    ("credit", "transfer_out"), ("credit", "expiry"), ("credit", "bonus"),
    ("debit", "allocation"), ("debit", "transfer_in"), ("debit", "theft"),
])
def test_a_kind_from_the_wrong_side_or_unknown_is_refused(command: str, kind: str) -> None:
    account = funded(100)
    before = len(pending(account))

    refused(lambda: getattr(account, command)(kind, 10, at(hours=2), meta()), InvalidInput,
            "invalid_entry_kind")
    assert (len(pending(account)), account.balance) == (before, 100)


@pytest.mark.parametrize("points", [0, -5, 1.5, True, "10", None, 10**12 + 1])
@pytest.mark.parametrize("command", ["credit", "debit"])
def test_points_are_a_positive_bounded_integer(command: str, points: Any) -> None:
    account = funded(100)

    refused(lambda: getattr(account, command)("import", points, at(hours=2), meta()), InvalidInput,
            "invalid_points")
    assert (len(pending(account)), account.balance) == (2, 100)


# -- lots and expiry order (L5) ------------------------------------------------------------------


def test_debits_consume_lots_first_expiring_first_and_lots_without_expiry_last() -> None:
    account = opened()
    account.credit("allocation", 100, at(hours=1), meta())  # never expires
    account.credit("allocation", 50, at(hours=2), meta(), expires_at=at(days=30))
    account.credit("allocation", 70, at(hours=3), meta(), expires_at=at(days=10))
    account.credit("allocation", 20, at(hours=4), meta(), expires_at=at(days=60))

    account.debit("redemption", 90, at(hours=5), meta())
    first = pending(account)[-1]
    assert [n for _, n in first.consumed] == [70, 20]
    assert by_expiry(account) == {at(days=30): 30, at(days=60): 20, None: 100}

    account.debit("redemption", 60, at(hours=6), meta())
    second = pending(account)[-1]
    assert [n for _, n in second.consumed] == [30, 20, 10]
    assert by_expiry(account) == {None: 90}
    assert account.balance == 90 and consistent(account)


def test_a_debit_records_exactly_the_lots_it_consumed() -> None:
    account = opened()
    account.credit("allocation", 10, at(hours=1), meta(), expires_at=at(days=5))
    account.credit("allocation", 10, at(hours=2), meta(), expires_at=at(days=6))

    account.debit("redemption", 15, at(hours=3), meta())

    event = pending(account)[-1]
    assert sum(n for _, n in event.consumed) == 15
    assert len(event.consumed) == 2
    assert by_expiry(account) == {at(days=6): 5}


# -- overdraw and debt -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", NEVER_OVERDRAW)
def test_redemptions_transfers_and_conversions_never_overdraw(kind: str) -> None:
    account = funded(30)

    error = refused(lambda: account.debit(kind, 31, at(hours=2), meta()), InvalidTransition,
                    "insufficient_points")
    assert error.extra["balance"] == 30  # type: ignore[attr-defined]
    assert (account.balance, account.debt, len(pending(account))) == (30, 0, 2)

    account.debit(kind, 30, at(hours=3), meta())  # the whole balance is fine
    assert (account.balance, account.lots) == (0, [])
    refused(lambda: account.debit(kind, 1, at(hours=4), meta()), InvalidTransition, "insufficient_points")


@pytest.mark.parametrize("kind", RECORD_ONLY)
def test_debits_recording_what_happened_elsewhere_may_overdraw(kind: str) -> None:
    account = funded(30, expires_at=at(days=9))
    lot = account.lots[0]["lot"]

    account.debit(kind, 50, at(hours=2), meta())

    event = pending(account)[-1]
    assert (event.balance, event.consumed) == (-20, [[lot, 30]])
    assert (account.balance, account.debt, account.lots) == (-20, 20, [])
    assert consistent(account)


@pytest.mark.parametrize("kind", NEVER_OVERDRAW)
def test_an_account_in_debt_cannot_be_redeemed_from(kind: str) -> None:
    account = funded(10)
    account.debit("points_return", 25, at(hours=2), meta())

    refused(lambda: account.debit(kind, 1, at(hours=3), meta()), InvalidTransition, "insufficient_points")


def test_a_later_credit_pays_the_debt_first() -> None:
    account = funded(30)
    account.debit("points_return", 50, at(hours=2), meta())  # -20, owing 20

    account.credit("allocation", 15, at(hours=3), meta(), expires_at=at(days=5))
    assert (account.balance, account.debt, account.lots) == (-5, 5, [])

    account.credit("allocation", 50, at(hours=4), meta(), expires_at=at(days=7))
    assert (account.balance, account.debt, by_expiry(account)) == (45, 0, {at(days=7): 45})
    assert pending(account)[-1].balance == 45
    assert consistent(account)

    # nothing was left to expire from the credit that only paid debt
    assert account.expire(at(days=6), meta()) == 0


# -- transaction return (L8) -----------------------------------------------------------------------


def test_a_transaction_return_shows_debit_credit_and_net_in_one_event() -> None:
    account = funded(100, expires_at=at(days=20))

    account.return_transaction(30, 50, at(hours=2), meta("TRANSACTION_RETURN", 20, transaction_id="ret-1"),
                               expires_at=at(days=40))

    [event] = pending(account)[2:]
    assert isinstance(event, PointsAccount.TransactionReturned)
    assert (event.points_returned, event.redemption_reversed, event.net) == (30, 50, 20)
    assert (event.points_on_event, event.transaction_id, event.balance) == (20, "ret-1", 120)
    assert entry_amounts(event) == ("transaction_return", "both", 50, 30)
    assert (account.balance, by_expiry(account)) == (120, {at(days=20): 70, at(days=40): 50})


def test_a_transaction_return_may_overdraw_and_its_reversal_pays_the_debt() -> None:
    account = funded(20)

    account.return_transaction(50, 10, at(hours=2), meta("TRANSACTION_RETURN", -40))

    assert (pending(account)[-1].net, account.balance, account.debt, account.lots) == (-40, -20, 20, [])
    assert consistent(account)


@pytest.mark.parametrize(("returned", "reversed_"), [(0, 0), (-1, 5), (5, -1), (1.5, 0), (0, True)])
def test_a_transaction_return_moves_some_whole_points(returned: Any, reversed_: Any) -> None:
    account = funded(20)
    refused(lambda: account.return_transaction(returned, reversed_, at(hours=2), meta()), InvalidInput,
            "invalid_points")
    assert len(pending(account)) == 2


# -- expiry (L5) ---------------------------------------------------------------------------------


def test_expiry_debits_only_what_is_left_of_expired_lots_dated_when_it_runs() -> None:
    account = opened()
    account.credit("allocation", 40, at(hours=1), meta(), expires_at=at(days=5))
    account.credit("allocation", 60, at(hours=2), meta(), expires_at=at(days=10))
    account.credit("allocation", 25, at(hours=3), meta())  # never expires
    account.debit("redemption", 10, at(hours=4), meta())  # from the first lot: 30 left of it

    ran = at(days=6, hours=7)
    assert account.expire(ran, meta("EXPIRY", 0, source="SYSTEM")) == 30

    event = pending(account)[-1]
    assert isinstance(event, PointsAccount.Debited)
    assert (event.kind, event.points, event.points_on_event, event.balance) == ("expiry", 30, -30, 85)
    assert event.timestamp == ran  # when the expiry ran, not when the lot expired
    assert sum(n for _, n in event.consumed) == 30
    assert entry_amounts(event) == ("expiry", "debit", 0, 30)
    assert by_expiry(account) == {at(days=10): 60, None: 25}


def test_a_second_expiry_run_is_a_no_op_without_an_entry() -> None:
    account = funded(40, expires_at=at(days=5))
    assert account.expire(at(days=6), meta()) == 40
    events, version = len(pending(account)), account.version

    assert account.expire(at(days=6, hours=1), meta()) == 0
    assert account.expire(at(days=400), meta()) == 0
    assert (len(pending(account)), account.version, account.balance) == (events, version, 0)


def test_nothing_expires_before_its_time_and_a_lot_expires_at_its_instant() -> None:
    account = funded(40, expires_at=at(days=5))

    assert account.expire(at(days=5) - timedelta(microseconds=1), meta()) == 0
    assert len(pending(account)) == 2
    assert account.expire(at(days=5), meta()) == 40


def test_lots_without_expiry_never_expire_and_debt_does_not_expire() -> None:
    account = funded(40)
    assert account.expire(at(days=100_000), meta()) == 0
    account.debit("points_return", 100, at(hours=2), meta())
    assert account.expire(at(days=100_000), meta()) == 0
    assert account.balance == -60


# -- merge (L7) -------------------------------------------------------------------------------------


def test_merge_ends_the_victims_ledger_with_a_debit_and_credits_the_survivor_with_its_lots() -> None:
    victim = opened("bob")
    victim.credit("allocation", 100, at(hours=1), meta(), expires_at=at(days=10))
    victim.credit("allocation", 50, at(hours=2), meta())
    survivor = funded(20, expires_at=at(days=3))
    merge = meta("MERGE", 0, reason="duplicate")

    moved = victim.merge_into(survivor, at(hours=5), merge)

    assert moved == 150
    out, received = pending(victim)[-1], pending(survivor)[-1]
    assert isinstance(out, PointsAccount.MergedAway) and isinstance(received, PointsAccount.MergeReceived)
    assert out.event_id == received.event_id == merge.event_id
    assert out.points_on_event == received.points_on_event == 150
    assert (out.balance, out.survivor_account_id) == (0, survivor.id)
    assert (received.balance, received.victim_account_id) == (170, victim.id)
    assert entry_amounts(out) == ("merge_out", "debit", 0, 150)
    assert entry_amounts(received) == ("merge_in", "credit", 150, 0)
    assert out.timestamp == received.timestamp == at(hours=5)
    assert (victim.balance, victim.lots, victim.merged_into) == (0, [], survivor.id)
    assert survivor.balance == 170
    assert by_expiry(survivor) == {at(days=3): 20, at(days=10): 100, None: 50}
    assert consistent(survivor)

    # the victim's lots keep their expiries at the survivor
    assert survivor.expire(at(days=11), meta()) == 120
    assert by_expiry(survivor) == {None: 50}


def test_merge_of_a_negative_victim_credits_the_victim_and_debits_the_survivor() -> None:
    victim = funded(10, customer="bob")
    victim.debit("points_return", 50, at(hours=2), meta())  # -40
    survivor = funded(100, expires_at=at(days=9))

    assert victim.merge_into(survivor, at(hours=3), meta("MERGE", 0)) == -40

    out, received = pending(victim)[-1], pending(survivor)[-1]
    assert entry_amounts(out) == ("merge_out", "credit", 40, 0)
    assert entry_amounts(received) == ("merge_in", "debit", 0, 40)
    assert (out.balance, victim.balance, victim.debt) == (0, 0, 0)
    assert (received.balance, survivor.balance, survivor.debt) == (60, 60, 0)
    assert by_expiry(survivor) == {at(days=9): 60}  # the debt was paid from the survivor's lots
    assert consistent(survivor)


def test_a_negative_victim_can_leave_the_survivor_in_debt() -> None:
    victim = opened("bob", balance=-70)
    survivor = funded(30)

    victim.merge_into(survivor, at(hours=3), meta())

    assert (survivor.balance, survivor.debt, survivor.lots) == (-40, 40, [])
    survivor.credit("allocation", 50, at(hours=4), meta())
    assert (survivor.balance, survivor.debt, by_expiry(survivor)) == (10, 0, {None: 10})


def test_a_victim_with_nothing_still_ends_its_ledger_with_the_merge() -> None:
    victim, survivor = opened("bob"), funded(5)

    assert victim.merge_into(survivor, at(hours=1), meta()) == 0
    assert isinstance(pending(victim)[-1], PointsAccount.MergedAway)
    assert victim.merged_into == survivor.id and survivor.balance == 5


def test_the_victim_refuses_every_command_after_the_merge() -> None:
    victim, survivor = funded(100, customer="bob"), funded(10)
    victim.merge_into(survivor, at(hours=2), meta())
    events = len(pending(victim))
    other = opened("carol")

    attempts = [
        lambda: victim.credit("allocation", 5, at(hours=3), meta()),
        lambda: victim.credit("transfer_in", 5, at(hours=3), meta()),
        lambda: victim.debit("points_return", 5, at(hours=3), meta()),
        lambda: victim.debit("redemption", 5, at(hours=3), meta()),
        lambda: victim.return_transaction(5, 5, at(hours=3), meta()),
        lambda: victim.expire(at(days=900), meta()),
        lambda: victim.merge_into(other, at(hours=3), meta()),
        lambda: other.merge_into(victim, at(hours=3), meta()),  # nor can it survive a merge
    ]
    for attempt in attempts:
        error = refused(attempt, InvalidTransition, "account_merged")
        assert error.extra["merged_into"] == str(survivor.id)  # type: ignore[attr-defined]
    assert len(pending(victim)) == events
    assert pending(victim)[-1].survivor_account_id == survivor.id  # still the very last entry
    assert other.version == 1 and other.balance == 0


@pytest.mark.parametrize("survivor", [
    lambda: opened("carol", program="fuel"),
    lambda: opened("carol", category="promised"),
    lambda: opened("bob"),  # the same account
])
def test_merge_is_into_another_customers_account_of_the_same_program_and_category(survivor: Any) -> None:
    victim = funded(10, customer="bob")
    target = survivor()
    if target.id == victim.id:
        target = victim
    refused(lambda: victim.merge_into(target, at(hours=2), meta()), InvalidInput, "invalid_merge")
    assert victim.merged_into is None and victim.balance == 10


# -- replay ------------------------------------------------------------------------------------------


def test_replaying_the_events_reproduces_balance_lots_and_debt() -> None:
    alice = opened(balance=200, expires_at=at(days=30))
    alice.credit("allocation", 100, at(hours=1), meta(), expires_at=at(days=10))
    alice.credit("bulk_award", 40, at(hours=2), meta())
    alice.debit("redemption", 120, at(hours=3), meta())
    alice.return_transaction(30, 15, at(hours=4), meta(), expires_at=at(days=50))
    alice.expire(at(days=11), meta())
    alice.debit("points_return", 500, at(days=12), meta())
    alice.credit("allocation", 30, at(days=13), meta(), expires_at=at(days=60))
    bob = opened("bob")
    bob.credit("referral_award", 90, at(hours=5), meta(), expires_at=at(days=20))
    bob.credit("import", 10, at(hours=6), meta(), expires_at=at(days=20))
    bob.debit("transfer_out", 25, at(hours=7), meta())
    carol = opened("carol", balance=-15)
    carol.merge_into(bob, at(days=14), meta())
    bob.merge_into(alice, at(days=15), meta())
    assert alice.debt > 0 or alice.lots  # the scenario left something to compare

    for live in (alice, bob, carol):
        events = live.collect_events()
        rebuilt = replay(events)
        assert state(rebuilt) == state(live)
        assert rebuilt.lots == live.lots
        assert [e.balance for e in events[1:]] == [replay(events[:i + 1]).balance
                                                   for i in range(1, len(events))]
        assert consistent(rebuilt)


def test_lot_ids_stay_unique_in_a_long_lived_account() -> None:
    victim = funded(100, customer="bob", expires_at=at(days=5))
    survivor = opened()
    victim.merge_into(survivor, at(hours=2), meta())  # survivor version 2: lot 2000
    while survivor.version < 1999:
        survivor.credit("allocation", 1, at(hours=3), meta())  # one pooled lot without expiry
    survivor.credit("allocation", 50, at(hours=4), meta(), expires_at=at(days=9))  # version 2000

    survivor.debit("redemption", 100, at(hours=5), meta())  # the merged lot, first-expiring

    lot_ids = [lot["lot"] for lot in survivor.lots]
    assert len(lot_ids) == len(set(lot_ids))
    assert by_expiry(survivor) == {at(days=9): 50, None: 1997}
    assert consistent(survivor)


def test_a_naive_expiry_is_refused() -> None:
    account = opened()
    with pytest.raises(InvalidInput) as caught:
        account.credit("allocation", 10, at(hours=1), meta(), expires_at=datetime(2026, 4, 1))
    assert caught.value.code == "naive_datetime"
    account.credit("allocation", 10, at(hours=2), meta(), expires_at=at(days=3))
    replay(account.collect_events())
