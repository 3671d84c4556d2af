"""Every error is application/problem+json with a stable machine-readable `code` (RFC 9457)."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
STATUS_BY_KIND = {"invalid": 422, "not_found": 404, "conflict": 409, "unavailable": 503,
                  "forbidden": 403, "unauthenticated": 401}
TITLES = {400: "Bad request", 401: "Unauthenticated", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
          415: "Unsupported media type", 422: "Unprocessable request", 500: "Internal error",
          503: "Service unavailable"}
STANDARD_FIELDS = frozenset({"type", "title", "status", "code", "detail"})
STORE_DOWN = (OperationalError, InterfaceError, psycopg.OperationalError, sqlite3.OperationalError)


class ApiError(Exception):
    """An interface-level refusal (authentication, role, payload size)."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers or {}


def problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    extra = {k: v for k, v in extra.items() if k not in STANDARD_FIELDS}
    body = {"type": f"urn:promoledger:problem:{code}", "title": TITLES.get(status, "Error"),
            "status": status, "code": code, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a problem document."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        status = STATUS_BY_KIND.get(exc.kind, 409)
        headers = {"Retry-After": "1"} if status == 503 else None
        return problem(status, exc.code, exc.detail, headers, **_jsonable(exc.extra))

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(400, "malformed_json", "the body is not valid JSON", errors=errors)
        return problem(422, "invalid_request", "the request does not match the schema", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
                400: "bad_request"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    for exc_type in STORE_DOWN:
        app.add_exception_handler(exc_type, _store_down)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem(500, "internal_error", "an unexpected error occurred; it has been logged")


async def _store_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("store unavailable: %s", exc)
    return problem(503, "store_unavailable", "the database is unavailable; retry shortly",
                   {"Retry-After": "1"})


def _jsonable(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool, list, dict, type(None))) else str(v)
            for k, v in extra.items()}


class BodyLimit:
    """ASGI middleware: refuse bodies over `max_bytes` (declared or streamed) with 413, and URLs
    carrying NUL (%00) with 400 — PostgreSQL text cannot hold it, so a path or query value with
    one would fail in the store, not as a 4xx.

    `uploads` maps path suffixes (file upload routes) to their own, larger limit.
    """

    def __init__(self, app: Any, max_bytes: int, uploads: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads or {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            await problem(400, "invalid_character", "the URL carries a NUL character (%00)")(
                scope, receive, send)
            return
        limit = next((size for suffix, size in self.uploads.items()
                      if scope["path"].endswith(suffix)), self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await problem(400, "invalid_content_length", "Content-Length is not a number")(
                scope, receive, send)
            return
        if declared is not None and int(declared) > limit:
            await problem(413, "payload_too_large", f"bodies are limited to {limit} bytes")(
                scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                # FastAPI passes HTTPException raised while reading a body through unchanged.
                raise StarletteHTTPException(413, f"bodies are limited to {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)
