"""A real webhook receiver on 127.0.0.1: verifies signatures, fails the first attempts on demand,
and keeps both the raw log and the de-duplicated view a careful consumer would keep."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from domain.webhook import SIGNATURE_HEADER, verify


@dataclass
class Receiver:
    url: str
    secrets: dict[str, str] = field(default_factory=dict)  # path -> secret
    fail_first: int = 0  # answer 500 to the first N attempts of each event
    now: Callable[[], datetime] | None = None
    # Tests move the manual clock minutes at a time while a request is on its way.
    tolerance: int = 30 * 86_400
    raw: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> body (the de-duplicated view)
    rejected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [b for b in self.seen.values() if event_type is None or b["type"] == event_type]

    def handle(self, path: str, headers: Any, body: bytes) -> int:
        secret = self.secrets.get(path)
        now = int((self.now() if self.now else datetime.now()).timestamp())
        if secret is None or not verify(secret, headers.get(SIGNATURE_HEADER, ""), body, now, self.tolerance):
            with self.lock:
                self.rejected += 1
            return 401
        event = json.loads(body)
        with self.lock:
            attempts = sum(1 for r in self.raw if r["event_id"] == event["id"] and r["path"] == path) + 1
            accept = attempts > self.fail_first
            self.raw.append({"path": path, "event_id": event["id"], "delivery": headers.get(
                "PromoLedger-Delivery"), "attempt": headers.get("PromoLedger-Attempt"), "accepted": accept})
            if accept:
                self.seen.setdefault(f"{path}|{event['id']}", event)
        return 200 if accept else 500


@contextmanager
def running_receiver(**options: Any) -> Iterator[Receiver]:
    """Serve on a free port in a thread; stopped on exit."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.handle(self.path, self.headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}", **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
