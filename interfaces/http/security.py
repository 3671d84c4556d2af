"""API keys: every route names the roles it admits; admin is admitted everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from application.commands import Actor
from infrastructure.bootstrap import Container
from interfaces.http.problems import ApiError

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="or the key in X-Api-Key")


def container(request: Request) -> Container:
    app_container: Container = request.app.state.container
    return app_container


Services = Annotated[Container, Depends(container)]


def requires(*roles: str) -> Callable[..., Actor]:
    """A dependency admitting keys whose role is one of `roles` (or admin)."""
    admitted = {"admin", *roles}

    def guard(
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
