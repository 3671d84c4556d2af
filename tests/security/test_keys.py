"""API key lifecycle (issue 8): issue with the secret shown once, list without secrets, revoke
with a reason — idempotent, audited, scoped to the merchant; constant-time hash check; the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from application.access import AUTH_CACHE_SECONDS
from domain.api_key import ROLES, ApiKey, KeyRing, hash_secret
from domain.errors import InvalidInput, InvalidTransition
from infrastructure.bootstrap import Container
from interfaces.http.routers.keys import Role
from tests.http.helpers import KeyMaker, assert_problem
from tests.security.helpers import ok

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# -- domain ---------------------------------------------------------------------------------------


def test_the_stored_hash_is_compared_in_constant_time_and_must_match() -> None:
    key = ApiKey.issue("acme", "checkout", "pl_secret-one", "till", AT, issued_by="key:x")
    assert key.matches(hash_secret("pl_secret-one"))
    assert not key.matches(hash_secret("pl_secret-two"))
    assert (key.issued_by, key.key_hash) == ("key:x", hash_secret("pl_secret-one"))


def test_revocation_records_who_when_and_why() -> None:
    key = ApiKey.issue("acme", "checkout", "pl_secret", "till", AT)
    key.revoke("leaked in a log", AT, revoked_by="key:admin-1")
    revoked: Any = key.collect_events()[-1]
    assert (revoked.reason, revoked.revoked_by, revoked.timestamp) == ("leaked in a log", "key:admin-1", AT)
    assert (key.revoked, key.revoked_at, key.revoke_reason, key.revoked_by) == (
        True, AT, "leaked in a log", "key:admin-1")


def test_events_stored_before_the_audit_fields_existed_still_replay() -> None:
    key = ApiKey.issue("acme", "admin", "pl_old", "old", AT)
    key.revoke("old reason", AT)
    issued, revoked = key.collect_events()
    for event, field in ((issued, "issued_by"), (revoked, "revoked_by")):
        del event.__dict__[field]  # what the mapper decodes from an older stored event
    replayed: Any = revoked.mutate(issued.mutate(None))
    assert (replayed.issued_by, replayed.revoked_by, replayed.revoke_reason) == ("", "", "old reason")


def test_a_key_ring_holds_only_its_merchants_keys_once() -> None:
    ring = KeyRing.start("acme", AT)
    key = ApiKey.issue("acme", "admin", "pl_a", "", AT)
    ring.add(key, AT)
    ring.add(key, AT)
    assert ring.key_ids == [str(key.id)]
    with pytest.raises(InvalidInput):
        ring.add(ApiKey.issue("globex", "admin", "pl_b", "", AT), AT)


def test_the_http_role_choices_are_the_domain_roles() -> None:
    assert get_args(Role) == ROLES


# -- HTTP, on both stores ---------------------------------------------------------------------------


def test_issue_list_and_revoke_a_key_over_http(
    client: TestClient, keys: KeyMaker, container: Container
) -> None:
    admin = keys("admin")
    issued = ok(client.post("/v1/api-keys", headers=admin, json={"role": "checkout", "label": "till 7"}), 201)
    secret = issued["secret"]
    assert secret.startswith("pl_") and issued["prefix"] == secret[:10]
    assert (issued["role"], issued["label"], issued["revoked"]) == ("checkout", "till 7", False)
    assert issued["created_by"].startswith("key:") and issued["position"] == container.ledger.head()

    # the new key works, for its role only
    assert client.post("/v1/validations", headers=bearer(secret), json={
        "code": "NOPE-1", "order": {"amount": 100, "currency": "EUR"}}).status_code == 200
    assert_problem(client.get("/v1/campaigns", headers=bearer(secret)), 403, "forbidden")

    # the list shows it, with the key that made it; never a secret or a hash
    listing = client.get("/v1/api-keys", headers=keys("auditor"))
    items = ok(listing)["items"]
    assert issued["id"] in {k["id"] for k in items}
    assert secret not in listing.text and hash_secret(secret) not in listing.text
    assert all("secret" not in k and "key_hash" not in k for k in items)

    # revoked with a reason: refused at once, and the list says who, when, why
    revoked = ok(client.post(f"/v1/api-keys/{issued['id']}/revocation", headers=admin,
                             json={"reason": "till stolen"}))
    assert (revoked["revoked"], revoked["revoke_reason"]) == (True, "till stolen")
    assert revoked["revoked_by"] == issued["created_by"] and revoked["revoked_at"]
    assert_problem(client.post("/v1/validations", headers=bearer(secret), json={
        "code": "NOPE-1", "order": {"amount": 100, "currency": "EUR"}}), 401, "unauthenticated")
    again = client.post(f"/v1/api-keys/{issued['id']}/revocation", headers=admin, json={"reason": "x"})
    assert_problem(again, 409, "invalid_transition")
    [listed] = [k for k in ok(client.get("/v1/api-keys", headers=admin))["items"] if k["id"] == issued["id"]]
    assert {k: listed[k] for k in ("revoked", "revoke_reason", "revoked_by")} == {
        "revoked": True, "revoke_reason": "till stolen", "revoked_by": issued["created_by"]}

    # the audit trail: the key's stream, the hash hidden
    stream = ok(client.get(f"/v1/audit/streams/{issued['id']}", headers=keys("auditor")))
    assert [e["type"] for e in stream["events"]] == ["ApiKey.Issued", "ApiKey.Revoked"]
    assert stream["events"][0]["data"]["issued_by"] == issued["created_by"]
    assert stream["events"][1]["data"] == {"reason": "till stolen", "revoked_by": issued["created_by"]}
    assert "key_hash" not in stream["events"][0]["data"]


def test_issuing_is_idempotent_and_a_replay_never_shows_the_secret(
    client: TestClient, keys: KeyMaker
) -> None:
    admin = {**keys("admin"), "Idempotency-Key": "new-till-key"}
    first = ok(client.post("/v1/api-keys", headers=admin, json={"role": "checkout"}), 201)
    again = client.post("/v1/api-keys", headers=admin, json={"role": "checkout"})
    replay = ok(again, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert replay["secret"] is None and first["secret"]
    assert {k: v for k, v in replay.items() if k != "secret"} == {
        k: v for k, v in first.items() if k != "secret"}
    ids = [k["id"] for k in ok(client.get("/v1/api-keys", headers=keys("admin")))["items"]]
    assert ids.count(first["id"]) == 1
    assert_problem(client.post("/v1/api-keys", headers=admin, json={"role": "auditor"}), 422,
                   "idempotency_key_reused")


def test_revocation_is_idempotent_with_its_key(client: TestClient, keys: KeyMaker) -> None:
    admin = keys("admin")
    key_id = ok(client.post("/v1/api-keys", headers=admin, json={"role": "support"}), 201)["id"]
    headers = {**admin, "Idempotency-Key": "revoke-1"}
    first = client.post(f"/v1/api-keys/{key_id}/revocation", headers=headers, json={"reason": "left"})
    second = client.post(f"/v1/api-keys/{key_id}/revocation", headers=headers, json={"reason": "left"})
    assert ok(first)["revoked"] and second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()


def test_keys_are_scoped_to_their_merchant(client: TestClient, keys: KeyMaker) -> None:
    acme_key = ok(client.post("/v1/api-keys", headers=keys("admin", "acme"), json={"role": "checkout"}), 201)
    globex = keys("admin", "globex")
    listed = client.get("/v1/api-keys", headers=globex)
    assert acme_key["id"] not in listed.text and acme_key["prefix"] not in listed.text
    for key_id in (acme_key["id"], str(uuid.uuid4())):
        assert_problem(client.post(f"/v1/api-keys/{key_id}/revocation", headers=globex,
                                   json={"reason": "sabotage"}), 404, "api_key_not_found")
    assert client.post("/v1/validations", headers=bearer(acme_key["secret"]), json={
        "code": "X-1", "order": {"amount": 1, "currency": "EUR"}}).status_code == 200


def test_bad_key_requests_are_refused_with_problems(client: TestClient, keys: KeyMaker) -> None:
    bodies: list[dict[str, Any]] = [{"role": "root"}, {"role": "checkout", "label": ""}, {},
                                    {"role": "checkout", "secret": "pl_mine"}]
    for body in bodies:
        assert_problem(client.post("/v1/api-keys", headers=keys("admin"), json=body), 422, "invalid_request")
    assert_problem(client.post("/v1/api-keys/not-a-uuid/revocation", headers=keys("admin"),
                               json={"reason": "x"}), 422, "invalid_request")


def test_a_revocation_reaches_other_processes_within_the_cache_time(
    make_container: Callable[..., Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = make_container(), make_container()
    issued = one.access.create_key("acme", "checkout")
    assert two.access.authenticate(issued.secret) is not None  # now cached in process two
    admin = one.access.authenticate(one.access.create_key("acme", "admin").secret)
    assert admin is not None
    one.access.revoke_key(admin, uuid.UUID(issued.key_id), "rotated")
    assert one.access.authenticate(issued.secret) is None  # the revoking process: at once
    assert two.access.authenticate(issued.secret) is not None  # the other: from its cache…
    later = time.monotonic() + AUTH_CACHE_SECONDS + 0.1
    monkeypatch.setattr("application.access.time.monotonic", lambda: later)
    assert two.access.authenticate(issued.secret) is None  # …until the cache time has passed

    # revoking a key again where it is still cached forgets it there at once (and says 409)
    again = one.access.create_key("acme", "checkout")
    assert two.access.authenticate(again.secret) is not None
    one.access.revoke_key(admin, uuid.UUID(again.key_id), "rotated")
    with pytest.raises(InvalidTransition):
        two.access.revoke_key(admin, uuid.UUID(again.key_id), "rotated too")
    assert two.access.authenticate(again.secret) is None


# -- the command line ------------------------------------------------------------------------------


def promo(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROMO_DATABASE_URL": database_url, "PROMO_LOG_LEVEL": "warning"}
    return subprocess.run([sys.executable, "-m", "interfaces.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_keys_list_and_revoke_from_the_command_line(database_url: str, container: Container) -> None:
    leaked = container.access.create_key("acme", "checkout", "till 1")
    other = container.access.create_key("acme", "operations", "back office")
    assert container.access.authenticate(leaked.secret) is not None

    listed = promo(database_url, "keys", "list", "--merchant", "acme")
    assert listed.returncode == 0, listed.stderr
    assert {k["id"]: k["label"] for k in json.loads(listed.stdout)} == {
        leaked.key_id: "till 1", other.key_id: "back office"}
    assert leaked.secret not in listed.stdout

    # by the leaked key itself (or by its id)
    by_secret = promo(database_url, "keys", "revoke", leaked.secret, "--merchant", "acme",
                      "--reason", "posted in chat")
    assert by_secret.returncode == 0, by_secret.stderr
    shown = json.loads(by_secret.stdout)
    assert (shown["id"], shown["revoked"], shown["revoke_reason"]) == (leaked.key_id, True, "posted in chat")
    assert shown["revoked_by"].startswith("cli:") and leaked.secret not in by_secret.stdout

    container.access.forget(hash_secret(leaked.secret))  # this test process cached it as valid
    assert container.access.authenticate(leaked.secret) is None
    assert container.access.authenticate(other.secret) is not None
