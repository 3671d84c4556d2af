"""Secrets never reach the logs (issue 8): a real `promo serve` at debug level issues and
revokes keys, signs webhooks a real receiver verifies, and is called with good, revoked and bad
keys; afterwards no key, hash or signing secret appears anywhere in its output."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from domain.api_key import hash_secret
from infrastructure.bootstrap import Container
from tests.automation.receiver import running_receiver
from tests.faults.helpers import running

ORDER = {"id": "o-1", "amount": 1000, "currency": "EUR"}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


def test_no_secret_is_ever_logged_by_a_real_server(
    database_url: str, make_container: Callable[..., Container], tmp_path: Path
) -> None:
    admin_secret = make_container().access.create_key("acme", "admin").secret
    admin = bearer(admin_secret)
    own_webhook_secret = "whsec_mine_" + secrets.token_hex(16)
    bad_keys = ["pl_" + secrets.token_urlsafe(32), "not-a-key-" + secrets.token_hex(8)]
    leaks: list[str] = [admin_secret, hash_secret(admin_secret), own_webhook_secret, *bad_keys]

    with running_receiver() as rx, running(
            database_url, tmp_path, "secrets", PROMO_LOG_LEVEL="debug", PROMO_LOG_FORMAT="text",
            PROMO_POLICY_POLL_SECONDS="0.05", PROMO_WEBHOOK_POLL_SECONDS="0.05") as server, \
            httpx.Client(base_url=server.base_url, timeout=30) as http:
        # keys: issued (the secret in the answer), used, revoked, then refused
        issued = ok(http.post("/v1/api-keys", headers=admin, json={"role": "checkout", "label": "till"}), 201)
        checkout = issued["secret"]
        leaks += [checkout, hash_secret(checkout)]
        assert ok(http.post("/v1/validations", headers=bearer(checkout),
                            json={"code": "NOPE-1", "order": ORDER}))["valid"] is False
        ok(http.post(f"/v1/api-keys/{issued['id']}/revocation", headers=admin, json={"reason": "test"}))
        assert http.post("/v1/validations", headers={"X-Api-Key": checkout},
                         json={"code": "NOPE-1", "order": ORDER}).status_code == 401
        for bad in bad_keys:
            assert http.get("/v1/campaigns", headers=bearer(bad)).status_code == 401
            assert http.get("/v1/campaigns", headers={"X-Api-Key": bad}).status_code == 401
        # a key in the wrong place (a query string, a body) is not a credential, and not logged
        assert http.get("/v1/campaigns", params={"api_key": bad_keys[0]}).status_code == 401
        assert http.post("/v1/validations", headers=admin,
                         json={"code": bad_keys[0][:64], "order": ORDER}).status_code in (200, 422)

        # webhooks: a given secret, a generated one, a rotation; deliveries signed and verified
        ok(http.post("/v1/webhooks", headers=admin, json={
            "key": "mine", "url": f"{rx.url}/mine", "event_types": ["*"], "secret": own_webhook_secret}), 201)
        ok(http.post("/v1/webhooks", headers=admin, json={
            "key": "crm", "url": f"{rx.url}/crm", "event_types": ["customer.registered"]}), 201)
        generated = ok(http.get("/v1/webhooks/crm/secret", headers=admin))["secret"]
        ok(http.post("/v1/webhooks/crm/secret", headers=admin))
        rotated = ok(http.get("/v1/webhooks/crm/secret", headers=admin))["secret"]
        leaks += [generated, rotated]
        rx.secrets.update({"/mine": own_webhook_secret, "/crm": rotated})
        ok(http.post("/v1/customers/c-1/registration", headers=admin, json={"email": "c@example.com"}), 201)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not {"/mine", "/crm"} <= {r["path"] for r in rx.raw}:
            time.sleep(0.1)
        assert {"/mine", "/crm"} <= {r["path"] for r in rx.raw}, (rx.raw, server.diagnostics())
        assert rx.rejected == 0  # every delivery carried a valid signature for its secret

    output = server.log_path.read_text(errors="replace")
    assert "/v1/api-keys" in output, output[-2000:]  # the requests were logged (at debug level)
    found = [leak[:12] + "…" for leak in leaks if leak in output]
    assert not found, f"secrets in the server's output: {found}\n{output[-3000:]}"
    # not even a recognisable part of a key (the first characters after the prefix)
    assert not [s for s in (admin_secret, checkout) if s[:16] in output]
