"""Reports over HTTP (both stores): roles, problems, merchant isolation, and the CSV export
streamed with spreadsheet formulas defused."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from application.commands import Actor
from infrastructure.bootstrap import Container
from interfaces.http.responses import csv_cell as cell
from tests.conftest import live_campaign
from tests.http.helpers import KeyMaker, assert_problem


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if "json" in response.headers["content-type"] else response.text


def redeem(client: TestClient, headers: dict[str, str], code: str, **fields: Any) -> Any:
    body = {"code": code, "order": {"amount": 3000, "currency": "EUR", "id": fields.pop("order_id", None),
                                    "lines": [{"sku": "=SKU", "quantity": 1, "unit_price": 3000}]},
            **fields}
    return client.post("/v1/redemptions", headers=headers, json=body)


def test_reports_over_http_with_a_csv_export_that_defuses_formulas(
    client: TestClient, container: Container, keys: KeyMaker, admin: Actor,
) -> None:
    checkout, reporting = keys("checkout"), keys("reporting")
    live_campaign(container, admin, "spring", stock=5)
    codes = container.vouchers.issue_codes(admin, "spring", count=2).body["codes"]
    # a store, a customer and an order id that a spreadsheet would take for formulas
    first = ok(redeem(client, checkout, codes[0], store_id="=HYPERLINK(\"http://x\")", channel="offline",
                      customer_id="-bob", order_id="+33"), 201)
    refused = redeem(client, checkout, codes[0], customer_id="@carol", store_id="S1")
    assert_problem(refused, 422, "voucher_already_redeemed")
    at = {"min_position": refused.json()["position"]}

    report = ok(client.get("/v1/reports/campaigns/spring", headers=reporting, params=at))
    assert [(t["currency"], t["redeemed"], t["rejected"], t["discount"]) for t in report["totals"]] == [
        ("EUR", 1, 1, 500)]
    assert (report["stock"], report["remaining_stock"], report["timezone"]) == (5, 3, "UTC")
    assert [s["store_id"] for s in report["by_store"]] == ["=HYPERLINK(\"http://x\")", "S1", None]
    listed = ok(client.get("/v1/reports/campaigns", headers=reporting, params=at))
    assert [i["campaign"]["key"] for i in listed["items"]] == ["spring"]
    rejections = ok(client.get("/v1/reports/rejections", headers=reporting, params={"campaign": "spring"}))
    assert rejections["reasons"] == [{"reason": "voucher_already_redeemed", "count": 1}]
    detail = ok(client.get("/v1/reports/redemptions", headers=reporting,
                           params={"store_id": "=HYPERLINK(\"http://x\")", "since": "2026-03-01"}))
    assert [(i["id"], i["campaign_key"], i["customer_id"]) for i in detail["items"]] == [
        (first["id"], "spring", "-bob")]
    bob = ok(client.get("/v1/reports/customers/-bob", headers=keys("support")))
    assert bob["lifetime_discount"] == [{"currency": "EUR", "amount": 500}]
    assert [f["key"] for f in bob["favourite_campaigns"]] == ["spring"]

    exported = client.get("/v1/reports/redemptions.csv", headers=reporting, params={"campaign": "spring"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["status"] for r in rows] == ["rejected", "redeemed"]
    assert [(r["customer_id"], r["store_id"], r["order_id"]) for r in rows] == [
        ("'@carol", "S1", ""), ("'-bob", "'=HYPERLINK(\"http://x\")", "'+33")]
    assert rows[0]["reasons"] == "voucher_already_redeemed"
    assert (rows[1]["discount"], rows[1]["cost_group"], rows[1]["campaign_key"]) == ("500", "500", "spring")
    assert rows[1]["lines"].startswith("[{")  # JSON: never read as a formula


def test_formula_cells_are_escaped_and_numbers_left_alone() -> None:
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert cell(dangerous) == "'" + dangerous
    assert (cell("S1"), cell(-5), cell(None), cell("")) == ("S1", -5, "", "")


def test_report_problems_and_merchant_isolation(
    client: TestClient, container: Container, keys: KeyMaker, admin: Actor,
) -> None:
    reporting = keys("reporting")
    live_campaign(container, admin, "spring")
    code = container.vouchers.issue_codes(admin, "spring", count=1).body["codes"][0]
    ok(redeem(client, keys("checkout"), code, customer_id="alice"), 201)

    backwards = {"since": "2026-03-02", "until": "2026-03-01"}
    for path in ("/v1/reports/campaigns/spring", "/v1/reports/campaigns", "/v1/reports/rejections",
                 "/v1/reports/redemptions", "/v1/reports/redemptions.csv"):
        assert_problem(client.get(path, headers=reporting, params=backwards), 422, "invalid_date_range")
        assert_problem(client.get(path, headers=reporting, params={"since": "yesterday"}), 422)
    assert_problem(client.get("/v1/reports/campaigns/nope", headers=reporting), 404, "campaign_not_found")
    assert_problem(client.get("/v1/reports/rejections", headers=reporting, params={"campaign": "nope"}),
                   404, "campaign_not_found")
    assert_problem(client.get("/v1/reports/redemptions", headers=reporting,
                              params={"min_position": 10**9}), 422, "unknown_position")
    assert_problem(client.get("/v1/reports/customers/alice", headers=keys("checkout")), 403, "forbidden")

    # globex sees none of acme's figures, rows or customers
    globex = keys("reporting", "globex")
    assert_problem(client.get("/v1/reports/campaigns/spring", headers=globex), 404, "campaign_not_found")
    assert ok(client.get("/v1/reports/campaigns", headers=globex))["items"] == []
    assert ok(client.get("/v1/reports/rejections", headers=globex))["rejected"] == 0
    assert ok(client.get("/v1/reports/redemptions", headers=globex))["items"] == []
    assert ok(client.get("/v1/reports/redemptions.csv", headers=globex)).count("\n") == 1  # the header
    alice = ok(client.get("/v1/reports/customers/alice", headers=globex))
    assert (alice["redemption_counts"], alice["lifetime_discount"], alice["wallet"]) == ({}, [], [])
