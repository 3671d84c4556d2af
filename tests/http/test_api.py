"""The HTTP API in process (TestClient), on SQLite and PostgreSQL: contract, security, isolation."""

from __future__ import annotations

import inspect
import io
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any, get_args, get_origin

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from application.commands import Actor
from application.points import EntryContext
from domain.api_key import ROLES
from infrastructure.bootstrap import Container
from interfaces.http.app import create_app
from projections.hub import PROJECTIONS
from tests.automation.helpers import automation_rows
from tests.conftest import terms
from tests.http.helpers import KeyMaker, assert_problem, make_keys

# -- helpers ---------------------------------------------------------------------------------

PROJECTION_NAMES = tuple(cls.name for cls in PROJECTIONS)


def campaign_body(key: str = "spring", **overrides: Any) -> dict[str, Any]:
    return {"key": key, **terms(**overrides)}


def order(amount: int | None = 3000, currency: str = "EUR", order_id: str = "o-1",
          **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": order_id, "currency": currency, **extra}
    if amount is not None:
        body["amount"] = amount
    return body


def redeem_body(code: str, customer_id: str | None = None, **order_fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "order": order(**order_fields)}
    if customer_id is not None:
        body["customer_id"] = customer_id
    return body


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def live(client: TestClient, headers: dict[str, str], key: str = "spring", *, count: int = 0,
         **overrides: Any) -> list[str]:
    """Create, submit, approve, activate a campaign (one key with every right); issue codes."""
    ok(client.post("/v1/campaigns", headers=headers, json=campaign_body(key, **overrides)), 201)
    for action in ("submit", "approve", "activate"):
        ok(client.post(f"/v1/campaigns/{key}/{action}", headers=headers))
    if not count:
        return []
    codes: list[str] = ok(client.post(f"/v1/campaigns/{key}/codes", headers=headers,
                                      json={"count": count}), 201)["codes"]
    return codes


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The app's API routes, looking into included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from api_routes(included.routes)


def head(container: Container) -> int:
    return container.ledger.head()


# -- the whole story --------------------------------------------------------------------------


def test_campaign_to_redemption_to_reversal_over_http(
    client: TestClient, keys: KeyMaker, container: Container
) -> None:
    ops, admin, checkout = keys("operations"), keys("admin"), keys("checkout", header="x-api-key")
    support, reporting = keys("support"), keys("reporting")

    # operations set the campaign up; only an admin approves it
    created = ok(client.post("/v1/campaigns", headers=ops,
                             json=campaign_body(stock=50, reward={"type": "amount_off", "amount": 500,
                                                                  "min_spend": 1000})), 201)
    assert (created["key"], created["status"], created["issued"]) == ("spring", "draft", 0)
    assert created["position"] == head(container)
    assert ok(client.post("/v1/campaigns/spring/submit", headers=ops))["status"] == "pending_review"
    assert_problem(client.post("/v1/campaigns/spring/approve", headers=ops), 403, "forbidden")
    assert ok(client.post("/v1/campaigns/spring/approve", headers=admin))["status"] == "approved"
    activated = ok(client.post("/v1/campaigns/spring/activate", headers=ops))
    assert activated["status"] == "active"
    assert activated["position"] > created["position"]

    # codes, an assignment of an open code, and a fresh code straight into a wallet
    issued = ok(client.post("/v1/campaigns/spring/codes", headers=ops, json={"count": 3}), 201)
    assert issued["count"] == 3 and len(set(issued["codes"])) == 3
    code = issued["codes"][0]
    assigned = ok(client.post(f"/v1/vouchers/{code}/assignment", headers=checkout,
                              json={"customer_id": "cust-1"}))
    assert (assigned["state"], assigned["holder"]) == ("assigned", "cust-1")
    fresh = ok(client.post("/v1/campaigns/spring/assignments", headers=ops,
                           json={"customer_id": "cust-2"}), 201)
    assert fresh["holder"] == "cust-2" and fresh["code"] not in issued["codes"]

    # validate changes nothing; redeem records
    before = head(container)
    validation = ok(client.post("/v1/validations", headers=checkout,
                                json=redeem_body(code.lower(), "cust-1")))
    assert (validation["valid"], validation["discount"], validation["reasons"]) == (True, 500, [])
    assert head(container) == before
    redeemed = ok(client.post("/v1/redemptions", headers=checkout,
                              json=redeem_body(code.lower(), "cust-1")), 201)
    assert (redeemed["status"], redeemed["code"], redeemed["discount"]) == ("redeemed", code, 500)
    assert redeemed["voucher_id"] == assigned["id"]
    assert redeemed["position"] == head(container)

    # read-your-writes: the wallet at the redemption's position already shows it
    wallet = ok(client.get("/v1/customers/cust-1/wallet", headers=checkout,
                           params={"min_position": redeemed["position"]}))
    assert [(v["code"], v["redemption_count"]) for v in wallet["vouchers"]] == [(code, 1)]
    assert ok(client.get(f"/v1/vouchers/{code}", headers=checkout))["redemption_count"] == 1

    # support reverses with a reason; checkout may not
    rid = redeemed["id"]
    assert_problem(client.post(f"/v1/redemptions/{rid}/reversal", headers=checkout,
                               json={"reason": "returned"}), 403, "forbidden")
    reversed_ = ok(client.post(f"/v1/redemptions/{rid}/reversal", headers=support,
                               json={"reason": "order returned"}))
    assert reversed_["status"] == "reversed"
    assert reversed_["reversal"]["reason"] == "order returned"
    assert ok(client.get(f"/v1/redemptions/{rid}", headers=support))["status"] == "reversed"
    assert_problem(client.post(f"/v1/redemptions/{rid}/reversal", headers=support,
                               json={"reason": "again"}), 409, "redemption_not_reversible")
    assert ok(client.get(f"/v1/vouchers/{code}", headers=support))["redemption_count"] == 0

    # stats and the redemption log, read at the reversal's position
    at = {"min_position": reversed_["position"]}
    stats = ok(client.get("/v1/campaigns/spring/stats", headers=reporting, params=at))
    assert {k: stats[k] for k in ("issued", "assigned", "redeemed", "reversed", "rejected",
                                  "remaining", "net_redeemed", "discount_total")} == {
        "issued": 4, "assigned": 2, "redeemed": 1, "reversed": 1, "rejected": 0,
        "remaining": 46, "net_redeemed": 0, "discount_total": 0}
    log = ok(client.get("/v1/redemptions", headers=reporting, params=at))
    assert [(e["id"], e["status"], e["code"], e["customer_id"]) for e in log["items"]] == [
        (rid, "reversed", code, "cust-1")]
    assert log["items"][0]["reversal"]["reason"] == "order returned"
    listed = ok(client.get("/v1/campaigns", headers=reporting, params=at))
    assert [c["key"] for c in listed["items"]] == ["spring"]
    wallet = ok(client.get("/v1/customers/cust-1/wallet", headers=reporting, params=at))
    assert [(v["state"], v["usable_now"]) for v in wallet["vouchers"]] == [("assigned", True)]


# -- authentication and roles -------------------------------------------------------------------

OPS = {"operations"}
READER = {"operations", "support", "reporting", "auditor"}
ASSIGNER = {"operations", "checkout"}
VOUCHER_READER = {"operations", "support", "checkout", "auditor"}
WALLET_READER = {"checkout", "support", "reporting", "auditor"}
CHECKOUT = {"checkout"}
SUPPORT = {"support"}
AUDITOR = {"auditor"}
ADMIN_ONLY: set[str] = set()
POINTS_WRITER = {"operations", "checkout", "support"}
MERGER = {"operations", "support"}
WEBHOOK_READER = {"operations", "auditor"}
FLAG_READER = {"operations", "support", "reporting", "auditor"}

RID = str(uuid.uuid4())
FILL = {"key": "spring", "code": "SPRING-1", "customer_id": "cust-1", "redemption_id": RID,
        "aggregate_id": RID, "name": "wallet", "program": "main", "internal_code": "NOSUCHCODE",
        "kind": "png", "segment": "vip", "order_id": "o-1", "delivery_id": RID, "batch": "b1",
        "hold_id": RID, "key_id": RID, "flag_id": RID}
REDEEM = redeem_body("SPRING-1", "cust-1")
# (method, route path, roles admitted besides admin, a valid body)
ENDPOINTS: list[tuple[str, str, set[str], Any]] = [
    ("POST", "/v1/campaigns", OPS, campaign_body("autumn")),
    ("GET", "/v1/campaigns", READER, None),
    ("GET", "/v1/campaigns/{key}", READER, None),
    ("PUT", "/v1/campaigns/{key}/terms", OPS, terms()),
    ("POST", "/v1/campaigns/{key}/submit", OPS, None),
    ("POST", "/v1/campaigns/{key}/approve", ADMIN_ONLY, None),
    ("POST", "/v1/campaigns/{key}/reject", ADMIN_ONLY, {"reason": "no"}),
    ("POST", "/v1/campaigns/{key}/activate", OPS, None),
    ("POST", "/v1/campaigns/{key}/end", OPS, None),
    ("POST", "/v1/campaigns/{key}/disable", OPS, {"reason": "fraud"}),
    ("GET", "/v1/campaigns/{key}/stats", READER, None),
    ("POST", "/v1/campaigns/{key}/codes", OPS, {"count": 1}),
    ("POST", "/v1/campaigns/{key}/assignments", ASSIGNER, {"customer_id": "cust-1"}),
    ("POST", "/v1/campaigns/{key}/claims", CHECKOUT, {"customer_id": "cust-1", "channel": "online"}),
    ("GET", "/v1/vouchers/{code}", VOUCHER_READER, None),
    ("POST", "/v1/vouchers/{code}/assignment", ASSIGNER, {"customer_id": "cust-1"}),
    ("POST", "/v1/vouchers/{code}/link", ASSIGNER, {"customer_id": "cust-1"}),
    ("POST", "/v1/validations", CHECKOUT, REDEEM),
    ("POST", "/v1/redemptions", CHECKOUT, REDEEM),
    ("POST", "/v1/best-offers", CHECKOUT, {"customer_id": "cust-1",
                                          "order": {"amount": 1000, "currency": "EUR"}}),
    ("POST", "/v1/stack-validations", CHECKOUT, {**{k: v for k, v in REDEEM.items() if k != "code"},
                                                 "codes": ["SPRING-1"]}),
    ("POST", "/v1/stack-redemptions", CHECKOUT, {**{k: v for k, v in REDEEM.items() if k != "code"},
                                                 "codes": ["SPRING-1"]}),
    ("POST", "/v1/holds", CHECKOUT, {**{k: v for k, v in REDEEM.items() if k != "code"},
                                     "codes": ["SPRING-1"]}),
    ("GET", "/v1/holds/{hold_id}", CHECKOUT, None),
    ("POST", "/v1/holds/{hold_id}/confirmation", CHECKOUT, None),
    ("POST", "/v1/holds/{hold_id}/cancellation", CHECKOUT, {"reason": "gone"}),
    ("GET", "/v1/redemptions", READER, None),
    ("GET", "/v1/redemptions/{redemption_id}", READER, None),
    ("POST", "/v1/redemptions/{redemption_id}/reversal", SUPPORT, {"reason": "returned"}),
    ("POST", "/v1/redemptions/{redemption_id}/returns", SUPPORT,
     {"lines": [{"sku": "x", "quantity": 1}], "reason": "returned"}),
    ("GET", "/v1/customers/{customer_id}/wallet", WALLET_READER, None),
    ("GET", "/v1/audit/streams/{aggregate_id}", AUDITOR, None),
    ("GET", "/v1/audit/projections", AUDITOR, None),
    ("POST", "/v1/audit/projections/{name}", AUDITOR, None),
    ("GET", "/v1/audit/redemptions/{redemption_id}/decision", AUDITOR, None),
    ("PUT", "/v1/points/programs/{program}", OPS, {"name": "Main", "expiry_days": 365}),
    ("GET", "/v1/points/programs", WALLET_READER, None),
    ("POST", "/v1/customers/{customer_id}/points/accounts", POINTS_WRITER, {"program": "main"}),
    ("POST", "/v1/customers/{customer_id}/points/credits", POINTS_WRITER,
     {"program": "main", "kind": "allocation", "points": 10}),
    ("POST", "/v1/customers/{customer_id}/points/debits", POINTS_WRITER,
     {"program": "main", "kind": "redemption", "points": 1}),
    ("POST", "/v1/customers/{customer_id}/points/returns", POINTS_WRITER,
     {"program": "main", "points_returned": 1, "redemption_reversed": 0}),
    ("POST", "/v1/customers/{customer_id}/points/group-redemptions", POINTS_WRITER,
     {"debits": [{"program": "main", "points": 1}]}),
    ("POST", "/v1/customers/{customer_id}/points/conversions", POINTS_WRITER,
     {"program": "main", "points": 1}),
    ("POST", "/v1/customers/{customer_id}/points/transfers", POINTS_WRITER,
     {"to_customer_id": "cust-2", "program": "main", "points": 1}),
    ("POST", "/v1/customers/{customer_id}/points/expiry", MERGER, None),
    ("POST", "/v1/customers/{customer_id}/merge", MERGER, {"survivor_customer_id": "cust-2"}),
    ("GET", "/v1/customers/{customer_id}/points/ledger", WALLET_READER, None),
    ("GET", "/v1/customers/{customer_id}/points/balance", WALLET_READER, None),
    ("GET", "/v1/audit/customers/{customer_id}/points/history", {"auditor", "reporting"}, None),
    ("GET", "/v1/audit/customers/{customer_id}/points/balance", AUDITOR, None),
    ("POST", "/v1/audit/points/verify", AUDITOR, None),
    ("GET", "/v1/merchant", READER, None),
    ("PUT", "/v1/merchant/holidays", ADMIN_ONLY, {"dates": ["2026-12-25"]}),
    ("POST", "/v1/segments/{segment}/members", OPS, {"customer_ids": ["cust-1"]}),
    ("POST", "/v1/segments/{segment}/members/removal", OPS, {"customer_ids": ["cust-1"]}),
    ("GET", "/v1/segments/{segment}/members/{customer_id}", READER, None),
    ("POST", "/v1/campaigns/{key}/pool", OPS, {"low_stock_threshold": 10}),
    ("GET", "/v1/campaigns/{key}/pool", READER, None),
    ("POST", "/v1/campaigns/{key}/pool/imports", OPS, None),
    ("POST", "/v1/campaigns/{key}/pool/sales", CHECKOUT, {"order_id": "o-1"}),
    ("GET", "/v1/campaigns/{key}/pool/codes.csv", {"operations", "auditor"}, None),
    ("POST", "/v1/campaigns/{key}/pool/returns", OPS, {"all_unsold": True, "reason": "over"}),
    ("POST", "/v1/campaigns/{key}/pool/redemptions", OPS, {"codes": ["A"]}),
    ("POST", "/v1/campaigns/{key}/pool/redemptions/file", OPS, None),
    ("GET", "/v1/partner-codes/{internal_code}", VOUCHER_READER, None),
    ("GET", "/v1/partner-codes/{internal_code}/qr.{kind}", VOUCHER_READER, None),
    # issue 6: customer facts, workflows, webhooks, distribution
    ("POST", "/v1/customers/{customer_id}/registration", ASSIGNER, {"email": "c@example.com"}),
    ("POST", "/v1/orders", ASSIGNER, {"id": "o-1", "amount": 1000, "currency": "EUR"}),
    ("POST", "/v1/orders/{order_id}/returns", {"operations", "checkout", "support"}, {"reason": "r"}),
    ("PUT", "/v1/workflows/{key}", OPS, {"name": "W", "trigger": {"type": "customer_registered"},
                                         "effects": [{"type": "assign_voucher", "campaign": "spring"}]}),
    ("GET", "/v1/workflows", READER, None),
    ("GET", "/v1/workflows/{key}", READER, None),
    ("POST", "/v1/workflows/{key}/pause", OPS, None),
    ("POST", "/v1/workflows/{key}/resume", OPS, None),
    ("GET", "/v1/workflows/{key}/runs", READER, None),
    ("POST", "/v1/webhooks", ADMIN_ONLY, {"key": "crm", "url": "http://127.0.0.1:9/", "event_types": ["*"]}),
    ("GET", "/v1/webhooks", WEBHOOK_READER, None),
    ("GET", "/v1/webhooks/{key}", WEBHOOK_READER, None),
    ("PATCH", "/v1/webhooks/{key}", ADMIN_ONLY, {"active": False}),
    ("GET", "/v1/webhooks/{key}/secret", ADMIN_ONLY, None),
    ("POST", "/v1/webhooks/{key}/secret", ADMIN_ONLY, None),
    ("GET", "/v1/webhooks/{key}/deliveries", WEBHOOK_READER, None),
    ("GET", "/v1/webhook-deliveries", WEBHOOK_READER, None),
    ("GET", "/v1/webhook-deliveries/{delivery_id}", WEBHOOK_READER, None),
    ("POST", "/v1/webhook-deliveries/{delivery_id}/replay", ADMIN_ONLY, None),
    ("POST", "/v1/campaigns/{key}/distributions", ASSIGNER, {"batch": "b1", "customers": ["c-1"]}),
    ("POST", "/v1/campaigns/{key}/distributions/file", ASSIGNER, None),
    ("POST", "/v1/campaigns/{key}/exports", OPS, {"batch": "b1", "count": 1}),
    ("GET", "/v1/campaigns/{key}/exports/{batch}", {"operations", "auditor"}, None),
    ("PUT", "/v1/campaigns/{key}/stock-alert", OPS, {"threshold": 5}),
    # issue 7: fraud flags (A4)
    ("GET", "/v1/fraud/flags", FLAG_READER, None),
    ("GET", "/v1/fraud/flags/{flag_id}", FLAG_READER, None),
    ("POST", "/v1/fraud/flags/{flag_id}/review", SUPPORT, {"decision": "dismissed", "note": "ok"}),
    ("GET", "/v1/fraud/thresholds", FLAG_READER, None),
    ("PUT", "/v1/fraud/thresholds", ADMIN_ONLY, {"thresholds": {"shared_code": {"count": 6}}}),
    # issue 7: reports (A1-A3)
    ("GET", "/v1/reports/campaigns", READER, None),
    ("GET", "/v1/reports/campaigns/{key}", READER, None),
    ("GET", "/v1/reports/rejections", READER, None),
    ("GET", "/v1/reports/redemptions", READER, None),
    ("GET", "/v1/reports/redemptions.csv", READER, None),
    ("GET", "/v1/reports/customers/{customer_id}", READER, None),
    # issue 8: API keys (admin; auditors may list them)
    ("POST", "/v1/api-keys", ADMIN_ONLY, {"role": "checkout", "label": "till 1"}),
    ("GET", "/v1/api-keys", AUDITOR, None),
    ("POST", "/v1/api-keys/{key_id}/revocation", ADMIN_ONLY, {"reason": "leaked"}),
]
# Routes answering with a file instead of JSON, and its media type.
FILE_RESPONSES = {("GET", "/v1/campaigns/{key}/pool/codes.csv"): "text/csv",
                  ("GET", "/v1/partner-codes/{internal_code}/qr.{kind}"): "image/png",
                  ("POST", "/v1/campaigns/{key}/exports"): "text/csv",
                  ("GET", "/v1/campaigns/{key}/exports/{batch}"): "text/csv",
                  ("GET", "/v1/reports/redemptions.csv"): "text/csv"}
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"),
          # the dashboard page and its scripts hold no data (it reads the API with the user's key)
          ("GET", "/dashboard"), ("GET", "/dashboard/static/plotly.min.js"),
          ("GET", "/dashboard/static/{name}")}


def call(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.request(method, path.format(**FILL), json=body, headers=headers)


def test_the_endpoint_table_covers_every_route(container: Container) -> None:
    app = create_app(container, run_projections=False)
    routes = {(method, r.path) for r in api_routes(app.routes) for method in r.methods}
    assert routes - PUBLIC == {(m, p) for m, p, _, _ in ENDPOINTS}


BAD_CREDENTIALS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer pl_not-a-real-key-at-all-0123456789abcdefghijk"},
    {"Authorization": "Bearer not-even-the-prefix"},
    {"Authorization": "Bearer pl_" + "x" * 500},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"X-Api-Key": ""},
    {"X-Api-Key": "pl_wrong"},
]


def test_every_endpoint_refuses_a_missing_or_invalid_key_with_401(
    client: TestClient, container: Container
) -> None:
    before = head(container)
    for method, path, _, body in ENDPOINTS:
        for headers in BAD_CREDENTIALS:
            response = call(client, method, path, body, headers)
            assert_problem(response, 401, "unauthenticated")
            assert response.headers["www-authenticate"] == "Bearer", (method, path, headers)
    assert head(container) == before


def test_every_endpoint_refuses_a_role_it_does_not_admit_with_403(
    client: TestClient, container: Container, keys: KeyMaker
) -> None:
    all_keys = {role: keys(role) for role in ROLES}
    before = head(container)
    for method, path, admitted, body in ENDPOINTS:
        for role in sorted(set(ROLES) - admitted - {"admin"}):
            response = call(client, method, path, body, all_keys[role])
            problem = assert_problem(response, 403, "forbidden")
            assert role in problem["detail"], (method, path, role)
    assert head(container) == before


def test_every_endpoint_admits_admin_and_its_roles(
    client: TestClient, keys: KeyMaker
) -> None:
    for method, path, admitted, body in ENDPOINTS:
        for role in sorted(admitted | {"admin"}):
            response = call(client, method, path, body, keys(role))
            assert response.status_code not in (401, 403, 500), (method, path, role, response.text)


# -- merchant isolation -----------------------------------------------------------------------


def test_another_merchant_cannot_see_or_touch_a_merchants_data(
    client: TestClient, keys: KeyMaker, container: Container
) -> None:
    acme = keys("admin", "acme")
    code = live(client, acme, count=1)[0]
    voucher = ok(client.post(f"/v1/vouchers/{code}/assignment", headers=acme,
                             json={"customer_id": "cust-1"}))
    redeemed = ok(client.post("/v1/redemptions", headers=acme, json=redeem_body(code, "cust-1")), 201)
    rid, vid, cid = redeemed["id"], voucher["id"], voucher["campaign_id"]
    acme_head = redeemed["position"]

    # globex's admin key is admitted everywhere, yet sees nothing of acme's
    globex = keys("admin", "globex")
    not_found = [
        ("GET", "/v1/campaigns/spring", None),
        ("GET", "/v1/campaigns/spring/stats", None),
        ("PUT", "/v1/campaigns/spring/terms", terms()),
        ("POST", "/v1/campaigns/spring/end", None),
        ("POST", "/v1/campaigns/spring/disable", {"reason": "sabotage"}),
        ("POST", "/v1/campaigns/spring/codes", {"count": 1}),
        ("POST", "/v1/campaigns/spring/assignments", {"customer_id": "cust-9"}),
        ("GET", f"/v1/vouchers/{code}", None),
        ("POST", f"/v1/vouchers/{code}/assignment", {"customer_id": "cust-9"}),
        ("GET", f"/v1/redemptions/{rid}", None),
        ("POST", f"/v1/redemptions/{rid}/reversal", {"reason": "sabotage"}),
        ("GET", f"/v1/audit/streams/{vid}", None),
        ("GET", f"/v1/audit/streams/{cid}", None),
        ("GET", f"/v1/audit/streams/{rid}", None),
        ("GET", f"/v1/audit/redemptions/{rid}/decision", None),
    ]
    for method, path, body in not_found:
        response = client.request(method, path, json=body, headers=globex)
        problem = assert_problem(response, 404)
        assert set(problem) <= {"type", "title", "status", "code", "detail"}, problem

    # redeeming or validating acme's code is an unknown code for globex
    refused = client.post("/v1/redemptions", headers=globex, json=redeem_body(code, "cust-1"))
    assert assert_problem(refused, 404, "unknown_code")["reasons"][0]["code"] == "unknown_code"
    validation = ok(client.post("/v1/validations", headers=globex, json=redeem_body(code, "cust-1")))
    assert (validation["valid"], validation.get("campaign")) == (False, None)

    # lists and read models hold only globex's own rows
    at = {"min_position": head(container)}
    assert ok(client.get("/v1/customers/cust-1/wallet", headers=globex, params=at))["vouchers"] == []
    assert ok(client.get("/v1/campaigns", headers=globex, params=at))["items"] == []
    log = ok(client.get("/v1/redemptions", headers=globex, params=at))["items"]
    assert [(e["status"], e["voucher_id"], e["campaign_id"]) for e in log] == [
        ("rejected", None, None)]
    for name in PROJECTION_NAMES:
        report = ok(client.post(f"/v1/audit/projections/{name}", headers=globex))
        assert report["ok"] is True
        assert all(t["live_rows"] == 0 for t in report["tables"] if t["table"] != "redemption_log")

    # acme's data is untouched: its voucher and redemption are as they were
    assert ok(client.get(f"/v1/vouchers/{code}", headers=acme))["redemption_count"] == 1
    assert ok(client.get(f"/v1/redemptions/{rid}", headers=acme))["status"] == "redeemed"
    assert ok(client.get("/v1/campaigns/spring", headers=acme))["status"] == "active"
    acme_log = ok(client.get("/v1/redemptions", headers=acme, params=at))["items"]
    assert [e["position"] for e in acme_log] == [acme_head]


# -- idempotency ------------------------------------------------------------------------------


def test_a_retried_redemption_is_answered_identically_and_applied_once(
    client: TestClient, keys: KeyMaker
) -> None:
    admin = keys("admin")
    code = live(client, admin, count=1, voucher_type="multi_use", redemption_limit=10)[0]
    idem = {**admin, "Idempotency-Key": "order-42-attempt"}

    first = client.post("/v1/redemptions", headers=idem, json=redeem_body(code, "cust-1"))
    second = client.post("/v1/redemptions", headers=idem, json=redeem_body(code, "cust-1"))

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert first.json()["position"] == second.json()["position"]
    assert first.headers["x-promo-position"] == second.headers["x-promo-position"]
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert ok(client.get(f"/v1/vouchers/{code}", headers=admin))["redemption_count"] == 1

    # the same key for a different body (or another command) is refused, and changes nothing
    other = client.post("/v1/redemptions", headers=idem, json=redeem_body(code, "cust-1", amount=4000))
    problem = assert_problem(other, 422, "idempotency_key_reused")
    assert problem["key"] == "order-42-attempt"
    assert_problem(client.post("/v1/campaigns", headers=idem, json=campaign_body("other")), 422,
                   "idempotency_key_reused")
    assert ok(client.get(f"/v1/vouchers/{code}", headers=admin))["redemption_count"] == 1
    log = ok(client.get("/v1/redemptions", headers=admin,
                        params={"min_position": first.json()["position"]}))["items"]
    assert [e["id"] for e in log] == [first.json()["id"]]

    # keys are per merchant: another merchant's identical key is its own request
    globex = {**keys("admin", "globex"), "Idempotency-Key": "order-42-attempt"}
    assert_problem(client.post("/v1/redemptions", headers=globex, json=redeem_body(code, "cust-1")),
                   404, "unknown_code")


def test_a_retried_command_returns_the_first_answer_even_after_later_changes(
    client: TestClient, keys: KeyMaker
) -> None:
    admin = keys("admin")
    idem = {**admin, "Idempotency-Key": "create-spring"}
    first = ok(client.post("/v1/campaigns", headers=idem, json=campaign_body()), 201)
    ok(client.post("/v1/campaigns/spring/submit", headers=admin))
    again = client.post("/v1/campaigns", headers=idem, json=campaign_body())
    assert ok(again, 201) == first
    assert again.headers["idempotent-replayed"] == "true"
    assert first["status"] == "draft"
    # without the key, the same request is a new command and conflicts
    assert_problem(client.post("/v1/campaigns", headers=admin, json=campaign_body()), 409,
                   "campaign_exists")


def test_a_retried_rejection_replays_the_same_problem(
    client: TestClient, keys: KeyMaker, container: Container
) -> None:
    admin = keys("admin")
    idem = {**admin, "Idempotency-Key": "bad-code-1"}
    first = client.post("/v1/redemptions", headers=idem, json=redeem_body("NOSUCHCODE"))
    after_first = head(container)
    second = client.post("/v1/redemptions", headers=idem, json=redeem_body("NOSUCHCODE"))
    assert assert_problem(first, 404, "unknown_code") == assert_problem(second, 404, "unknown_code")
    assert second.headers["idempotent-replayed"] == "true"
    assert head(container) == after_first


# -- rejected redemptions ---------------------------------------------------------------------


def test_a_rejected_redemption_is_a_problem_and_is_recorded(
    client: TestClient, keys: KeyMaker
) -> None:
    admin = keys("admin")
    code = live(client, admin, count=1,
                reward={"type": "amount_off", "amount": 500, "min_spend": 5000})[0]

    small = client.post("/v1/redemptions", headers=admin, json=redeem_body(code, amount=1000))
    problem = assert_problem(small, 422, "min_spend_not_met")
    assert problem["reasons"][0]["code"] == "min_spend_not_met"
    assert problem["detail"] == problem["reasons"][0]["message"]
    unknown = assert_problem(
        client.post("/v1/redemptions", headers=admin, json=redeem_body("NOPE-NOPE")), 404, "unknown_code")
    wrong_currency = assert_problem(
        client.post("/v1/redemptions", headers=admin, json=redeem_body(code, currency="USD")),
        422, "currency_mismatch")
    for p in (problem, unknown, wrong_currency):
        uuid.UUID(p["redemption_id"])
        assert isinstance(p["position"], int)

    # each refusal is a ledger fact: readable by ID, in the log and in the stats
    stored = ok(client.get(f"/v1/redemptions/{problem['redemption_id']}", headers=admin))
    assert (stored["status"], [r["code"] for r in stored["reasons"]]) == ("rejected", ["min_spend_not_met"])
    at = {"min_position": wrong_currency["position"]}
    log = ok(client.get("/v1/redemptions", headers=admin, params={**at, "status": "rejected"}))
    assert [(e["id"], e["code"], e["reasons"]) for e in log["items"]] == [
        (wrong_currency["redemption_id"], code, ["currency_mismatch"]),
        (unknown["redemption_id"], "NOPE-NOPE", ["unknown_code"]),
        (problem["redemption_id"], code, ["min_spend_not_met"]),
    ]
    assert all(e["outcome"] == "rejected" and e["discount"] == 0 for e in log["items"])
    stats = ok(client.get("/v1/campaigns/spring/stats", headers=admin, params=at))
    assert (stats["redeemed"], stats["rejected"]) == (0, 2)
    assert stats["rejections_by_reason"] == {"min_spend_not_met": 1, "currency_mismatch": 1}
    assert ok(client.get(f"/v1/vouchers/{code}", headers=admin))["redemption_count"] == 0
    assert_problem(client.post(f"/v1/redemptions/{unknown['redemption_id']}/reversal", headers=admin,
                               json={"reason": "x"}), 409, "redemption_not_reversible")


def test_a_refused_campaign_transition_is_a_409_problem(
    client: TestClient, keys: KeyMaker, container: Container
) -> None:
    admin = keys("admin")
    ok(client.post("/v1/campaigns", headers=admin, json=campaign_body()), 201)
    before = head(container)
    for action in ("approve", "activate", "end"):  # a draft can do none of these
        problem = assert_problem(client.post(f"/v1/campaigns/spring/{action}", headers=admin), 409,
                                 "invalid_transition")
        assert "draft" in problem["detail"]
    assert head(container) == before


# -- bad input --------------------------------------------------------------------------------

NAIVE = "2026-04-01T10:00:00"
# (label, method, path, json body or raw bytes, extra headers, status, code)
BAD_INPUT: list[tuple[str, str, str, Any, dict[str, str], int, str]] = [
    ("malformed json", "POST", "/v1/redemptions", b'{"code": "SPRING-1", ', {}, 400, "malformed_json"),
    ("not json at all", "POST", "/v1/campaigns", b"hello", {}, 400, "malformed_json"),
    ("empty body", "POST", "/v1/redemptions", b"", {}, 422, "invalid_request"),
    ("json array body", "POST", "/v1/redemptions", [REDEEM], {}, 422, "invalid_request"),
    ("json null body", "POST", "/v1/redemptions", b"null", {}, 422, "invalid_request"),
    ("negative amount", "POST", "/v1/redemptions", redeem_body("SPRING-1", amount=-1), {}, 422,
     "invalid_request"),
    ("float amount", "POST", "/v1/redemptions", redeem_body("SPRING-1", amount=10.5), {}, 422,
     "invalid_request"),
    ("integral float amount", "POST", "/v1/redemptions", redeem_body("SPRING-1", amount=3000.0), {},
     422, "invalid_request"),
    ("string amount", "POST", "/v1/redemptions", redeem_body("SPRING-1", amount="3000"), {}, 422,
     "invalid_request"),
    ("bool amount", "POST", "/v1/redemptions", redeem_body("SPRING-1", amount=True), {}, 422,
     "invalid_request"),
    ("huge amount", "POST", "/v1/redemptions", redeem_body("SPRING-1", amount=10**30), {}, 422,
     "invalid_request"),
    ("NaN amount", "POST", "/v1/redemptions",
     b'{"code": "SPRING-1", "order": {"amount": NaN, "currency": "EUR"}}', {}, 422, "invalid_request"),
    ("unknown currency", "POST", "/v1/redemptions", redeem_body("SPRING-1", currency="XYZ"), {}, 422,
     "unknown_currency"),
    ("lower-case currency", "POST", "/v1/redemptions", redeem_body("SPRING-1", currency="eur"), {}, 422,
     "invalid_request"),
    ("unknown currency, validate", "POST", "/v1/validations", redeem_body("SPRING-1", currency="XYZ"),
     {}, 422, "unknown_currency"),
    ("unknown top-level field", "POST", "/v1/redemptions", {**REDEEM, "coupon": "x"}, {}, 422,
     "invalid_request"),
    ("unknown order field", "POST", "/v1/redemptions", redeem_body("SPRING-1", tip=5), {}, 422,
     "invalid_request"),
    ("empty code", "POST", "/v1/redemptions", redeem_body(""), {}, 422, "invalid_request"),
    ("over-long code", "POST", "/v1/redemptions", redeem_body("A" * 65), {}, 422, "invalid_request"),
    ("missing order", "POST", "/v1/redemptions", {"code": "SPRING-1"}, {}, 422, "invalid_request"),
    ("control character", "POST", "/v1/redemptions", redeem_body("SPRING-1", "a\u0000b"), {}, 422,
     "invalid_request"),
    ("unknown channel", "POST", "/v1/redemptions", {**REDEEM, "channel": "pigeon"}, {}, 422,
     "invalid_request"),
    ("no amount, no lines", "POST", "/v1/redemptions", redeem_body("SPRING-1", amount=None), {}, 422,
     "order_amount_required"),
    ("lines above amount", "POST", "/v1/redemptions",
     redeem_body("SPRING-1", amount=100, lines=[{"sku": "a", "quantity": 2, "unit_price": 100}]),
     {}, 422, "order_amount_mismatch"),
    ("zero quantity", "POST", "/v1/redemptions",
     redeem_body("SPRING-1", lines=[{"sku": "a", "quantity": 0, "unit_price": 100}]), {}, 422,
     "invalid_request"),
    ("over-long idempotency key", "POST", "/v1/redemptions", REDEEM, {"Idempotency-Key": "k" * 256},
     422, "invalid_request"),
    ("deeply nested json", "POST", "/v1/redemptions", b"[" * 100_000 + b"]" * 100_000, {}, 400, ""),
    ("huge integer literal", "POST", "/v1/redemptions",
     b'{"code": "SPRING-1", "order": {"amount": ' + b"9" * 5000 + b', "currency": "EUR"}}', {}, 0, ""),
    ("naive starts_at", "POST", "/v1/campaigns", campaign_body("c2", starts_at=NAIVE), {}, 422,
     "invalid_request"),
    ("ends_at before starts_at", "POST", "/v1/campaigns",
     campaign_body("c2", starts_at="2026-05-01T00:00:00Z", ends_at="2026-04-01T00:00:00Z"), {}, 422,
     "invalid_window"),
    ("campaign in XYZ", "POST", "/v1/campaigns", campaign_body("c2", currency="XYZ"), {}, 422,
     "unknown_currency"),
    ("unknown campaign field", "POST", "/v1/campaigns", campaign_body("c2", colour="red"), {}, 422,
     "invalid_request"),
    ("zero reward", "POST", "/v1/campaigns",
     campaign_body("c2", reward={"type": "amount_off", "amount": 0}), {}, 422, "invalid_request"),
    ("unknown reward type", "POST", "/v1/campaigns",
     campaign_body("c2", reward={"type": "free_lunch", "amount": 1}), {}, 422, "invalid_request"),
    ("bad campaign key", "POST", "/v1/campaigns", campaign_body("-no spaces"), {}, 422,
     "invalid_request"),
    ("guessable code space", "POST", "/v1/campaigns", campaign_body("c2", stock=10**12), {}, 422,
     "code_space_too_small"),
    ("out of stock", "POST", "/v1/campaigns/spring/codes", {"count": 1}, {}, 409, "stock_exhausted"),
    ("assign an assigned voucher", "POST", "/v1/vouchers/spring-1/assignment", {"customer_id": "c2"}, {},
     409, "voucher_already_assigned"),
    ("disable without reason", "POST", "/v1/campaigns/spring/disable", {"reason": " "}, {}, 422,
     "reason_required"),
    ("unknown campaign", "POST", "/v1/campaigns/nope/submit", None, {}, 404, "campaign_not_found"),
    ("count and codes", "POST", "/v1/campaigns/spring/codes", {"count": 1, "codes": ["ABC1"]}, {}, 422,
     "count_or_codes"),
    ("neither count nor codes", "POST", "/v1/campaigns/spring/codes", {}, {}, 422, "count_or_codes"),
    ("zero count", "POST", "/v1/campaigns/spring/codes", {"count": 0}, {}, 422, "invalid_request"),
    ("malformed explicit code", "POST", "/v1/campaigns/spring/codes", {"codes": ["AB CD"]}, {}, 422,
     "invalid_code_format"),
    ("repeated explicit code", "POST", "/v1/campaigns/spring/codes", {"codes": ["DUP1", "dup1"]}, {},
     422, "duplicate_codes"),
    ("reject without reason", "POST", "/v1/campaigns/spring/reject", {}, {}, 422, "invalid_request"),
    ("assign unknown code", "POST", "/v1/vouchers/NOPE-NOPE/assignment", {"customer_id": "c"}, {}, 404,
     "unknown_code"),
    ("empty customer", "POST", "/v1/vouchers/NOPE-NOPE/assignment", {"customer_id": ""}, {}, 422,
     "invalid_request"),
    ("redemption id not a uuid", "GET", "/v1/redemptions/not-a-uuid", None, {}, 422, "invalid_request"),
    ("reverse unknown redemption", "POST", f"/v1/redemptions/{RID}/reversal", {"reason": "x"}, {}, 404,
     "redemption_not_found"),
    ("reverse with blank reason", "POST", f"/v1/redemptions/{RID}/reversal", {"reason": "   "}, {}, 422,
     "reason_required"),
    ("reverse with empty reason", "POST", f"/v1/redemptions/{RID}/reversal", {"reason": ""}, {}, 422,
     "invalid_request"),
    ("log limit 0", "GET", "/v1/redemptions?limit=0", None, {}, 422, "invalid_request"),
    ("log unknown status", "GET", "/v1/redemptions?status=lost", None, {}, 422, "invalid_request"),
    ("log bad since", "GET", "/v1/redemptions?since=yesterday", None, {}, 422, "invalid_request"),
    ("negative min_position", "GET", "/v1/customers/c/wallet?min_position=-1", None, {}, 422,
     "invalid_request"),
    ("text min_position", "GET", "/v1/campaigns/spring/stats?min_position=abc", None, {}, 422,
     "invalid_request"),
    ("stream id not a uuid", "GET", "/v1/audit/streams/42", None, {}, 422, "invalid_request"),
    ("unknown stream", "GET", f"/v1/audit/streams/{RID}", None, {}, 404, "aggregate_not_found"),
    ("unknown projection", "POST", "/v1/audit/projections/nope", None, {}, 404, "unknown_projection"),
]


def test_bad_input_is_a_4xx_problem_and_changes_nothing(
    client: TestClient, keys: KeyMaker, container: Container
) -> None:
    admin = keys("admin")
    live(client, admin, stock=1)
    ok(client.post("/v1/campaigns/spring/codes", headers=admin, json={"codes": ["SPRING-1"]}), 201)
    ok(client.post("/v1/vouchers/SPRING-1/assignment", headers=admin, json={"customer_id": "c1"}))
    before = head(container)
    failures = []
    for label, method, path, body, extra, status, code in BAD_INPUT:
        headers = {**admin, **extra}
        if isinstance(body, bytes):
            response = client.request(method, path, content=body,
                                      headers={**headers, "Content-Type": "application/json"})
        else:
            response = client.request(method, path, json=body, headers=headers)
        try:
            assert 400 <= response.status_code < 500, response.text
            assert_problem(response, status or response.status_code, code or None)
        except AssertionError as exc:
            failures.append(f"{label}: {exc}")
    assert not failures, "\n".join(failures)
    assert head(container) == before


def test_datetimes_that_overflow_in_utc_are_a_4xx_problem(
    client: TestClient, keys: KeyMaker, container: Container
) -> None:
    admin = keys("admin")
    before = head(container)
    responses = [
        client.post("/v1/campaigns", headers=admin,
                    json=campaign_body("early", starts_at="0001-01-01T00:00:00+01:00")),
        client.post("/v1/campaigns", headers=admin,
                    json=campaign_body("late", ends_at="9999-12-31T23:59:59-01:00")),
        client.get("/v1/redemptions", headers=admin, params={"since": "0001-01-01T00:00:00+01:00"}),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500, response.text
        assert_problem(response, response.status_code)
    assert head(container) == before


@pytest.fixture
def small_client(make_container: Callable[..., Container]) -> Iterator[tuple[TestClient, KeyMaker]]:
    container = make_container(max_body_bytes=2048)
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client, make_keys(container)


def big_campaign() -> bytes:
    return json.dumps(campaign_body(description="x" * 1999)).encode()


def test_a_body_over_the_limit_is_refused_with_413(
    small_client: tuple[TestClient, KeyMaker]
) -> None:
    client, keys = small_client
    admin = {**keys("admin"), "Content-Type": "application/json"}
    assert len(big_campaign()) > 2048
    assert_problem(client.post("/v1/campaigns", headers=admin, content=big_campaign()), 413,
                   "payload_too_large")
    # a Content-Length that claims too much is refused before the body is read
    assert_problem(client.post("/v1/campaigns", headers={**admin, "Content-Length": "999999"},
                               content=b"{}"), 413, "payload_too_large")
    # one that claims less than is sent, or is not a number, is never a 5xx
    for lie in ("10", "abc", "-1"):
        response = client.post("/v1/campaigns", headers={**admin, "Content-Length": lie},
                               content=big_campaign())
        assert 400 <= response.status_code < 500, (lie, response.text)
        assert_problem(response, response.status_code)
    # just under the limit is fine, and nothing refused above was created
    small = ok(client.post("/v1/campaigns", headers=admin, content=json.dumps(campaign_body("small"))), 201)
    listed = ok(client.get("/v1/campaigns", headers=admin, params={"min_position": small["position"]}))
    assert [c["key"] for c in listed["items"]] == ["small"]


def test_a_streamed_or_understated_body_over_the_limit_is_refused_with_413(
    small_client: tuple[TestClient, KeyMaker]
) -> None:
    client, keys = small_client
    admin = {**keys("admin"), "Content-Type": "application/json"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        body = big_campaign()
        yield from (body[i:i + 512] for i in range(0, len(body), 512))

    assert_problem(client.post("/v1/campaigns", headers=admin, content=chunks()), 413,
                   "payload_too_large")
    assert_problem(client.post("/v1/campaigns", headers={**admin, "Content-Length": "10"},
                               content=big_campaign()), 413, "payload_too_large")


# -- errors, routes and the OpenAPI document --------------------------------------------------


def test_unknown_routes_and_methods_are_problems(client: TestClient, keys: KeyMaker) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(client.get("/v1/nothing-here", headers=keys("admin")), 404, "not_found")
    assert_problem(client.delete("/v1/campaigns", headers=keys("admin")), 405, "method_not_allowed")
    assert ok(client.get("/healthz")) == {"status": "ok"}


def test_openapi_documents_every_route_with_a_summary_and_response_schemas(
    client: TestClient, container: Container
) -> None:
    document = ok(client.get("/openapi.json"))
    app = create_app(container, run_projections=False)
    routes = [r for r in api_routes(app.routes) if r.include_in_schema]  # not the dashboard's files
    hidden = {(m, p) for m, p in PUBLIC if p.startswith("/dashboard")}
    assert len(routes) == len(ENDPOINTS) + len(PUBLIC - hidden)
    schemas = document["components"]["schemas"]
    for route in routes:
        for method in route.methods:
            operation = document["paths"][route.path][method.lower()]
            where = f"{method} {route.path}"
            assert operation.get("summary"), where
            assert operation.get("description") == inspect.cleandoc(route.endpoint.__doc__ or ""), where
            assert operation["description"], f"{where} has no docstring"
            success = str(route.status_code or 200)
            if (method, route.path) in FILE_RESPONSES:
                assert FILE_RESPONSES[method, route.path] in operation["responses"][success]["content"]
                continue
            schema = operation["responses"][success]["content"]["application/json"]["schema"]
            assert schema, where
            if (method, route.path) not in PUBLIC:
                model = route.response_model
                if get_origin(model) is list:
                    assert schema["type"] == "array", where
                    (model,), schema = get_args(model), schema["items"]
                assert schema["$ref"] == f"#/components/schemas/{model.__name__}", where
                assert model.__name__ in schemas, where
            if (method, route.path) not in PUBLIC:
                for status in ("401", "403", "422"):
                    error = operation["responses"][status]["content"]
                    assert "application/problem+json" in error, (where, status)
    assert set(schemas["Problem"]["required"]) >= {"type", "title", "status", "code", "detail"}


def test_min_position_beyond_the_ledger_head_is_refused(
    client: TestClient, keys: KeyMaker, container: Container
) -> None:
    admin = keys("admin")
    live(client, admin)
    beyond = {"min_position": head(container) + 1000}
    for path in ("/v1/customers/cust-1/wallet", "/v1/campaigns/spring/stats", "/v1/redemptions",
                 "/v1/campaigns"):
        assert_problem(client.get(path, headers=admin, params=beyond), 422, "unknown_position")


# -- the auditor ------------------------------------------------------------------------------


def test_the_auditor_reads_raw_streams_and_audits_projections(
    client: TestClient, keys: KeyMaker, container: Container
) -> None:
    admin, auditor = keys("admin"), keys("auditor")
    code = live(client, admin, count=1)[0]
    ok(client.post(f"/v1/vouchers/{code}/assignment", headers=admin, json={"customer_id": "cust-1"}))
    redeemed = ok(client.post("/v1/redemptions", headers=admin, json=redeem_body(code, "cust-1")), 201)
    voucher_id = redeemed["voucher_id"]

    stream = ok(client.get(f"/v1/audit/streams/{voucher_id}", headers=auditor))
    assert (stream["aggregate_id"], stream["aggregate_type"]) == (voucher_id, "Voucher")
    types = [e["type"] for e in stream["events"]]
    assert types == ["Voucher.Issued", "Voucher.Assigned", "Voucher.Redeemed"]
    assert [e["version"] for e in stream["events"]] == [1, 2, 3]
    assert stream["events"][0]["data"]["code"] == code
    assert stream["events"][2]["data"]["discount"] == 500
    later = ok(client.get(f"/v1/audit/streams/{voucher_id}", headers=auditor,
                          params={"after_version": 2}))
    assert [e["type"] for e in later["events"]] == ["Voucher.Redeemed"]
    redemption = ok(client.get(f"/v1/audit/streams/{redeemed['id']}", headers=auditor))
    assert redemption["aggregate_type"] == "Redemption"
    campaign = ok(client.get(f"/v1/audit/streams/{redeemed['campaign_id']}", headers=auditor))
    assert [e["type"] for e in campaign["events"]][:2] == ["Campaign.Created", "Campaign.Submitted"]

    # an API key's stream never shows the key's hash
    issued = container.access.create_key("acme", "reporting")
    key_stream = client.get(f"/v1/audit/streams/{issued.key_id}", headers=auditor)
    assert "key_hash" not in ok(key_stream)["events"][0]["data"]
    assert issued.secret not in key_stream.text

    # a points entry too, so every read model has rows to compare
    points_actor = Actor(merchant_id="acme", role="admin", ref="test")
    container.points.define_program(points_actor, "main", "Main", None)
    container.points.credit(points_actor, "cust-1", "main", "regular", "allocation", 10, EntryContext())
    # and a partner code pool with one code sold (issue 3)
    container.pools.create_pool(points_actor, "spring", {"min_length": 4, "max_length": 20})
    container.pools.import_codes(points_actor, "spring", io.BytesIO(b"PARTNER0001\n"), "p.csv")
    container.pools.sell(points_actor, "spring", "order-p", customer_id="cust-1")
    # and customer facts, a workflow run, webhook deliveries, a stock watch, an export (issue 6)
    automation_rows(container, points_actor)
    # and a fraud flag (issue 7)
    container.fraud.raise_flag("acme", "shared_code", "code:SPRING-1", container.clock(), 5, 5, 60, ["x/1"])

    # projections: status, then a replay-vs-live audit of each (once they have caught up)
    ok(client.get("/v1/redemptions", headers=auditor, params={"min_position": head(container)}))
    for name in PROJECTION_NAMES:
        assert container.projections.wait(name, head(container), 5)
    status = ok(client.get("/v1/audit/projections", headers=auditor))
    assert {s["name"] for s in status} == set(PROJECTION_NAMES)
    for s in status:
        assert (s["running"], s["error"], s["lag"]) == (True, None, 0), s
        assert s["position"] == s["head"] == head(container)
    for name in PROJECTION_NAMES:
        report = ok(client.post(f"/v1/audit/projections/{name}", headers=auditor))
        assert (report["projection"], report["ok"]) == (name, True), report
        assert report["position"] == head(container)
        assert sum(t["live_rows"] for t in report["tables"]) > 0
