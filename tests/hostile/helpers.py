"""Shared steps for the hostile-input tests: a merchant with real objects behind every kind of path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from tests.http.helpers import KeyMaker

PARTNER_CODES = [f"P{i:019d}" for i in range(6)]


@dataclass
class Seeded:
    """Path values that name real objects of merchant `acme`."""

    path: dict[str, str] = field(default_factory=dict)

    def values_for(self, template: str) -> dict[str, str]:
        """The seeded values for a route's path parameters: `key` depends on the resource, and
        what ends a campaign or a customer gets its own, so the rest stay usable all run long."""
        values = dict(self.path)
        for marker, key in (("/pool", "oishi"), ("/workflows/", "welcome"), ("/webhooks/", "crm"),
                            ("/end", "autumn"), ("/disable", "autumn"), ("/reject", "autumn")):
            if marker in template:
                values["key"] = key
        if template.endswith("/merge"):
            values["customer_id"] = "cust-2"
        return values


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    body: dict[str, Any] = response.json()
    return body


def go_live(client: TestClient, headers: dict[str, str], key: str, **terms: Any) -> None:
    body = {"key": key, "name": key.title(), "currency": "EUR",
            "reward": {"type": "amount_off", "amount": 500, "min_spend": 0}, **terms}
    ok(client.post("/v1/campaigns", headers=headers, json=body), 201)
    for action in ("submit", "approve", "activate"):
        ok(client.post(f"/v1/campaigns/{key}/{action}", headers=headers))


def seed(client: TestClient, keys: KeyMaker) -> Seeded:
    """A live campaign with codes, an assignment, a redemption and a hold; a pool with a sale;
    a points account with points; a segment, an order, a workflow, a webhook, an export batch."""
    admin = keys("admin")
    go_live(client, admin, "spring")
    ok(client.post("/v1/campaigns/spring/codes", headers=admin,
                   json={"codes": ["SPRING-1", "SPRING-2", "SPRING-3"]}), 201)
    ok(client.post("/v1/campaigns/spring/codes", headers=admin, json={"count": 5}), 201)
    ok(client.post("/v1/vouchers/SPRING-1/assignment", headers=admin, json={"customer_id": "cust-1"}))
    order = {"id": "o-1", "amount": 3000, "currency": "EUR"}
    redemption = ok(client.post("/v1/redemptions", headers=admin,
                                json={"code": "SPRING-1", "customer_id": "cust-1", "order": order}), 201)
    hold = ok(client.post("/v1/holds", headers=admin,
                          json={"codes": ["SPRING-2"], "customer_id": "cust-2",
                                "order": {**order, "id": "o-2"}}), 201)
    exported = client.post("/v1/campaigns/spring/exports", headers=admin, json={"batch": "b1", "count": 1})
    assert exported.status_code == 201, exported.text

    go_live(client, admin, "autumn")
    go_live(client, admin, "oishi")
    ok(client.post("/v1/campaigns/oishi/pool", headers=admin, json={"low_stock_threshold": 2}), 201)
    ok(client.post("/v1/campaigns/oishi/pool/imports", headers=admin,
                   files={"file": ("codes.csv", "\n".join(PARTNER_CODES).encode(), "text/csv")}), 201)
    sale = ok(client.post("/v1/campaigns/oishi/pool/sales", headers=admin,
                          json={"order_id": "o-3", "customer_id": "cust-1", "quantity": 1}), 201)

    ok(client.put("/v1/points/programs/main", headers=admin, json={"name": "Main", "expiry_days": 365}))
    ok(client.post("/v1/customers/cust-1/points/accounts", headers=admin, json={"program": "main"}), 201)
    ok(client.post("/v1/customers/cust-1/points/credits", headers=admin,
                   json={"program": "main", "kind": "allocation", "points": 100}))
    ok(client.post("/v1/segments/vip/members", headers=admin, json={"customer_ids": ["cust-1"]}))
    ok(client.post("/v1/orders", headers=admin, json={"id": "o-9", "amount": 1000, "currency": "EUR"}), 201)
    ok(client.put("/v1/workflows/welcome", headers=admin,
                  json={"name": "Welcome", "trigger": {"type": "customer_registered"},
                        "effects": [{"type": "assign_voucher", "campaign": "spring"}]}))
    ok(client.post("/v1/webhooks", headers=admin,
                   json={"key": "crm", "url": "http://127.0.0.1:9/", "event_types": ["*"]}), 201)
    return Seeded(path={
        "key": "spring", "code": "SPRING-3", "customer_id": "cust-1", "redemption_id": redemption["id"],
        "aggregate_id": redemption["id"], "hold_id": hold["id"], "program": "main", "segment": "vip",
        "order_id": "o-9", "internal_code": sale["codes"][0]["internal_code"], "kind": "png",
        "batch": "b1", "name": "wallet",
    })
