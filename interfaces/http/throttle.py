"""Guessing protection (issues 7 and 8): per-key rate limits on checkout routes, and a lockout
after repeated answers that a code does not exist.

* Rate limit: a token bucket per API key (`PROMO_RATE_LIMIT_PER_SECOND`, `_BURST`; 0 disables)
  on validate, redeem, stacks, holds, best offers and claims → `429 rate_limited`.
* Guess lockout: every answer saying a code does not exist (`unknown_code`) counts one failed
  guess per unknown code against (key, customer_id) — or (key, no customer) for anonymous
  calls, which share one, larger budget (`PROMO_GUESS_LIMIT_ANONYMOUS`): one typing shopper
  must not lock a whole shop's anonymous checkout. With `PROMO_GUESS_LIMIT` failures inside
  `PROMO_GUESS_WINDOW_SECONDS`, further look-ups of codes in that scope are refused
  (`429 too_many_failed_guesses`) until the oldest of them leaves the window. Successes do not
  reset the count: a guesser mixes valid codes in. The key identifies the merchant.
* Both answer `Retry-After` in whole seconds.

What a guess is worth: the default code spec (`domain.codes.CodeSpec`) draws 8 characters from a
32-character alphabet: 32^8 = 1,099,511,627,776 codes (40 bits). With n live codes a random
well-formed guess hits with probability n / 32^8: 9.1e-9 for 10,000 codes, 9.1e-7 for 1,000,000.
The lockout allows 20 guesses per 10 minutes per (key, customer): 2,880 a day, so for 10,000
codes about 2.6e-5 expected hits per customer identity per day (one in ~100 years). A key holder
who invents a new customer id per guess is bounded by the rate limit instead (500/s:
0.39 expected hits a day for 10,000 codes), so checkout keys belong on servers, never in browsers.
`CodeSpec.check_room_for` only guarantees n ≤ space / 1,000 (p ≤ 1e-3 per guess): campaigns
with millions of codes should use longer codes (12 characters: 60 bits).

State is in-process: with N API processes the effective limits are N times the settings (a shared
store, e.g. PostgreSQL or Redis, is future work). Windows use `time.monotonic` (tests inject
`now`).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from application.access import well_formed
from domain.api_key import hash_secret
from infrastructure.settings import Settings
from interfaces.http.problems import PROBLEM_TYPE
from interfaces.http.security import presented_key

UNKNOWN_CODE = "unknown_code"
MAX_TRACKED = 100_000  # keys or guess scopes kept; beyond, expired (then oldest) ones are dropped
MAX_CAPTURE = 4 * 1024 * 1024  # a response larger than this is not inspected for unknown codes

# POST routes the rate limit applies to (checkout traffic).
RATE_LIMITED = re.compile(
    r"^/v1/(validations|redemptions|stack-validations|stack-redemptions|best-offers|holds"
    r"|campaigns/[^/]+/claims)$")
# Routes whose answers say whether a code exists: (method, path pattern).
GUESSABLE = (
    ("POST", re.compile(r"^/v1/(validations|redemptions|stack-validations|stack-redemptions|holds)$")),
    ("GET", re.compile(r"^/v1/vouchers/[^/]+$")),
    ("POST", re.compile(r"^/v1/vouchers/[^/]+/(assignment|link)$")),
    ("GET", re.compile(r"^/v1/partner-codes/[^/]+(/qr\.[a-z]+)?$")),
)

Scope = tuple[str, str | None]  # (key hash, customer id or None)


@dataclass(frozen=True)
class Limits:
    rate_per_second: float = 500.0  # 0: no rate limit
    burst: int = 1000
    guess_limit: int = 20  # 0: no lockout
    guess_limit_anonymous: int = 200
    guess_window_seconds: float = 600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.rate_limit_per_second, settings.rate_limit_burst, settings.guess_limit,
                   settings.guess_limit_anonymous, settings.guess_window_seconds)


class Throttle:
    """Token buckets per key and failed-guess windows per scope; `now` is a monotonic clock."""

    def __init__(self, limits: Limits, now: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._failures: dict[Scope, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the key may call now (a token is taken), else the seconds until it may."""
        rate, burst = self.limits.rate_per_second, self.limits.burst
        if rate <= 0:
            return 0.0
        now = self.now()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - at) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                self._bound(self._buckets, lambda v: v[0] + (now - v[1]) * rate >= burst)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate

    def locked(self, scope: Scope) -> float:
        """0 when the scope may look codes up, else the seconds until its oldest failure expires."""
        limit = self._limit(scope)
        if limit <= 0:
            return 0.0
        now = self.now()
        with self._lock:
            failures = self._failures.get(scope)
            if failures is None:
                return 0.0
            self._expire(failures, now)
            if len(failures) < limit:
                return 0.0
            return failures[0] + self.limits.guess_window_seconds - now

    def failed(self, scope: Scope, count: int = 1) -> None:
        """Record `count` answers that a code does not exist."""
        limit = self._limit(scope)
        if limit <= 0 or count <= 0:
            return
        now = self.now()
        with self._lock:
            failures = self._failures.get(scope)
            if failures is None:
                failures = self._failures[scope] = deque(maxlen=limit)
                expired = now - self.limits.guess_window_seconds
                self._bound(self._failures, lambda v: not v or v[-1] <= expired)
            failures.extend([now] * min(count, limit))

    def _limit(self, scope: Scope) -> int:
        return self.limits.guess_limit if scope[1] is not None else self.limits.guess_limit_anonymous

    def _expire(self, failures: deque[float], now: float) -> None:
        while failures and failures[0] <= now - self.limits.guess_window_seconds:
            failures.popleft()

    @staticmethod
    def _bound(table: dict[Any, Any], idle: Callable[[Any], bool]) -> None:
        """Keep a table under MAX_TRACKED: drop idle entries, then the oldest."""
        if len(table) <= MAX_TRACKED:
            return
        for name in [name for name, value in table.items() if idle(value)]:
            del table[name]
        for name in list(table)[: max(0, len(table) - MAX_TRACKED // 2)]:
            del table[name]


def unknown_codes(document: Any) -> int:
    """How many codes an answer says do not exist (a problem without items counts one)."""
    codes: set[str] = set()
    flagged = False

    def walk(node: Any) -> None:
        nonlocal flagged
        if isinstance(node, dict):
            reasons = node.get("reasons")
            code = node.get("code")
            if isinstance(reasons, list) and any(
                    isinstance(r, dict) and r.get("code") == UNKNOWN_CODE for r in reasons):
                flagged = True
                if isinstance(code, str) and code != UNKNOWN_CODE:
                    codes.add(code)
            elif code == UNKNOWN_CODE:
                flagged = True
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return len(codes) or int(flagged)


def too_many(code: str, detail: str, wait: float) -> JSONResponse:
    seconds = max(1, math.ceil(wait))
    body = {"type": f"urn:promoledger:problem:{code}", "title": "Too many requests", "status": 429,
            "code": code, "detail": detail, "retry_after": seconds}
    return JSONResponse(body, status_code=429, media_type=PROBLEM_TYPE,
                        headers={"Retry-After": str(seconds)})


class ThrottleMiddleware:
    """ASGI middleware: refuses over-limit calls before any work, and counts unknown-code answers."""

    def __init__(self, app: Any, throttle: Throttle, max_body_bytes: int) -> None:
        self.app = app
        self.throttle = throttle
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if not throttled(method, path):
            await self.app(scope, receive, send)
            return
        limited = method == "POST" and RATE_LIMITED.match(path) is not None
        guessable = any(method == m and pattern.match(path) for m, pattern in GUESSABLE)
        secret = presented_key(_headers(scope))
        if secret is None or not well_formed(secret):
            await self.app(scope, receive, send)  # not ours to count: authentication refuses it
            return
        key = hash_secret(secret)
        if limited and (wait := self.throttle.take(key)):
            await too_many("rate_limited", "this API key is over its request rate; retry after "
                           "Retry-After seconds", wait)(scope, receive, send)
            return
        if not guessable:
            await self.app(scope, receive, send)
            return
        body, receive = await _peek(receive, self.max_body_bytes) if method == "POST" else (b"", receive)
        where: Scope = (key, _customer(body))
        if wait := self.throttle.locked(where):
            await too_many("too_many_failed_guesses", "too many unknown codes were tried; retry "
                           "after Retry-After seconds", wait)(scope, receive, send)
            return
        await self.app(scope, receive, self._counting(send, where))

    def _counting(self, send: Any, where: Scope) -> Any:
        """`send`, counting the unknown codes in a JSON answer before its last part goes out."""
        parts: list[bytes] = []
        json_answer = False

        async def counting_send(message: Any) -> None:
            nonlocal json_answer
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                json_answer = b"json" in content_type
            elif message["type"] == "http.response.body" and json_answer:
                parts.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._count(b"".join(parts), where)
                elif sum(map(len, parts)) > MAX_CAPTURE:
                    json_answer = False
                    parts.clear()
            await send(message)

        return counting_send

    def _count(self, body: bytes, where: Scope) -> None:
        if b'"unknown_code"' not in body:
            return
        try:
            self.throttle.failed(where, unknown_codes(json.loads(body)))
        except ValueError:
            return


def _headers(scope: Any) -> Mapping[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])}


async def _peek(receive: Any, limit: int) -> tuple[bytes, Any]:
    """Read the request body (up to `limit` bytes) and a `receive` that hands it on unchanged."""
    messages: list[Any] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > limit:
            break
    complete = messages[-1]["type"] == "http.request" and not messages[-1].get("more_body", False)
    body = b"".join(m.get("body", b"") for m in messages) if complete and size <= limit else b""
    pending = iter(messages)

    async def replay() -> Any:
        for message in pending:
            return message
        return await receive()

    return body, replay


def _customer(body: bytes) -> str | None:
    if b"customer_id" not in body:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    customer = document.get("customer_id") if isinstance(document, dict) else None
    return customer if isinstance(customer, str) and customer else None


def throttled(method: str, path: str) -> bool:
    """Whether a route (or a request path) is rate limited or counts failed guesses."""
    return (method == "POST" and RATE_LIMITED.match(path) is not None) or any(
        method == m and pattern.match(path) for m, pattern in GUESSABLE)


TOO_MANY = {
    "description": "Too many requests: `rate_limited` (this key's rate) or "
                   "`too_many_failed_guesses` (unknown codes tried by this key and customer)",
    "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
    "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def install(app: FastAPI, settings: Settings) -> Throttle:
    """Add the middleware and document its 429s; the Throttle is also `app.state.throttle`
    (tests move its clock)."""
    throttle = Throttle(Limits.from_settings(settings))
    app.state.throttle = throttle
    app.add_middleware(ThrottleMiddleware, throttle=throttle, max_body_bytes=settings.max_body_bytes)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # cached by FastAPI after the first call, with our additions
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                if throttled(method.upper(), path):
                    operation.setdefault("responses", {}).setdefault("429", TOO_MANY)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    return throttle
