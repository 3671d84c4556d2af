"""Operating the service: /readyz, Prometheus /metrics, request ids and access logs.

`install` adds the two routes and the outermost middleware, which gives every request an id
(`X-Request-Id`, echoed back), times it into a histogram labelled by route template, and
writes one access log line. Redemptions, rejections and conflict retries are counted from the
command executor's observers; projection lag is read from the store at scrape time.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import re
import sqlite3
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel

from application.commands import CommandResult
from infrastructure.bootstrap import Container
from infrastructure.logging import REQUEST_ID
from infrastructure.store import is_postgres, sqlite_path
from interfaces.http.problems import STORE_DOWN, problem
from interfaces.http.schemas import Problem
from interfaces.http.security import presented_key

log = logging.getLogger(__name__)
access_log = logging.getLogger("promoledger.access")

SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})  # logged at debug: they come every few seconds
UNMATCHED = "unmatched"  # the route label of requests no route matched: raw paths would explode it
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # others: "other"
REDEEMING = frozenset({"redeem", "redeem_stack", "confirm_hold"})  # operations that record redemptions
STORE_ERRORS = (*STORE_DOWN, PersistenceError, psycopg.Error, sqlite3.Error, OSError, TimeoutError)


# --- readiness: the store answers, and the read models keep up -------------------------------

@dataclass(frozen=True)
class Lag:
    """How far one read model is behind the ledger: events not yet applied, and the oldest one's age."""

    projection: str
    events: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"projection": self.projection, "lag_events": self.events,
                "lag_seconds": round(self.seconds, 3)}


def projection_lags(container: Container) -> list[Lag]:
    """Every projection's lag, from the tracking table and the ledger head (a few small queries)."""
    head = container.ledger.head()
    with container.db.transaction() as tx:
        stored = {r["name"]: int(r["position"])
                  for r in tx.query("SELECT name, position FROM projection_tracking")}
    now = container.clock()
    ages: dict[int, float] = {}  # read models mostly share a position: one look-up each
    lags = []
    for name in container.projections.runners:
        position = min(stored.get(name, 0), head)
        if position < head and position not in ages:
            ages[position] = _age_of_next_event(container, position, now)
        lags.append(Lag(name, head - position, ages.get(position, 0.0)))
    return lags


def _age_of_next_event(container: Container, position: int, now: Any) -> float:
    notifications = container.ledger.recorder.select_notifications(position + 1, 1)
    if not notifications:
        return 0.0
    event: Any = container.ledger.mapper.to_domain_event(notifications[0])
    return max(0.0, float((now - event.timestamp).total_seconds()))


async def ping_store(url: str, timeout: float) -> None:
    """Raise unless the database answers a trivial query: on a connection of its own, never
    through the library's pool, whose recorder retries and waits for a connection."""
    if is_postgres(url):
        connection = await psycopg.AsyncConnection.connect(
            url, connect_timeout=max(2, math.ceil(timeout)), autocommit=True)
        async with connection:
            await connection.execute("SELECT 1")
        return
    await anyio.to_thread.run_sync(_ping_sqlite, url, timeout, abandon_on_cancel=True)


def _ping_sqlite(url: str, timeout: float) -> None:
    uri = Path(sqlite_path(url)).resolve().as_uri() + "?mode=ro"  # never creates the file
    with closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as connection:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()


class Health:
    """What /readyz and /metrics know of the store, each answer bounded by the ready timeout."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.settings = container.settings
        self._down = False

    async def lags(self) -> list[Lag] | None:
        """Every read model's lag, or None when the store does not answer in time."""
        try:
            async with asyncio.timeout(self.settings.ready_timeout_seconds):
                await ping_store(self.settings.database_url, self.settings.ready_timeout_seconds)
                lags = await anyio.to_thread.run_sync(projection_lags, self.container,
                                                      abandon_on_cancel=True)
        except STORE_ERRORS as exc:
            if not self._down:  # once per outage, not once per probe
                log.warning("store unavailable to readiness checks: %s: %s", type(exc).__name__, exc)
            self._down = True
            return None
        if self._down:
            log.info("store available again")
        self._down = False
        return lags

    def lagging(self, lags: list[Lag]) -> list[Lag]:
        return [lag for lag in lags if lag.events > self.settings.ready_max_lag_events
                or lag.seconds > self.settings.ready_max_lag_seconds]


class LagOut(BaseModel):
    projection: str
    lag_events: int
    lag_seconds: float


class ReadyOut(BaseModel):
    status: str
    projections: list[LagOut]


# --- metrics ---------------------------------------------------------------------------------

class Metrics:
    """The service's metrics in a registry of their own: apps built in one process never clash."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Histogram("promo_http_request_duration_seconds", "HTTP requests by route template",
                                  ("method", "route", "status"), registry=registry)
        self.redemptions = Counter("promo_redemptions", "Redemption attempts recorded, by outcome",
                                   ("outcome",), registry=registry)
        self.rejections = Counter("promo_rejections", "Rejected redemptions, by their first reason",
                                  ("reason",), registry=registry)
        self.conflicts = Counter("promo_command_conflict_retries",
                                 "Commands decided again after a version conflict", ("operation",),
                                 registry=registry)
        self.lag_events = Gauge("promo_projection_lag_events", "Ledger events a read model has not applied",
                                ("projection",), registry=registry)
        self.lag_seconds = Gauge("promo_projection_lag_seconds",
                                 "Age of the oldest ledger event a read model has not applied",
                                 ("projection",), registry=registry)
        self.store_up = Gauge("promo_store_up", "1 when the database answered the last scrape",
                              registry=registry)
        for outcome in ("redeemed", "rejected"):
            self.redemptions.labels(outcome)

    def conflict(self, operation: str) -> None:
        self.conflicts.labels(operation).inc()

    def command(self, operation: str, result: CommandResult) -> None:
        """Count the redemptions and rejections a command recorded (a stack records several)."""
        if operation not in REDEEMING:
            return
        body = result.body
        items = body.get("redemptions", body.get("rejections", [body]))
        for item in items:
            if item.get("status") == "redeemed":
                self.redemptions.labels("redeemed").inc()
            elif item.get("status") == "rejected":
                self.redemptions.labels("rejected").inc()
                reasons = item.get("reasons") or [{"code": "unknown"}]
                self.rejections.labels(reasons[0]["code"]).inc()

    def set_lags(self, lags: list[Lag] | None) -> None:
        self.store_up.set(0 if lags is None else 1)
        self.lag_events.clear()  # unknown while the store is away: no stale values
        self.lag_seconds.clear()
        for lag in lags or []:
            self.lag_events.labels(lag.projection).set(lag.events)
            self.lag_seconds.labels(lag.projection).set(lag.seconds)


# --- request ids, timing, access log ---------------------------------------------------------

class Observe:
    """ASGI middleware (outermost): request id in and out, duration by route, one access log line."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        state = scope.setdefault("state", {})  # the dict routes see as request.state
        status, started = 500, time.perf_counter()

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = _route_template(scope)
            self.metrics.requests.labels(method, route, str(status)).observe(elapsed)
            access_log.log(logging.DEBUG if route in PROBES else logging.INFO,
                           "%s %s %s", method, route, status,
                           extra={"method": method, "route": route, "status": status,
                                  "duration_ms": round(elapsed * 1000, 2),
                                  "merchant": state.get("merchant")})
        # Not in `finally`: an error escaping here is logged by the outermost handler (a 500),
        # and that line must carry the id too; the request's task ends with it either way.
        REQUEST_ID.reset(token)


def _route_template(scope: Any) -> str:
    """The matched route's path template: FastAPI's routes name themselves in the scope, plain
    Starlette ones (/metrics, /docs) only their endpoint."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    endpoint = scope.get("endpoint")
    if endpoint is not None:
        for candidate in scope["app"].routes:
            if getattr(candidate, "endpoint", None) is endpoint:
                return str(candidate.path)
    return UNMATCHED


def _request_id(scope: Any) -> str:
    """The caller's X-Request-Id when it is sane (≤ 64 of A-Z a-z 0-9 . _ -), else a fresh one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


# --- the routes ------------------------------------------------------------------------------

def install(app: FastAPI, container: Container) -> None:
    """/readyz, /metrics, and the observing middleware — call it last, so it wraps every other one."""
    metrics, health = Metrics(), Health(container)
    container.executor.on_conflict.append(metrics.conflict)
    container.executor.on_completed.append(metrics.command)
    token = container.settings.metrics_token

    @app.get("/readyz", tags=["system"], response_model=ReadyOut,
             responses={503: {"model": Problem, "content": {"application/problem+json": {}}}})
    async def readyz() -> Any:
        """The database answers and every read model is within the lag bounds (503 otherwise)."""
        lags = await health.lags()
        if lags is None:
            return problem(503, "store_unavailable", "the database did not answer in time",
                           {"Retry-After": "5"}, check="store")
        lagging = health.lagging(lags)
        if lagging:
            return problem(503, "projections_lagging", "read models are behind the ledger beyond the bound",
                           {"Retry-After": "5"}, check="projections",
                           lagging=[lag.as_dict() for lag in lagging])
        return {"status": "ready", "projections": [lag.as_dict() for lag in lags]}

    async def metrics_endpoint(request: Request) -> Response:
        if token is not None and not hmac.compare_digest(
                (presented_key(request.headers) or "").encode(), token.get_secret_value().encode()):
            return problem(401, "unauthenticated", "the metrics token is required",
                           {"WWW-Authenticate": "Bearer"})
        metrics.set_lags(await health.lags())
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(Observe, metrics=metrics)

