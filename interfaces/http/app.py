"""The FastAPI application: routers, error handling, body limits, projection lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from infrastructure.bootstrap import Container
from interfaces.http import dashboard, observability, problems, security, throttle
from interfaces.http.routers import (
    audit,
    campaigns,
    customer_facts,
    customers,
    distribution,
    fraud,
    holds,
    keys,
    merchant,
    points,
    pools,
    redemptions,
    reports,
    vouchers,
    webhooks,
    workflows,
)

DESCRIPTION = """Event-sourced promotions: campaigns, vouchers, redemptions, wallets.

Authenticate with `Authorization: Bearer <API key>` (or `X-Api-Key`). Every command accepts an
`Idempotency-Key`; every command answer carries the ledger `position` of its last event, which
queries take as `min_position` to read their own writes. Errors are `application/problem+json`
with a stable `code`. Money is integer minor units with an ISO 4217 currency."""


def create_app(container: Container, *, run_projections: bool = True,
               run_automation: bool = False) -> FastAPI:
    """The API over `container`; with `run_projections`, read models update in this process;
    with `run_automation` (`promo serve`), workflows, webhooks and scheduled jobs run here too."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_projections:
            container.start_projections()
        if run_automation:
            container.start_automation()
        yield
        if run_automation:
            container.automation.stop()
        if run_projections:
            container.projections.stop()

    app = FastAPI(title="PromoLedger", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.container = container
    problems.install(app)
    for module in (campaigns, vouchers, redemptions, holds, customers, points, pools, merchant, audit,
                   customer_facts, workflows, webhooks, distribution, fraud, reports, keys):
        app.include_router(module.router)
    app.include_router(dashboard.router)

    @app.get("/healthz", tags=["system"])
    def healthz() -> dict[str, Any]:
        """The process is up."""
        return {"status": "ok"}

    app.add_middleware(problems.BodyLimit, max_bytes=container.settings.max_body_bytes,
                       uploads={suffix: container.settings.max_upload_bytes
                                for suffix in pools.UPLOAD_SUFFIXES})
    throttle.install(app, container.settings)  # per-key rate limits, guess lockout
    security.install_cors(app, container.settings)  # closed unless PROMO_CORS_ORIGINS
    observability.install(app, container)  # last: its middleware wraps every other one
    return app
