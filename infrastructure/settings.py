"""Settings from the environment (PROMO_*), validated once at start."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/promoledger.db"


class Settings(BaseSettings):
    """Every knob the service reads; `PROMO_DATABASE_URL` picks SQLite or PostgreSQL."""

    model_config = SettingsConfigDict(env_prefix="PROMO_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "info"
    # `promo serve` logs one JSON object per line (json) or plain text lines (text).
    log_format: Literal["json", "text"] = "json"
    # /readyz: the database answers within the timeout, and no read model lags beyond the bounds.
    ready_timeout_seconds: float = Field(default=1.0, gt=0, le=10)
    ready_max_lag_events: int = Field(default=10_000, ge=0)
    ready_max_lag_seconds: float = Field(default=60.0, ge=0)
    # /metrics is open on the bind address (Prometheus' usual); set a token to require Bearer auth.
    metrics_token: SecretStr | None = None
    # Largest request body accepted; larger ones get 413 before anything is parsed.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # File uploads (partner code lists): 64 MiB holds ~3,000,000 20-character codes.
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # How long a query with min_position waits for its projection to catch up.
    read_wait_seconds: float = Field(default=5.0, ge=0, le=60)
    # Projection runners poll this often when no in-process save woke them.
    projection_poll_seconds: float = Field(default=0.05, gt=0, le=10)
    projection_batch_size: int = Field(default=500, ge=1, le=10_000)
    postgres_pool_size: int = Field(default=10, ge=1)
    postgres_max_overflow: int = Field(default=20, ge=0)
    # Seconds a request waits for a pooled connection per attempt (3 attempts): with the
    # database away a request answers 503 within ~3 times this.
    postgres_connect_timeout: int = Field(default=2, ge=1, le=60)
    seed_demo: bool = True
    # C2: template codes are merchant id + YYYYMMDD + a per-day serial this wide (it widens past it).
    template_serial_width: int = Field(default=3, ge=1, le=9)
    # Automation in `promo serve`: workflow and webhook policies, webhook delivery, scheduled jobs.
    automation: bool = True
    scheduler_tick_seconds: float = Field(default=30.0, gt=0, le=3600)
    policy_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    # Retries wait base, 2·base, 4·base … seconds, at most the cap.
    webhook_backoff_seconds: float = Field(default=30.0, gt=0, le=86_400)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0, le=7 * 86_400)
    # How far back date triggers look for occurrences missed while the service was down.
    job_catch_up_days: int = Field(default=7, ge=0, le=366)
    # Security (issues 7, 8): per-key token bucket on checkout routes (0 disables), and the lockout
    # after unknown-code answers per (key, customer) — anonymous calls share one larger budget.
    rate_limit_per_second: float = Field(default=500.0, ge=0)
    rate_limit_burst: int = Field(default=1000, ge=1)
    guess_limit: int = Field(default=20, ge=0)
    guess_limit_anonymous: int = Field(default=200, ge=0)
    guess_window_seconds: float = Field(default=600.0, gt=0, le=86_400)
    # CORS is closed by default; comma-separated origins (https://shop.example) open it to those.
    cors_origins: str = ""

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("PROMO_DATABASE_URL must start with sqlite:// or postgresql://")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.lower()
        if value not in ("critical", "error", "warning", "info", "debug"):
            raise ValueError("PROMO_LOG_LEVEL: critical, error, warning, info or debug")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",") if o.strip()):
            if origin != "*" and not re.fullmatch(r"https?://[^/\s,]+", origin):
                raise ValueError(f"PROMO_CORS_ORIGINS: {origin!r} is not scheme://host[:port]")
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
