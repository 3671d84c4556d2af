"""Request and response models of customer facts, workflows, webhooks and distribution (D1-D3)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from interfaces.http.schemas import Strict

Ref = Field(min_length=1, max_length=128)


# -- customer and order facts ------------------------------------------------------------------

class RegistrationIn(Strict):
    email: str | None = Field(None, max_length=320)
    birthday: str | None = Field(None, description="YYYY-MM-DD", max_length=10)
    attributes: dict[str, Any] = Field(default_factory=dict)


class CustomerOut(BaseModel):
    customer_id: str
    birthday: str | None
    registered_at: str | None
    position: int | None = None


class OrderIn(Strict):
    id: str = Ref
    customer_id: str | None = Field(None, min_length=1, max_length=128)
    amount: int = Field(strict=True, description="minor units")
    currency: str = Field(min_length=3, max_length=3)
    store_id: str | None = Field(None, max_length=128)
    channel: str | None = Field(None, description="online or offline")


class OrderReturnIn(Strict):
    amount: int | None = Field(None, strict=True, description="minor units; default: what is left")
    reason: str = Field(min_length=1, max_length=500)


class OrderOut(BaseModel):
    order_id: str
    customer_id: str | None
    amount: int
    currency: str
    returned: int
    completed_at: str | None
    position: int | None = None


# -- workflows -----------------------------------------------------------------------------------

class WorkflowIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    trigger: dict[str, Any] = Field(description="customer_registered | order_completed (min_amount, "
                                    "currency, store_id, channel) | points_threshold (program, threshold, "
                                    "category) | date (birthday | after_registration, days) | "
                                    "voucher_redeemed (campaign)")
    effects: list[dict[str, Any]] = Field(description="assign_voucher | place_offer (campaign) | "
                                          "credit_points (program, points, category, kind)")
    delivery: dict[str, Any] | None = Field(None, description='{"channel": "webhook", "subscription": KEY}')


class WorkflowOut(BaseModel):
    key: str
    name: str
    status: str
    revision: int
    defined_at: str | None
    trigger: dict[str, Any]
    effects: list[dict[str, Any]]
    delivery: dict[str, Any] | None
    position: int | None = None


class WorkflowListOut(BaseModel):
    items: list[WorkflowOut]


class WorkflowRunOut(BaseModel):
    run_id: str
    workflow_key: str
    revision: int
    customer_id: str
    trigger_ref: str
    trigger_type: str
    effects_ok: int
    effects_refused: int
    results: list[dict[str, Any]]
    position: int
    ran_at: str


class WorkflowRunsOut(BaseModel):
    items: list[WorkflowRunOut]
    next_cursor: str | None


# -- webhooks ------------------------------------------------------------------------------------

class WebhookCreate(Strict):
    key: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=1, max_length=2000)
    event_types: list[str] = Field(min_length=1, max_length=50, description="'*' or event types")
    secret: str | None = Field(None, min_length=24, max_length=256,
                               description="your own signing secret; one is generated without it")


class WebhookUpdate(Strict):
    url: str | None = Field(None, min_length=1, max_length=2000)
    event_types: list[str] | None = Field(None, min_length=1, max_length=50)
    active: bool | None = None


class WebhookOut(BaseModel):
    key: str
    url: str
    event_types: list[str]
    active: bool
    version: int
    created_at: str | None
    position: int | None = None


class WebhookListOut(BaseModel):
    items: list[WebhookOut]


class SecretOut(BaseModel):
    key: str
    secret: str
    version: int


class AttemptOut(BaseModel):
    attempt: int
    started_at: str
    outcome: str
    status_code: int | None
    error: str | None
    duration_ms: int | None
    finished_at: str | None


class DeliveryOut(BaseModel):
    delivery_id: str
    subscription_key: str
    event_id: str
    event_type: str
    event_position: int
    status: str
    attempts: int
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None
    position: int


class DeliveryDetailOut(DeliveryOut):
    attempt_log: list[AttemptOut]


class DeliveriesOut(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class ReplayOut(BaseModel):
    id: str
    status: str
    next_attempt_at: str | None
    position: int | None = None


# -- distribution ----------------------------------------------------------------------------------

class DistributionIn(Strict):
    batch: str = Field(min_length=1, max_length=64, description="names this distribution: retries reuse it")
    customers: list[str] = Field(min_length=1, max_length=10_000)


class DistributionLine(BaseModel):
    customer_id: str
    status: str
    code: str | None = None
    voucher_id: str | None = None
    reason: str | None = None
    detail: str | None = None


class DistributionOut(BaseModel):
    campaign_key: str
    batch: str
    assigned: int
    refused: int
    lines: list[DistributionLine]


class ExportIn(Strict):
    batch: str = Field(min_length=1, max_length=64, description="the same batch again: the same codes")
    count: int = Field(strict=True, ge=1, le=10_000)


class StockAlertIn(Strict):
    threshold: int = Field(strict=True, ge=0, le=10**12, description="alert below this; 0 = off")


class StockAlertOut(BaseModel):
    campaign_key: str
    threshold: int
    alerted: bool
    remaining: int | None
    position: int | None = None
