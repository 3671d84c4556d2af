"""The ledger read side on SQLite and PostgreSQL: L9 (chronological, cursor pages, filters),
L10 (closing balance of a view; the current balance without filters) and points in the wallet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import ManualClock
from application.points import EntryContext
from domain.clock import iso
from infrastructure.bootstrap import Container
from projections.points_ledger import MAX_PAGE, LedgerFilter
from tests.http.helpers import KeyMaker, assert_problem
from tests.points.helpers import ADMIN, account, balance

EVER = ("2000-01-01T00:00:00.000000Z", "2100-01-01T00:00:00.000000Z")


def ctx(source: str, till: str | None = None, tx: str | None = None) -> EntryContext:
    return EntryContext(source=source, till_id=till, store_id="S1" if till else None, transaction_id=tx,
                        reason=f"{source.lower()} entry")


def view(since: str = EVER[0], until: str = EVER[1], **filters: Any) -> LedgerFilter:
    return LedgerFilter(since=since, until=until, **filters)


def scenario(c: Container, clock: ManualClock) -> None:
    """Alice's ledger: every kind of entry, several sources, tills, programs and categories."""
    p = c.points
    p.define_program(ADMIN, "main", "Main", 365)
    p.define_program(ADMIN, "fuel", "Fuel", None)
    steps: list[Callable[[], Any]] = [
        lambda: p.open_account(ADMIN, "alice", "main", "regular", 0, ctx("INSTORE", "T1")),
        lambda: p.credit(ADMIN, "alice", "main", "regular", "allocation", 100, ctx("INSTORE", "T1", "tx-1")),
        lambda: p.credit(ADMIN, "alice", "fuel", "regular", "allocation", 50,
                         ctx("ECOMMERCE", None, "web-1")),
        lambda: p.credit(ADMIN, "alice", "main", "promised", "allocation", 40, ctx("INSTORE", "T2", "tx-2")),
        lambda: p.debit(ADMIN, "alice", "main", "regular", "redemption", 30, ctx("INSTORE", "T1", "tx-3")),
        lambda: p.return_transaction(ADMIN, "alice", "main", "regular", 20, 10,
                                     ctx("INSTORE", "T2", "ret-1")),
        lambda: p.convert(ADMIN, "alice", "main", "promised", 40, ctx("WEBSITE")),
        lambda: p.group_redeem(ADMIN, "alice", [("main", 10), ("fuel", 10)], ctx("ECOMMERCE", "T3")),
        lambda: p.transfer(ADMIN, "alice", "bob", "main", "regular", 5, ctx("INSTORE", "T1")),
        lambda: p.credit(ADMIN, "bob", "fuel", "regular", "referral_award", 7, ctx("WEBSITE")),
        lambda: p.credit(ADMIN, "alice", "main", "trigger", "bulk_award", 15, ctx("TMALL")),
        lambda: p.merge(ADMIN, "bob", "alice", ctx("SYSTEM")),
        lambda: p.debit(ADMIN, "alice", "fuel", "regular", "points_return", 60,
                        ctx("INSTORE", "T2", "ret-2")),
        lambda: p.credit(ADMIN, "alice", "fuel", "regular", "allocation", 25, ctx("ECOMMERCE", "T3")),
    ]
    for step in steps:
        step()
        clock.advance(timedelta(hours=1))
    c.projections.catch_up()


def read(c: Container, f: LedgerFilter | None = None, customer: str = "alice", limit: int = MAX_PAGE,
         min_position: int | None = None) -> list[dict[str, Any]]:
    """Every page of the view, following the cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = c.queries.points_ledger("acme", customer, f or view(), limit=limit, after=cursor,
                                       min_position=min_position)
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = int(page["next_cursor"])


@pytest.fixture
def c(container: Container, clock: ManualClock) -> Container:
    scenario(container, clock)
    return container


# -- L9: order, details, pages -------------------------------------------------------------------------


def check_chronological_order_and_details(c: Container) -> None:
    items = read(c)

    history = c.points_history.history("acme", "alice")["entries"]
    assert [(i["position"], i["account_id"], i["version"], i["event_id"], i["kind"], i["entry_type"],
             i["credit"], i["debit"], i["balance"], i["points_on_event"], i["program"], i["category"],
             i["source"], i["till_id"], i["store_id"], i["transaction_id"], i["reason"], i["event_type"])
            for i in items] == [
        (h["position"], h["account_id"], h["version"], h["event_id"], h["kind"], h["entry_type"],
         h["credit"], h["debit"], h["balance"], h["points_on_event"], h["program"], h["category"],
         h["source"], h["till_id"], h["store_id"], h["transaction_id"], h["reason"], h["event_type"])
        for h in history]
    assert [i["entry_at"] for i in items] == sorted(i["entry_at"] for i in items)
    assert [i["position"] for i in items] == sorted({i["position"] for i in items})
    assert all(i["customer_id"] == "alice" and "merchant_id" not in i for i in items)
    first = items[1]
    assert (first["kind"], first["credit"], first["source"], first["till_id"], first["store_id"],
            first["transaction_id"]) == ("allocation", 100, "INSTORE", "T1", "S1", "tx-1")
    for account_id in {i["account_id"] for i in items}:
        assert next(i for i in items if i["account_id"] == account_id)["kind"] == "opening"
    assert read(c, customer="bob")[-1]["kind"] == "merge_out"
    assert read(c, customer="nobody") == []


def check_pages_follow_the_cursor(c: Container) -> None:
    everything = read(c)
    assert len(everything) > 10

    for size in (1, 3, 10):
        assert read(c, limit=size) == everything
    page = c.queries.points_ledger("acme", "alice", view(), limit=4, after=None)
    assert [i["position"] for i in page["items"]] == [i["position"] for i in everything[:4]]
    assert page["next_cursor"] == str(everything[3]["position"])
    after = c.queries.points_ledger("acme", "alice", view(), limit=4, after=int(page["next_cursor"]))
    assert after["items"] == everything[4:8]
    last = c.queries.points_ledger("acme", "alice", view(), limit=len(everything), after=None)
    assert (len(last["items"]), last["next_cursor"]) == (len(everything), None)
    instore = [i for i in everything if i["source"] == "INSTORE"]
    assert read(c, view(source="INSTORE"), limit=2) == instore


def check_page_size_default_and_maximum(c: Container, client: TestClient, keys: KeyMaker) -> None:
    headers = keys("reporting")
    url = "/v1/customers/alice/points/ledger"
    pages, cursor = [], None
    while True:
        response = client.get(url, headers=headers, params={"cursor": cursor} if cursor else {})
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages[:-1]] == [10] * (len(pages) - 1) and 0 < len(pages[-1]) <= 10
    assert [i["position"] for p in pages for i in p] == [i["position"] for i in read(c)]

    assert client.get(url, headers=headers, params={"limit": 100}).status_code == 200
    for bad in (101, 0, -1, "ten"):
        assert_problem(client.get(url, headers=headers, params={"limit": bad}), 422, "invalid_request")
    assert_problem(client.get(url, headers=headers, params={"cursor": -1}), 422, "invalid_request")


def test_a_full_page_of_the_maximum_size_has_a_next_cursor(container: Container, clock: ManualClock) -> None:
    container.points.define_program(ADMIN, "main", "Main", None)
    container.points.credit(ADMIN, "carol", "main", "regular", "allocation", 1, ctx("INSTORE"))
    carol = account(container, "carol")
    for _ in range(MAX_PAGE + 4):
        carol.credit("allocation", 1, clock(), ctx("INSTORE").meta("ALLOCATION", 1))
    container.ledger.save_all(carol)
    container.projections.catch_up()
    assert len(read(container, customer="carol", limit=7)) == MAX_PAGE + 6

    page = container.queries.points_ledger("acme", "carol", view(), limit=MAX_PAGE, after=None)

    assert len(page["items"]) == MAX_PAGE
    assert page["next_cursor"] == str(page["items"][-1]["position"])


# -- L9: filters -----------------------------------------------------------------------------------------


FILTERS: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
    ({"source": "INSTORE"}, lambda i: i["source"] == "INSTORE"),
    ({"source": "ECOMMERCE"}, lambda i: i["source"] == "ECOMMERCE"),
    ({"till_id": "T1"}, lambda i: i["till_id"] == "T1"),
    ({"till_id": "T2"}, lambda i: i["till_id"] == "T2"),
    ({"entry_type": "credit"}, lambda i: i["credit"] > 0),
    ({"entry_type": "debit"}, lambda i: i["debit"] > 0),
    ({"category": "promised"}, lambda i: i["category"] == "promised"),
    ({"category": "trigger"}, lambda i: i["category"] == "trigger"),
    ({"program": "fuel"}, lambda i: i["program"] == "fuel"),
    ({"program": "main", "category": "regular"}, lambda i: (i["program"], i["category"]) == ("main",
                                                                                               "regular")),
    ({"source": "INSTORE", "entry_type": "debit", "program": "main"},
     lambda i: i["source"] == "INSTORE" and i["debit"] > 0 and i["program"] == "main"),
    ({"source": "NOWHERE"}, lambda i: False),
]


def check_each_filter(c: Container) -> None:
    everything = read(c)
    for filters, keep in FILTERS:
        expected = [i for i in everything if keep(i)]
        assert read(c, view(**filters), limit=3) == expected, filters
        if filters != {"source": "NOWHERE"}:
            assert 0 < len(expected) < len(everything), filters


def check_a_transaction_return_is_credit_and_debit(c: Container) -> None:
    [credit_view] = [i for i in read(c, view(entry_type="credit")) if i["kind"] == "transaction_return"]
    [debit_view] = [i for i in read(c, view(entry_type="debit")) if i["kind"] == "transaction_return"]
    assert credit_view == debit_view
    assert (credit_view["entry_type"], credit_view["credit"], credit_view["debit"],
            credit_view["points_on_event"], credit_view["transaction_id"]) == ("both", 10, 20, -10, "ret-1")
    credits = read(c, view(entry_type="credit"))
    assert {i["kind"] for i in credits} >= {"allocation", "conversion_in", "merge_in", "transaction_return",
                                            "bulk_award"}
    assert all(i["debit"] == 0 for i in credits if i["kind"] != "transaction_return")
    assert {i["kind"] for i in read(c, view(entry_type="debit"))} == {
        "redemption", "transaction_return", "conversion_out", "group_redemption", "transfer_out",
        "points_return"}


def check_group_redemption_total(c: Container) -> None:
    group = [i for i in read(c) if i["kind"] == "group_redemption"]
    assert {(i["program"], i["debit"], i["points_on_event"]) for i in group} == {("main", 10, -20),
                                                                                ("fuel", 10, -20)}
    assert len({i["event_id"] for i in group}) == 1
    fuel = read(c, view(program="fuel"))
    assert [i["program"] for i in fuel if i["kind"] == "group_redemption"] == ["fuel"]


def check_date_range(c: Container) -> None:
    everything = read(c)
    times = sorted({i["entry_at"] for i in everything})
    since, until = times[2], times[5]
    expected = [i for i in everything if since <= i["entry_at"] < until]
    assert read(c, view(since=since, until=until)) == expected
    assert {i["entry_at"] for i in expected} == set(times[2:5])
    assert read(c, view(since=until, until=since)) == []


def check_seven_day_default(c: Container, clock: ManualClock, client: TestClient, keys: KeyMaker) -> None:
    first = read(c)
    clock.advance(timedelta(days=5))
    c.points.credit(ADMIN, "alice", "main", "regular", "allocation", 1, ctx("INSTORE", "T9"))
    clock.advance(timedelta(days=4))  # the scenario is now 9 days old, the last credit 4 days
    now = clock()
    headers = keys("support")
    url = "/v1/customers/alice/points/ledger"

    def positions(**params: Any) -> list[int]:
        response = client.get(url, headers=headers, params={"limit": 100, **params})
        assert response.status_code == 200, response.text
        return [i["position"] for i in response.json()["items"]]

    everything = read(c, min_position=c.ledger.head())  # the client's runners project it
    latest = everything[-1]
    assert positions() == [latest["position"]]
    assert positions(source="INSTORE") == [latest["position"]]
    long_ago = iso(now - timedelta(days=30))
    assert positions(since=long_ago) == [i["position"] for i in everything]
    # only `until`: the seven days before it
    until = iso(datetime.fromisoformat(first[-1]["entry_at"]) + timedelta(seconds=1))
    assert positions(until=until) == [i["position"] for i in first]
    assert positions(until=iso(now - timedelta(days=20))) == []


# -- L10: closing balance ----------------------------------------------------------------------------------


def expected_closing(everything: list[dict[str, Any]], f: LedgerFilter, rows: list[dict[str, Any]]
                     ) -> dict[tuple[str, str], int]:
    """Each matching account's balance as of the last entry of the view."""
    as_of = rows[-1]["position"]
    closing: dict[tuple[str, str], int] = {}
    for item in everything:
        key = (item["program"], item["category"])
        if f.program not in (None, key[0]) or f.category not in (None, key[1]):
            continue
        closing.setdefault(key, 0)
        if item["position"] <= as_of:
            closing[key] = item["balance"]
    return closing


def check_closing_balance_of_views(c: Container) -> None:
    everything = read(c)
    for filters, _ in FILTERS[:-1]:
        f = view(**filters)
        rows = read(c, f)
        closing = c.queries.points_balance("acme", "alice", f)
        got = {(a["program"], a["category"]): a["balance"] for a in closing["accounts"]}
        assert closing["as_of_position"] == rows[-1]["position"], filters
        assert got == expected_closing(everything, f, rows), filters
        assert closing["total"] == sum(got.values())
        if f.program and f.category:  # one account: the balance of the view's last entry
            assert closing["total"] == rows[-1]["balance"]


def check_current_balance(c: Container) -> None:
    closing = c.queries.points_balance("acme", "alice", None)

    current = {(p, k): balance(c, "alice", p, k) for p, k in (("main", "regular"), ("main", "promised"),
                                                            ("main", "trigger"), ("fuel", "regular"))}
    assert {(a["program"], a["category"]): a["balance"] for a in closing["accounts"]} == current
    assert closing["total"] == sum(current.values())
    assert closing["as_of_position"] is None
    wide = c.queries.points_balance("acme", "alice", view())
    assert (wide["total"], wide["accounts"]) == (closing["total"], closing["accounts"])
    assert c.queries.points_balance("acme", "nobody", None) == {
        "customer_id": "nobody", "as_of_position": None, "total": 0, "accounts": []}


def check_empty_view(c: Container) -> None:
    everything = read(c)
    before = c.queries.points_balance("acme", "alice", view(until=EVER[0]))
    assert (before["total"], before["as_of_position"]) == (0, 0)
    assert {a["balance"] for a in before["accounts"]} == {0}

    cut = everything[6]
    f = view(source="NOWHERE", until=cut["entry_at"])
    rows_before_cut = [i for i in everything if i["entry_at"] < cut["entry_at"]]
    closing = c.queries.points_balance("acme", "alice", f)
    assert closing["as_of_position"] == rows_before_cut[-1]["position"]
    assert {(a["program"], a["category"]): a["balance"] for a in closing["accounts"]} == expected_closing(
        everything, f, rows_before_cut)


# -- the wallet ---------------------------------------------------------------------------------------------


def check_wallet(c: Container) -> None:
    wallet = c.queries.wallet("acme", "alice")

    assert wallet["points"] == [
        {"program": "fuel", "category": "regular", "balance": balance(c, "alice", "fuel")},
        {"program": "main", "category": "promised", "balance": 0},
        {"program": "main", "category": "regular", "balance": balance(c, "alice")},
        {"program": "main", "category": "trigger", "balance": 15},
    ]
    assert wallet["vouchers"] == []
    assert c.queries.wallet("acme", "bob")["points"] == []  # merged away
    assert c.queries.wallet("globex", "alice")["points"] == []


# -- the tests: each scenario is checked several ways (one store setup each) -------------------------------


def test_l9_entries_are_chronological_with_every_detail_and_pages_follow_the_cursor(c: Container) -> None:
    check_chronological_order_and_details(c)
    check_pages_follow_the_cursor(c)


def test_l9_filters_narrow_the_ledger(c: Container) -> None:
    check_each_filter(c)
    check_a_transaction_return_is_credit_and_debit(c)
    check_group_redemption_total(c)
    check_date_range(c)


def test_l10_closing_balances_and_the_wallet(c: Container) -> None:
    check_closing_balance_of_views(c)
    check_current_balance(c)
    check_empty_view(c)
    check_wallet(c)


def test_l9_api_pages_ten_by_default_at_most_a_hundred_over_the_last_seven_days(
    c: Container, clock: ManualClock, client: TestClient, keys: KeyMaker,
) -> None:
    check_page_size_default_and_maximum(c, client, keys)
    check_seven_day_default(c, clock, client, keys)
