"""The pool API through the real app: uploads, sales, QR images, streamed exports, roles."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.http.helpers import KeyMaker, assert_problem
from tests.pools.helpers import code, csv_bytes

POOL = "/v1/campaigns/oishi/pool"


@pytest.fixture
def live(client: Any, keys: KeyMaker) -> None:
    """A live campaign `oishi` with a pool of 20-character codes."""
    admin = keys("admin")
    body = {"key": "oishi", "name": "Oishi buffet", "currency": "THB",
            "reward": {"type": "cash_voucher", "price": 40000, "face_value": 50000}}
    assert client.post("/v1/campaigns", json=body, headers=admin).status_code == 201
    for action in ("submit", "approve", "activate"):
        assert client.post(f"/v1/campaigns/oishi/{action}", headers=admin).status_code == 200
    created = client.post(POOL, json={"low_stock_threshold": 2}, headers=keys("operations"))
    assert created.status_code == 201, created.text


def upload(client: Any, headers: dict[str, str], data: bytes, **form: Any) -> Any:
    return client.post(f"{POOL}/imports", headers=headers, data=form,
                       files={"file": ("oishi.csv", data, "text/csv")})


def test_upload_sell_deliver_and_look_up(client: Any, keys: KeyMaker, live: None) -> None:
    ops, checkout = keys("operations"), keys("checkout")
    imported = upload(client, ops, csv_bytes(["code", *(code(i) for i in range(5))]))
    assert imported.status_code == 201, imported.text
    assert (imported.json()["accepted"], imported.json()["header_skipped"]) == (5, True)

    sale = client.post(f"{POOL}/sales", headers={**checkout, "Idempotency-Key": "o-1"},
                       json={"order_id": "o-1", "customer_id": "c-1", "quantity": 2})
    assert sale.status_code == 201, sale.text
    sold = sale.json()["codes"]
    assert len(sold) == 2 and {c["status"] for c in sold} == {"sold"}

    internal = sold[0]["internal_code"]
    found = client.get(f"/v1/partner-codes/{internal}", headers=checkout).json()
    assert (found["partner_code"], found["status"], found["order_id"]) == (
        sold[0]["partner_code"], "sold", "o-1")
    png = client.get(f"/v1/partner-codes/{internal}/qr.png", headers=checkout)
    svg = client.get(f"/v1/partner-codes/{internal}/qr.svg", headers=checkout)
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    wallet = client.get("/v1/customers/c-1/wallet", headers=checkout,
                        params={"min_position": sale.json()["position"]}).json()["vouchers"]
    assert sorted((v["partner_code"], v["internal_code"], v["status"]) for v in wallet) == sorted(
        (c["partner_code"], c["internal_code"], "sold") for c in sold)


def test_bad_file_is_a_problem_listing_its_lines(client: Any, keys: KeyMaker, live: None) -> None:
    ops = keys("operations")
    refused = upload(client, ops, csv_bytes([code(1), "bad", code(1)]))
    body = assert_problem(refused, 422, "file_rejected")
    assert [(e["line"], e["reason"]) for e in body["errors"]] == [(2, "too_short"), (3, "duplicate_in_file")]
    assert_problem(upload(client, ops, b""), 422, "empty_file")
    assert_problem(client.post(f"{POOL}/imports", headers=ops), 422, "invalid_request")
    skipped = upload(client, ops, csv_bytes([code(1), "bad", code(1)]), skip_invalid="true")
    assert skipped.status_code == 201 and skipped.json()["accepted"] == 1


def test_roles_are_enforced(client: Any, keys: KeyMaker, live: None) -> None:
    assert_problem(upload(client, keys("checkout"), csv_bytes([code(1)])), 403, "forbidden")
    assert_problem(client.post(f"{POOL}/sales", headers=keys("operations"), json={"order_id": "o"}),
                   403, "forbidden")
    assert_problem(client.get(f"{POOL}/codes.csv", headers=keys("checkout")), 403, "forbidden")
    assert_problem(client.get(f"{POOL}/codes.csv"), 401, "unauthenticated")


def test_sold_out_and_unknown_pool_are_problems(client: Any, keys: KeyMaker, live: None) -> None:
    upload(client, keys("operations"), csv_bytes([code(1)]))
    checkout = keys("checkout")
    assert client.post(f"{POOL}/sales", headers=checkout, json={"order_id": "o-1"}).status_code == 201
    body = assert_problem(client.post(f"{POOL}/sales", headers=checkout, json={"order_id": "o-2"}),
                          409, "sold_out")
    assert body["available"] == 0
    assert_problem(client.post("/v1/campaigns/nope/pool/sales", headers=checkout, json={"order_id": "o"}),
                   404, "pool_not_found")


def test_export_streams_csv_and_returns_and_reports_round_trip(
    client: Any, keys: KeyMaker, live: None
) -> None:
    ops, checkout = keys("operations"), keys("checkout")
    upload(client, ops, csv_bytes([code(i) for i in range(12)]))
    sold = client.post(f"{POOL}/sales", headers=checkout, json={"order_id": "o-1", "quantity": 3}).json()
    sold_codes = [c["partner_code"] for c in sold["codes"]]

    with client.stream("GET", f"{POOL}/codes.csv", headers=ops,
                       params={"min_position": sold["position"]}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        unsold = [row["code"] for row in csv.DictReader(io.StringIO(response.read().decode()))]
    sold_rows = list(csv.DictReader(io.StringIO(
        client.get(f"{POOL}/codes.csv", headers=keys("auditor"), params={"status": "sold"}).text)))
    assert sorted(unsold + [r["code"] for r in sold_rows]) == [code(i) for i in range(12)]
    assert {r["order_id"] for r in sold_rows} == {"o-1"}

    returned = client.post(f"{POOL}/returns", headers=ops, json={"all_unsold": True, "reason": "over"})
    assert returned.status_code == 200 and returned.json()["returned"] == 9
    assert_problem(client.post(f"{POOL}/returns", headers=ops, json={"reason": "x"}), 422)
    report = client.post(f"{POOL}/redemptions/file", headers=ops,
                         files={"file": ("r.csv", csv_bytes([sold_codes[0], unsold[0], "X1"]))})
    assert (report.json()["redeemed"], report.json()["not_sold"], report.json()["unknown"]) == (
        [sold_codes[0]], [unsold[0]], ["X1"])
    stock = client.get(POOL, headers=ops, params={"min_position": report.json()["position"]}).json()
    assert {k: stock[k] for k in ("uploaded", "available", "sold", "returned", "redeemed", "low_stock")} == {
        "uploaded": 12, "available": 0, "sold": 3, "returned": 9, "redeemed": 1, "low_stock": False}


def test_uploads_may_exceed_the_json_body_limit(client: Any, keys: KeyMaker, live: None) -> None:
    data = csv_bytes([code(i) for i in range(60_000)])  # ~1.2 MB > PROMO_MAX_BODY_BYTES
    assert len(data) > 1_048_576
    imported = upload(client, keys("operations"), data)
    assert imported.status_code == 201 and imported.json()["accepted"] == 60_000
    assert_problem(client.post(f"{POOL}/sales", headers=keys("checkout"), content=b"x" * 1_100_000,
                               ), 413, "payload_too_large")
