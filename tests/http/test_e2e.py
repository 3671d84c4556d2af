"""End to end: a real `promo serve` (uvicorn) process on SQLite and PostgreSQL, driven over TCP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.pgcluster import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
KEY_LINE = "admin API key:"


@dataclass
class Server:
    process: subprocess.Popen[str]
    base_url: str
    stderr_path: Path
    lines: list[str] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        return "".join(self.lines)

    def diagnostics(self) -> str:
        return f"stdout:\n{self.stdout}\nstderr:\n{self.stderr_path.read_text(errors='replace')[-4000:]}"

    def admin_key(self, timeout: float = 5.0) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if KEY_LINE in line:
                    return line.split(KEY_LINE, 1)[1].strip()
            time.sleep(0.02)
        return None

    def stop(self) -> int:
        """SIGTERM, wait; SIGKILL if it does not stop in time. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextmanager
def serve(database_url: str, tmp_path: Path, name: str) -> Iterator[Server]:
    """Start `promo serve` on a free port and wait for /healthz; always stopped on exit."""
    port = free_port()
    env = {**os.environ, "PROMO_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1",
           "PROMO_LOG_LEVEL": "info", "PROMO_PROJECTION_POLL_SECONDS": "0.02"}
    stderr_path = tmp_path / f"{name}.stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}", stderr_path)
    assert process.stdout is not None
    reader = threading.Thread(target=_read_lines, args=(process.stdout, server.lines), daemon=True)
    reader.start()
    try:
        _wait_healthy(server)
        yield server
    finally:
        server.stop()
        reader.join(timeout=STOP_TIMEOUT)


def _read_lines(stream: Any, lines: list[str]) -> None:
    for line in iter(stream.readline, ""):
        lines.append(line)


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited with {server.process.returncode}\n{server.diagnostics()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"server not healthy within {START_TIMEOUT}s\n{server.diagnostics()}")


def assert_stopped_cleanly(server: Server) -> None:
    """A graceful shutdown: the lifespan finished. uvicorn re-raises the SIGTERM it caught once it
    has shut down, so the exit status is -SIGTERM (or 0); a SIGKILL after the timeout is not clean."""
    assert server.stop() in (0, -signal.SIGTERM), server.diagnostics()
    assert "Application shutdown complete" in server.stderr_path.read_text(), server.diagnostics()


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def test_a_served_api_seeds_once_redeems_and_stops_cleanly(database_url: str, tmp_path: Path) -> None:
    with serve(database_url, tmp_path, "first") as server:
        key = server.admin_key()
        assert key is not None, server.diagnostics()
        assert key.startswith("pl_")
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
            problem(http.get("/v1/campaigns"), 401, "unauthenticated")
            problem(http.get("/v1/nowhere", headers=auth), 404, "not_found")
            problem(http.post("/v1/redemptions", headers={**auth, "Content-Type": "application/json"},
                              content=b"x" * (1_048_576 + 1)), 413, "payload_too_large")

            seeded = http.get("/v1/vouchers/WELCOME10", headers=auth).json()["redemption_count"]
            redeemed = http.post("/v1/redemptions", headers=auth, json={
                "code": "welcome10", "customer_id": "alice",
                "order": {"id": "o-1", "amount": 5000, "currency": "EUR"}})
            assert redeemed.status_code == 201, redeemed.text
            body = redeemed.json()
            assert (body["status"], body["code"], body["discount"]) == ("redeemed", "WELCOME10", 500)
            assert redeemed.headers["x-promo-position"] == str(body["position"])

            log = http.get("/v1/redemptions", headers=auth,
                           params={"code": "WELCOME10", "min_position": body["position"]})
            assert log.status_code == 200, log.text
            entries = [(e["id"], e["status"], e["discount"]) for e in log.json()["items"]]
            assert entries[0] == (body["id"], "redeemed", 500)  # newest first, after the demo's own
        assert_stopped_cleanly(server)

    # a second start on the same database seeds nothing, and the first key still works
    with serve(database_url, tmp_path, "second") as server:
        assert server.admin_key(timeout=0.5) is None, server.stdout
        with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
            campaigns = http.get("/v1/campaigns", headers=auth, params={"min_position": body["position"]})
            assert campaigns.status_code == 200, campaigns.text
            redeemed_by_key = {c["key"]: c["redeemed"] for c in campaigns.json()["items"]}
            assert set(redeemed_by_key) == {"welcome", "spring"}  # the demo, seeded once
            voucher = http.get("/v1/vouchers/WELCOME10", headers=auth)
            assert voucher.json()["redemption_count"] == seeded + 1
        assert_stopped_cleanly(server)
