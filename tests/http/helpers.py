"""Helpers shared by the HTTP tests: API keys per role and merchant, problem assertions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infrastructure.bootstrap import Container

PROBLEM_TYPE = "application/problem+json"
PROBLEM_FIELDS = ("type", "title", "status", "code", "detail")

Headers = dict[str, str]
KeyMaker = Callable[..., Headers]


def make_keys(container: Container) -> KeyMaker:
    """`keys(role, merchant="acme", header="bearer")` -> request headers carrying a key.

    One key per (merchant, role), created on first use; `header="x-api-key"` sends it in X-Api-Key.
    """
    cache: dict[tuple[str, str], str] = {}

    def keys(role: str = "admin", merchant: str = "acme", header: str = "bearer") -> Headers:
        secret = cache.get((merchant, role))
        if secret is None:
            secret = cache[(merchant, role)] = container.access.create_key(merchant, role).secret
        if header == "bearer":
            return {"Authorization": f"Bearer {secret}"}
        return {"X-Api-Key": secret}

    return keys


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with `status` (and `code`); return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_TYPE), response.headers
    body: dict[str, Any] = response.json()
    for name in PROBLEM_FIELDS:
        assert name in body, f"problem lacks {name!r}: {body}"
    assert body["status"] == status
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str)
    assert body["type"] == f"urn:promoledger:problem:{body['code']}"
    if code is not None:
        assert body["code"] == code, body
    return body
