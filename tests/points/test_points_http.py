"""The points API in process on SQLite and PostgreSQL: every endpoint with the roles it admits,
problem+json on bad input, idempotency, and read-your-writes with `min_position`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from application.clock import ManualClock
from domain.clock import iso
from infrastructure.bootstrap import Container
from tests.http.helpers import KeyMaker, assert_problem

CUSTOMER = "/v1/customers/{}/points"


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def command(response: Any, status: int = 200) -> dict[str, Any]:
    """A command's answer carries its ledger position, in the body and the header."""
    body = ok(response, status)
    assert body["position"] == int(response.headers["X-Promo-Position"]) > 0
    return body


def programs(client: TestClient, keys: KeyMaker) -> None:
    for program, days in (("main", 365), ("fuel", None)):
        command(client.put(f"/v1/points/programs/{program}", headers=keys("operations"),
                           json={"name": program.title(), "expiry_days": days}))


def post(client: TestClient, headers: dict[str, str], customer: str, what: str,
         body: dict[str, Any] | None = None, **extra: Any) -> Any:
    return client.post(f"{CUSTOMER.format(customer)}/{what}", headers=headers, json=body, **extra)


def test_every_endpoint_end_to_end_with_the_roles_it_admits(
    client: TestClient, keys: KeyMaker, container: Container, clock: ManualClock,
) -> None:
    checkout, support, ops = keys("checkout"), keys("support"), keys("operations")
    reporting, auditor = keys("reporting"), keys("auditor")
    programs(client, keys)
    listed = [{k: v for k, v in p.items() if k != "position"}
              for p in ok(client.get("/v1/points/programs", headers=checkout))]
    assert listed == [{"program": "fuel", "name": "Fuel", "expiry_days": None},
                      {"program": "main", "name": "Main", "expiry_days": 365}]

    opened = command(post(client, checkout, "alice", "accounts", {"program": "main"}), 201)
    assert (opened["balance"], opened["version"], opened["category"]) == (0, 1, "regular")
    command(post(client, ops, "alice", "accounts", {"program": "fuel", "category": "promised",
                                                     "opening_balance": 90, "source": "IMPORTJOB"}), 201)
    credited = command(post(client, checkout, "alice", "credits", {
        "program": "main", "kind": "allocation", "points": 500, "source": "INSTORE", "till_id": "T1",
        "store_id": "S1", "transaction_id": "tx-1", "reason": "purchase",
        "expires_at": iso(clock() + timedelta(days=30))}))
    assert credited["balance"] == 500
    command(post(client, checkout, "alice", "credits", {"program": "fuel", "kind": "bulk_award",
                                                        "points": 60}))
    assert command(post(client, checkout, "alice", "debits", {
        "program": "main", "kind": "redemption", "points": 120}))["balance"] == 380
    returned = command(post(client, support, "alice", "returns", {
        "program": "main", "points_returned": 30, "redemption_reversed": 50, "transaction_id": "ret-1"}))
    assert returned["balance"] == 400
    group = command(post(client, checkout, "alice", "group-redemptions", {
        "debits": [{"program": "main", "points": 100}, {"program": "fuel", "points": 20}]}))
    assert (group["total"], [a["balance"] for a in group["accounts"]]) == (120, [300, 40])
    converted = command(post(client, checkout, "alice", "conversions", {
        "program": "fuel", "from_category": "promised", "points": 90}))
    assert (converted["debited"]["balance"], converted["credited"]["balance"]) == (0, 130)
    moved = command(post(client, checkout, "alice", "transfers", {
        "to_customer_id": "bob", "program": "main", "points": 100}))
    assert (moved["debited"]["customer_id"], moved["credited"]["customer_id"]) == ("alice", "bob")
    clock.advance(timedelta(days=31))
    assert_problem(post(client, checkout, "alice", "expiry"), 403, "forbidden")  # operations' job
    expired = command(post(client, support, "alice", "expiry"))
    assert expired["expired"] == 150 and expired["customer_id"] == "alice"
    merged = command(client.post("/v1/customers/bob/merge", headers=support,
                                 json={"survivor_customer_id": "alice", "reason": "duplicate"}))
    assert (merged["victim"], merged["survivor"], len(merged["accounts"])) == ("bob", "alice", 2)
    last = merged["position"]

    ledger = ok(client.get(f"{CUSTOMER.format('alice')}/ledger", headers=reporting,
                           params={"min_position": last, "limit": 100,
                                   "since": iso(clock() - timedelta(days=60))}))
    kinds = [i["kind"] for i in ledger["items"]]
    assert kinds.count("opening") == 3 and "expiry" in kinds and kinds[-1] == "merge_in"
    assert ledger["next_cursor"] is None
    balance = ok(client.get(f"{CUSTOMER.format('alice')}/balance", headers=checkout,
                            params={"min_position": last}))
    assert balance["total"] == 50 + 100 + 130 + 0 and balance["as_of_position"] is None
    wallet = ok(client.get("/v1/customers/alice/wallet", headers=support, params={"min_position": last}))
    assert {(p["program"], p["category"], p["balance"]) for p in wallet["points"]} == {
        ("main", "regular", 150), ("fuel", "regular", 130), ("fuel", "promised", 0)}

    history = ok(client.get("/v1/audit/customers/alice/points/history", headers=auditor))
    assert [e["position"] for e in history["entries"]] == [i["position"] for i in ledger["items"]]
    assert history["entries"][-1]["customer_balance"] == balance["total"]
    at_version = ok(client.get("/v1/audit/customers/alice/points/balance", headers=auditor,
                               params={"program": "main", "version": 2}))
    assert (at_version["balance"], at_version["version"], at_version["as_of"]) == (500, 2, None)
    before = ok(client.get("/v1/audit/customers/alice/points/balance", headers=auditor,
                           params={"program": "fuel", "category": "promised",
                                   "at": iso(clock() - timedelta(days=60))}))
    assert (before["balance"], before["version"]) == (0, 0)
    verified = ok(client.post("/v1/audit/points/verify", headers=auditor))
    assert verified["ok"] is True and verified["accounts"] == 4

    # and who may not
    forbidden = [
        ("put", "/v1/points/programs/main", checkout, {"name": "x"}),
        ("post", f"{CUSTOMER.format('alice')}/credits", reporting,
         {"program": "main", "kind": "allocation", "points": 1}),
        ("post", f"{CUSTOMER.format('alice')}/debits", auditor,
         {"program": "main", "kind": "redemption", "points": 1}),
        ("post", "/v1/customers/alice/merge", checkout, {"survivor_customer_id": "bob"}),
        ("get", "/v1/audit/customers/alice/points/history", support, None),
        ("get", "/v1/audit/customers/alice/points/balance?program=main", reporting, None),
        ("post", "/v1/audit/points/verify", ops, None),
        ("get", f"{CUSTOMER.format('alice')}/ledger", ops, None),
    ]
    head = container.ledger.head()
    for method, url, headers, body in forbidden:
        kwargs = {"json": body} if body is not None else {}
        assert_problem(client.request(method, url, headers=headers, **kwargs), 403, "forbidden")
    assert_problem(client.get(f"{CUSTOMER.format('alice')}/ledger"), 401, "unauthenticated")
    assert container.ledger.head() == head


def test_bad_input_is_a_problem_and_changes_nothing(
    client: TestClient, keys: KeyMaker, container: Container,
) -> None:
    headers, ops, auditor = keys("checkout"), keys("operations"), keys("auditor")
    programs(client, keys)
    command(post(client, headers, "alice", "credits", {"program": "main", "kind": "allocation",
                                                       "points": 100}))
    credit = {"program": "main", "kind": "allocation", "points": 10}
    schema_errors: list[tuple[str, dict[str, Any]]] = [
        ("credits", {**credit, "kind": "transfer_in"}),
        ("credits", {**credit, "kind": "gift"}),
        ("debits", {**credit, "kind": "allocation"}),
        ("debits", {**credit, "kind": "expiry"}),
        *[("credits", {**credit, "points": bad}) for bad in (0, -5, 1.5, 10.0, "10", True, None, 10**12 + 1)],
        *[("debits", {**credit, "kind": "redemption", "points": bad}) for bad in (0, -1, 2.5)],
        ("credits", {**credit, "category": "gold"}),
        ("credits", {**credit, "expires_at": "2026-06-01T00:00:00"}),
        ("credits", {**credit, "source": "instore"}),
        ("credits", {**credit, "surprise": 1}),
        ("credits", {"kind": "allocation", "points": 10}),
        ("accounts", {"program": "main", "category": "REGULAR"}),
        ("accounts", {"program": "main", "opening_balance": 1.0}),
        ("returns", {"program": "main", "points_returned": -1, "redemption_reversed": 0}),
        ("group-redemptions", {"debits": []}),
        ("group-redemptions", {"debits": [{"program": "main", "points": 0}]}),
        ("conversions", {"program": "main", "from_category": "regular", "points": 5}),
        ("transfers", {"program": "main", "points": 5}),
        ("transfers", {"program": "main", "to_customer_id": "bob", "points": -5}),
    ]
    head = container.ledger.head()
    for what, body in schema_errors:
        problem = assert_problem(post(client, headers, "alice", what, body), 422, "invalid_request")
        assert problem["errors"], (what, body)
    assert_problem(client.put("/v1/points/programs/main", headers=ops, json={"expiry_days": 0}),
                   422, "invalid_request")
    assert_problem(client.put("/v1/points/programs/bad%20name", headers=ops, json={}),
                   422, "invalid_program")
    reads = [
        ("ledger", {"since": "2026-03-01T00:00:00"}),
        ("ledger", {"until": "2026-03-01"}),
        ("ledger", {"entry_type": "both"}),
        ("ledger", {"category": "gold"}),
        ("ledger", {"limit": 101}),
        ("ledger", {"min_position": -1}),
        ("balance", {"since": "yesterday"}),
    ]
    for what, params in reads:
        assert_problem(client.get(f"{CUSTOMER.format('alice')}/{what}", headers=headers, params=params),
                       422, "invalid_request")
    for params in ({"program": "main", "at": "2026-03-01T09:00:00"}, {"program": "main", "version": 0},
                   {}, {"program": "main", "category": "gold"}):
        assert_problem(client.get("/v1/audit/customers/alice/points/balance", headers=auditor,
                                  params=params), 422, "invalid_request")
    assert container.ledger.head() == head


def test_refusals_are_problems_with_their_codes(
    client: TestClient, keys: KeyMaker, container: Container,
) -> None:
    headers, support, auditor = keys("checkout"), keys("support"), keys("auditor")
    programs(client, keys)
    command(post(client, headers, "alice", "credits",
                 {"program": "main", "kind": "allocation", "points": 50}))
    command(post(client, headers, "bob", "credits", {"program": "main", "kind": "allocation", "points": 5}))
    command(client.post("/v1/customers/bob/merge", headers=support, json={"survivor_customer_id": "carol"}))
    head = container.ledger.head()

    refusals: list[tuple[Any, int, str]] = [
        (post(client, headers, "alice", "debits", {"program": "main", "kind": "redemption", "points": 51}),
         409, "insufficient_points"),
        (post(client, headers, "alice", "transfers", {"to_customer_id": "dan", "program": "main",
                                                      "points": 51}), 409, "insufficient_points"),
        (post(client, headers, "alice", "group-redemptions",
              {"debits": [{"program": "main", "points": 10}, {"program": "fuel", "points": 1}]}),
         404, "account_not_found"),
        (post(client, headers, "alice", "credits", {"program": "air", "kind": "allocation", "points": 1}),
         404, "program_not_found"),
        (post(client, headers, "alice", "transfers", {"to_customer_id": "alice", "program": "main",
                                                      "points": 1}), 422, "invalid_transfer"),
        (post(client, headers, "bob", "credits", {"program": "main", "kind": "allocation", "points": 1}),
         409, "account_merged"),
        (post(client, headers, "alice", "accounts", {"program": "main"}), 409, "account_exists"),
        (client.post("/v1/customers/bob/merge", headers=support, json={"survivor_customer_id": "alice"}),
         404, "nothing_to_merge"),
        (client.get("/v1/audit/customers/zed/points/balance", headers=auditor,
                    params={"program": "main"}), 404, "account_not_found"),
        (client.get("/v1/audit/customers/alice/points/balance", headers=auditor,
                    params={"program": "main", "version": 1, "at": "2026-03-01T09:00:00Z"}),
         422, "at_or_version"),
    ]
    for response, status, code in refusals:
        assert_problem(response, status, code)
    overdraw = {"program": "main", "kind": "redemption", "points": 60}
    problem = assert_problem(post(client, headers, "alice", "debits", overdraw), 409, "insufficient_points")
    assert problem["balance"] == 50
    assert container.ledger.head() == head


def test_idempotency_keys_replay_the_first_answer(client: TestClient, keys: KeyMaker) -> None:
    headers = keys("checkout")
    programs(client, keys)
    body = {"program": "main", "kind": "allocation", "points": 70}
    with_key = {**headers, "Idempotency-Key": "purchase-1"}

    first = post(client, with_key, "alice", "credits", body)
    again = post(client, with_key, "alice", "credits", body)

    assert command(again) == command(first)
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert_problem(post(client, with_key, "alice", "credits", {**body, "points": 71}), 422,
                   "idempotency_key_reused")
    moved = {**headers, "Idempotency-Key": "gift-1"}
    gift = {"to_customer_id": "bob", "program": "main", "points": 30}
    sent = command(post(client, moved, "alice", "transfers", gift))
    assert command(post(client, moved, "alice", "transfers", gift)) == sent
    for customer, points in (("alice", 40), ("bob", 30)):
        balance = ok(client.get(f"{CUSTOMER.format(customer)}/balance", headers=headers,
                                params={"min_position": sent["position"]}))
        assert balance["total"] == points


def test_reads_see_the_callers_own_writes_with_min_position(
    client: TestClient, keys: KeyMaker, container: Container,
) -> None:
    headers = keys("checkout")
    programs(client, keys)
    for n in range(1, 6):
        written = command(post(client, headers, "alice", "credits",
                               {"program": "main", "kind": "allocation", "points": n}))
        position = written["position"]
        ledger = ok(client.get(f"{CUSTOMER.format('alice')}/ledger", headers=headers,
                               params={"min_position": position, "limit": 100}))
        assert ledger["items"][-1]["position"] == position
        assert ledger["items"][-1]["balance"] == n * (n + 1) // 2
        balance = ok(client.get(f"{CUSTOMER.format('alice')}/balance", headers=headers,
                                params={"min_position": position}))
        assert balance["total"] == n * (n + 1) // 2
        wallet = ok(client.get("/v1/customers/alice/wallet", headers=headers,
                               params={"min_position": position}))
        assert wallet["points"] == [{"program": "main", "category": "regular", "balance": n * (n + 1) // 2}]
    beyond = container.ledger.head() + 1000
    assert_problem(client.get(f"{CUSTOMER.format('alice')}/ledger", headers=headers,
                              params={"min_position": beyond}), 422, "unknown_position")


def test_ledger_filters_and_the_closing_balance_over_http(
    client: TestClient, keys: KeyMaker, clock: ManualClock,
) -> None:
    headers = keys("reporting")
    writer = keys("checkout")
    programs(client, keys)
    entries = [
        ("credits", {"program": "main", "kind": "allocation", "points": 100, "source": "INSTORE",
                     "till_id": "T1"}),
        ("credits", {"program": "fuel", "kind": "allocation", "points": 40, "source": "ECOMMERCE"}),
        ("debits", {"program": "main", "kind": "redemption", "points": 30, "source": "INSTORE",
                    "till_id": "T2"}),
        ("returns", {"program": "main", "points_returned": 10, "redemption_reversed": 5, "source": "INSTORE",
                     "till_id": "T1"}),
        ("credits", {"program": "main", "category": "promised", "kind": "allocation", "points": 8,
                     "source": "WEBSITE"}),
    ]
    last = 0
    for what, body in entries:
        last = command(post(client, writer, "alice", what, body))["position"]
        clock.advance(timedelta(minutes=10))
    url = CUSTOMER.format("alice")

    def items(**params: Any) -> list[tuple[str, int, int]]:
        page = ok(client.get(f"{url}/ledger", headers=headers, params={"min_position": last, **params}))
        return [(i["kind"], i["credit"], i["debit"]) for i in page["items"]]

    # an account opened on the fly has a SYSTEM opening entry, whatever opened it
    assert items(source="INSTORE") == [("allocation", 100, 0), ("redemption", 0, 30),
                                       ("transaction_return", 5, 10)]
    assert items(source="SYSTEM")[0] == ("opening", 0, 0)
    assert items(till_id="T1") == [("allocation", 100, 0), ("transaction_return", 5, 10)]
    assert items(entry_type="debit") == [("redemption", 0, 30), ("transaction_return", 5, 10)]
    assert [k for k, _, _ in items(entry_type="credit")] == ["allocation", "allocation", "transaction_return",
                                                             "allocation"]
    assert items(program="fuel", entry_type="credit") == [("allocation", 40, 0)]
    assert items(category="promised") == [("opening", 0, 0), ("allocation", 8, 0)]

    def closing(**params: Any) -> dict[str, Any]:
        return ok(client.get(f"{url}/balance", headers=headers, params={"min_position": last, **params}))

    assert closing()["total"] == 100 + 40 - 30 - 5 + 8
    assert closing(program="main", category="regular", till_id="T2")["total"] == 70
    assert closing(program="main", category="regular", till_id="T1")["total"] == 65
    assert closing(source="ECOMMERCE")["total"] == 140  # main 100 and fuel 40 as of that entry
    assert closing(until=iso(clock() - timedelta(days=30)))["total"] == 0
