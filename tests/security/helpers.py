"""What the security tests share: a merchant with a real object behind every kind of path,
and the strings that only that merchant's data contains."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from infrastructure.bootstrap import Container
from tests.http.helpers import KeyMaker

ORDER = {"id": "o-1", "amount": 3000, "currency": "EUR"}
PARTNER_CODES = [f"Q{i:019d}" for i in range(4)]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json()


@dataclass
class Victim:
    """Merchant `merchant`'s path values (every `{name}` of the route table) and its markers:
    strings found only in its data, which no other merchant may ever read."""

    merchant: str
    path: dict[str, str]
    markers: set[str] = field(default_factory=set)


def seed_victim(client: TestClient, container: Container, keys: KeyMaker, merchant: str = "acme") -> Victim:
    """A live campaign `spring` (explicit codes SPRING-1..3 and generated ones) with a pool and a
    sold partner code, an assignment, a redemption, a hold, an export; points, a segment, an
    order; workflow and webhook `spring` with a delivery; API keys. Names match the route table's
    FILL values, so the table's own bodies aim at this merchant's objects."""
    admin = keys("admin", merchant)
    name = f"{merchant} secret spring sale"
    ok(client.post("/v1/campaigns", headers=admin, json={
        "key": "spring", "name": name, "currency": "EUR", "voucher_type": "multi_use",
        "redemption_limit": 100, "reward": {"type": "amount_off", "amount": 500, "min_spend": 0},
        "internal_remarks": f"{merchant} internal remark"}), 201)
    for action in ("submit", "approve", "activate"):
        ok(client.post(f"/v1/campaigns/spring/{action}", headers=admin))
    ok(client.post("/v1/campaigns/spring/codes", headers=admin,
                   json={"codes": ["SPRING-1", "SPRING-2", "SPRING-3"]}), 201)
    generated = ok(client.post("/v1/campaigns/spring/codes", headers=admin, json={"count": 3}), 201)["codes"]
    voucher = ok(client.post("/v1/vouchers/SPRING-1/assignment", headers=admin,
                             json={"customer_id": "cust-1"}))
    redemption = ok(client.post("/v1/redemptions", headers=admin,
                                json={"code": "SPRING-1", "customer_id": "cust-1", "order": ORDER}), 201)
    hold = ok(client.post("/v1/holds", headers=admin, json={
        "codes": ["SPRING-2"], "customer_id": "cust-2", "order": {**ORDER, "id": "o-2"}}), 201)
    exported = client.post("/v1/campaigns/spring/exports", headers=admin, json={"batch": "b1", "count": 1})
    assert exported.status_code == 201, exported.text

    ok(client.post("/v1/campaigns/spring/pool", headers=admin, json={"low_stock_threshold": 1}), 201)
    ok(client.post("/v1/campaigns/spring/pool/imports", headers=admin, files={
        "file": ("codes.csv", "\n".join(PARTNER_CODES).encode(), "text/csv")}), 201)
    sale = ok(client.post("/v1/campaigns/spring/pool/sales", headers=admin,
                          json={"order_id": "o-3", "customer_id": "cust-1", "quantity": 1}), 201)
    internal_code = sale["codes"][0]["internal_code"]

    ok(client.put("/v1/points/programs/main", headers=admin,
                  json={"name": f"{merchant} points", "expiry_days": 365}))
    ok(client.post("/v1/customers/cust-1/points/accounts", headers=admin, json={"program": "main"}), 201)
    ok(client.post("/v1/customers/cust-1/points/credits", headers=admin,
                   json={"program": "main", "kind": "allocation", "points": 777}))
    ok(client.post("/v1/segments/vip/members", headers=admin, json={"customer_ids": ["cust-1"]}))
    ok(client.post("/v1/customers/cust-1/registration", headers=admin,
                   json={"email": f"cust-1@{merchant}.example"}), 201)
    ok(client.post("/v1/orders", headers=admin, json={
        "id": "o-1", "customer_id": "cust-1", "amount": 1000, "currency": "EUR"}), 201)
    ok(client.put("/v1/workflows/spring", headers=admin, json={
        "name": f"{merchant} welcome flow", "trigger": {"type": "customer_registered"},
        "effects": [{"type": "assign_voucher", "campaign": "spring"}]}))
    hook_url = f"http://127.0.0.1:9/{merchant}-hook"
    ok(client.post("/v1/webhooks", headers=admin,
                   json={"key": "spring", "url": hook_url, "event_types": ["*"]}), 201)
    secret = ok(client.get("/v1/webhooks/spring/secret", headers=admin))["secret"]
    ok(client.put("/v1/campaigns/spring/stock-alert", headers=admin, json={"threshold": 1}))
    container.policies.run_once()  # the webhook outbox: deliveries for the events so far
    deliveries = ok(client.get("/v1/webhook-deliveries", headers=admin,
                               params={"min_position": container.ledger.head()}))["items"]
    assert deliveries, "the outbox scheduled no delivery"
    own_keys = ok(client.get("/v1/api-keys", headers=admin))["items"]

    path = {"key": "spring", "code": "SPRING-1", "customer_id": "cust-1", "redemption_id": redemption["id"],
            "aggregate_id": voucher["campaign_id"], "hold_id": hold["id"], "program": "main",
            "segment": "vip", "order_id": "o-1", "internal_code": internal_code, "kind": "png",
            "batch": "b1", "name": "wallet", "delivery_id": deliveries[0]["delivery_id"],
            "key_id": own_keys[0]["id"]}
    markers = {merchant, name, f"{merchant} internal remark", f"{merchant} points", hook_url, secret,
               f"{merchant} welcome flow", f"cust-1@{merchant}.example", redemption["id"], voucher["id"],
               voucher["campaign_id"], hold["id"], internal_code, *PARTNER_CODES, *generated,
               *(d["delivery_id"] for d in deliveries), *(k["id"] for k in own_keys),
               *(k["prefix"] for k in own_keys)}
    return Victim(merchant, path, markers)
