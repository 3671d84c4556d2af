"""Manual distribution (D1) through the HTTP API: vouchers to a list of customers (JSON and CSV)
with per-line results, and code exports that never hand out a code twice. Both stores."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from infrastructure.bootstrap import Container
from tests.http.helpers import KeyMaker


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def live(client: TestClient, headers: dict[str, str], key: str, stock: int) -> None:
    ok(client.post("/v1/campaigns", headers=headers, json={
        "key": key, "name": key, "currency": "EUR", "stock": stock,
        "reward": {"type": "amount_off", "amount": 500, "min_spend": 0}}), 201)
    for action in ("submit", "approve", "activate"):
        ok(client.post(f"/v1/campaigns/{key}/{action}", headers=headers))


def test_a_list_of_customers_gets_one_voucher_each_until_stock_runs_out_and_retries_change_nothing(
    client: TestClient, keys: KeyMaker,
) -> None:
    admin = keys("admin")
    live(client, admin, "push", stock=3)
    body = {"batch": "march", "customers": ["c-1", "c-2", "c-2", "bad id!", "c-3", "c-4"]}
    first = ok(client.post("/v1/campaigns/push/distributions", headers=keys("operations"), json=body))
    lines = [(line["customer_id"], line["status"], line.get("reason")) for line in first["lines"]]
    assert lines == [("c-1", "assigned", None), ("c-2", "assigned", None),
                     ("c-2", "refused", "duplicate_customer"), ("bad id!", "refused", "invalid_reference"),
                     ("c-3", "assigned", None), ("c-4", "refused", "stock_exhausted")]
    assert (first["assigned"], first["refused"]) == (3, 3)
    # the same batch again (a timeout, a retry): the same codes, nobody assigned twice
    again = ok(client.post("/v1/campaigns/push/distributions", headers=keys("checkout"), json=body))
    assert [line.get("code") for line in again["lines"]] == [line.get("code") for line in first["lines"]]
    wallet = ok(client.get("/v1/customers/c-1/wallet", headers=admin))
    assert [v["code"] for v in wallet["vouchers"]] == [first["lines"][0]["code"]]


def test_a_csv_of_customers_is_distributed_like_a_list(client: TestClient, keys: KeyMaker) -> None:
    admin = keys("admin")
    live(client, admin, "csv", stock=10)
    upload = {"file": ("customers.csv", b"customer_id\nc-10\nc-11\n\nc-12\n", "text/csv")}
    result = ok(client.post("/v1/campaigns/csv/distributions/file", headers=admin, files=upload,
                            data={"batch": "csv-1"}))
    assert [(line["customer_id"], line["status"]) for line in result["lines"]] == [
        ("c-10", "assigned"), ("c-11", "assigned"), ("c-12", "assigned")]


def test_exports_hand_out_unassigned_codes_once_and_the_same_batch_again_returns_the_same_codes(
    client: TestClient, keys: KeyMaker, container: Container,
) -> None:
    ops = keys("operations")
    live(client, ops | keys("admin"), "mail", stock=20)
    codes = ok(client.post("/v1/campaigns/mail/codes", headers=ops, json={"count": 5}), 201)["codes"]
    ok(client.post(f"/v1/vouchers/{codes[0]}/assignment", headers=ops, json={"customer_id": "c-1"}))

    first = client.post("/v1/campaigns/mail/exports", headers=ops, json={"batch": "b1", "count": 3})
    assert first.status_code == 201 and first.headers["content-type"].startswith("text/csv")
    exported = first.text.split()[1:]
    assert exported == codes[1:4]  # issue order, never the assigned one
    again = client.post("/v1/campaigns/mail/exports", headers=ops, json={"batch": "b1", "count": 3})
    assert (again.status_code, again.text.split()[1:]) == (200, exported)
    rest = client.post("/v1/campaigns/mail/exports", headers=ops, json={"batch": "b2", "count": 10})
    assert rest.text.split()[1:] == [codes[4]] and rest.headers["x-promo-count"] == "1"
    none_left = client.post("/v1/campaigns/mail/exports", headers=ops, json={"batch": "b3", "count": 1})
    assert none_left.text.split() == ["code"]
    stored = client.get("/v1/campaigns/mail/exports/b1", headers=keys("auditor"))
    assert stored.text.split()[1:] == exported
    # the read model agrees with a replay
    assert container.projections.wait("distribution", container.ledger.head(), 10)
    assert container.projections.audit("distribution").ok
