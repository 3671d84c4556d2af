"""API keys: every route names the roles it admits; admin is admitted everywhere. CORS."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from application.commands import Actor
from infrastructure.bootstrap import Container
from infrastructure.settings import Settings
from interfaces.http.problems import ApiError

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="or the key in X-Api-Key")


def container(request: Request) -> Container:
    app_container: Container = request.app.state.container
    return app_container


Services = Annotated[Container, Depends(container)]


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request presents (lower-case header names): `Authorization: Bearer`, else
    `X-Api-Key` — the same choice the guards make, for middleware that runs before them."""
    scheme, credentials = get_authorization_scheme_param(headers.get("authorization"))
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return headers.get("x-api-key") or None


def requires(*roles: str) -> Callable[..., Actor]:
    """A dependency admitting keys whose role is one of `roles` (or admin)."""
    admitted = {"admin", *roles}

    def guard(
        request: Request,
        services: Services,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header_key: Annotated[str | None, Depends(_header)],
    ) -> Actor:
        secret = bearer.credentials if bearer is not None else header_key
        if not secret:
            raise ApiError(401, "unauthenticated", "an API key is required",
                           {"WWW-Authenticate": "Bearer"})
        actor = services.access.authenticate(secret)
        if actor is None:
            raise ApiError(401, "unauthenticated", "the API key is not valid",
                           {"WWW-Authenticate": "Bearer"})
        request.state.merchant = actor.merchant_id  # for the access log (observability)
        if actor.role not in admitted:
            raise ApiError(403, "forbidden",
                           f"role {actor.role!r} may not do this; needs one of {sorted(admitted)}")
        return actor

    return guard


Admin = Annotated[Actor, Depends(requires())]
Operations = Annotated[Actor, Depends(requires("operations"))]
Checkout = Annotated[Actor, Depends(requires("checkout"))]
Support = Annotated[Actor, Depends(requires("support"))]
Assigner = Annotated[Actor, Depends(requires("operations", "checkout"))]
Reader = Annotated[Actor, Depends(requires("operations", "support", "reporting", "auditor"))]
VoucherReader = Annotated[Actor, Depends(requires("operations", "support", "checkout", "auditor"))]
WalletReader = Annotated[Actor, Depends(requires("checkout", "support", "reporting", "auditor"))]
Auditor = Annotated[Actor, Depends(requires("auditor"))]


# Browsers may send only these with a cross-origin call; answers expose these to scripts.
CORS_HEADERS = ["Authorization", "X-Api-Key", "Idempotency-Key", "Content-Type", "X-Request-Id"]
CORS_EXPOSED = ["X-Promo-Position", "Idempotent-Replayed", "Retry-After", "X-Request-Id"]


def install_cors(app: FastAPI, settings: Settings) -> None:
    """CORS is closed unless `PROMO_CORS_ORIGINS` lists origins: only those get
    Access-Control-Allow-Origin (no cookies: keys travel in headers)."""
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=CORS_HEADERS, expose_headers=CORS_EXPOSED, max_age=600)
