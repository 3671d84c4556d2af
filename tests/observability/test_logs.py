"""Structured logs from a real `promo serve`: one JSON object per line, request ids, no secrets."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from infrastructure.bootstrap import Container
from infrastructure.logging import JsonFormatter, RequestIdFilter, TextFormatter
from interfaces.http.app import create_app
from tests.faults.helpers import running, seed_shop

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of the log parsed; a line that is not one JSON object fails the test."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_promo_serve_logs_json_lines_with_request_ids_and_never_a_key(
    database_url: str, tmp_path: Path
) -> None:
    # Arrange: a shop, and a server logging at info in the default (JSON) format
    shop = seed_shop(database_url, codes=1)
    forged = "pl_" + "z" * 43
    with running(database_url, tmp_path, "logs", PROMO_LOG_LEVEL="info") as server, \
            httpx.Client(base_url=server.base_url, timeout=10) as http:
        # Act: a read with our request id, a redemption with an unusable one, a forged key
        listed = http.get("/v1/campaigns", headers={**shop.auditor, "X-Request-Id": "trace-42.a_b"})
        redeemed = http.post("/v1/redemptions", headers={**shop.checkout, "X-Request-Id": "bad id!" * 20},
                             json={"code": shop.codes[0], "order": {"id": "o-1", "amount": 900,
                                                                   "currency": "EUR"}})
        refused = http.get(f"/v1/vouchers/{shop.codes[0]}", headers={"Authorization": f"Bearer {forged}"})
        ready, metrics = http.get("/readyz"), http.get("/metrics")
    lines = json_lines(server.log_path.read_text())

    # Assert: ids echoed (ours when sane, a fresh one otherwise)
    assert (listed.status_code, redeemed.status_code, refused.status_code) == (200, 201, 401)
    assert listed.headers["x-request-id"] == "trace-42.a_b"
    assert GENERATED_ID.fullmatch(redeemed.headers["x-request-id"])
    assert ready.status_code == 200 and 'promo_redemptions_total{outcome="redeemed"} 1.0' in metrics.text
    # One access line per request: route template, status, duration, merchant, request id
    access = {line["request_id"]: line for line in lines if line["logger"] == "promoledger.access"}
    assert access["trace-42.a_b"] | {"ts": None, "duration_ms": None} == {
        "ts": None, "level": "info", "logger": "promoledger.access", "message": "GET /v1/campaigns 200",
        "request_id": "trace-42.a_b", "method": "GET", "route": "/v1/campaigns", "status": 200,
        "duration_ms": None, "merchant": "faults"}
    assert access["trace-42.a_b"]["duration_ms"] > 0
    assert access[redeemed.headers["x-request-id"]]["route"] == "/v1/redemptions"
    unauthenticated = access[refused.headers["x-request-id"]]
    assert (unauthenticated["route"], unauthenticated["status"], unauthenticated["merchant"]) == (
        "/v1/vouchers/{code}", 401, None)
    # uvicorn's own lines are JSON too; no key, code or bearer credential anywhere
    assert any(line["message"] == "Application shutdown complete." for line in lines)
    text = server.log_path.read_text()
    for secret in (*shop.checkout.values(), *shop.auditor.values(), forged, shop.codes[0]):
        assert secret.removeprefix("Bearer ") not in text


class JsonLines(logging.Handler):
    """Records as the JSON lines `promo serve` writes, parsed back."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []
        self.addFilter(RequestIdFilter())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def captured() -> Iterator[list[dict[str, Any]]]:
    handler = JsonLines()
    logging.getLogger().addHandler(handler)
    yield handler.lines
    logging.getLogger().removeHandler(handler)


def test_logs_written_while_serving_a_request_carry_its_id(
    container: Container, captured: list[dict[str, Any]]
) -> None:
    def probe() -> dict[str, str]:
        """A sync route: it runs in a worker thread, on a copy of the request's context."""
        logging.getLogger("application.probe").warning("deciding")
        return {}

    def boom() -> None:
        raise RuntimeError("a bug")

    app = create_app(container, run_projections=False)
    app.add_api_route("/probe", probe)
    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/boom", headers={"X-Request-Id": "bug-1"}).status_code == 500
        [unhandled] = [line for line in captured if line["message"] == "unhandled error"]
        assert unhandled["request_id"] == "bug-1" and "RuntimeError: a bug" in unhandled["exc"]
        for sent in ("order-1001.retry_2", "x" * 65, "../etc/passwd", None):
            headers = {"X-Request-Id": sent} if sent is not None else {}
            echoed = client.get("/probe", headers=headers).headers["x-request-id"]
            if sent == "order-1001.retry_2":
                assert echoed == sent
            else:  # too long, or characters outside [A-Za-z0-9._-]: replaced
                assert GENERATED_ID.fullmatch(echoed), echoed
            logged = [line for line in captured if line["logger"] == "application.probe"]
            assert logged.pop()["request_id"] == echoed


def test_plain_text_lines_and_masking_of_anything_that_looks_like_a_secret() -> None:
    key = "pl_" + "k" * 43
    record = logging.LogRecord("application.x", logging.WARNING, __file__, 1, "saw %s, %s and %s", (
        key, "Authorization: Bearer abc.def", "postgresql://promo:hunter2@db:5432/promo"), None)
    RequestIdFilter().filter(record)
    for line in (TextFormatter().format(record), JsonFormatter().format(record)):
        assert key not in line and "abc.def" not in line and "hunter2" not in line, line
    assert TextFormatter().format(record).endswith(
        "WARNING application.x [-]: saw [redacted], Authorization: [redacted] and "
        "postgresql://[redacted]@db:5432/promo")
