"""Workflows (D2) as configured data: TRIGGER + conditions → EFFECTS → optional DELIVERY.

A merchant's workflows live in one `WorkflowBook` (they change rarely, and the policy that
runs them reads them all for every triggering event). Each time a workflow fires, one
`WorkflowRun` records what it did; its ID derives from the workflow and the triggering fact,
so a trigger fires a workflow at most once, whoever processes it and however often.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, InvalidTransition, NotFound
from domain.ids import derive_id
from domain.money import check_amount, check_currency

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TRIGGERS = ("customer_registered", "order_completed", "points_threshold", "date", "voucher_redeemed")
DATE_KINDS = ("birthday", "after_registration")
EFFECTS = ("assign_voucher", "place_offer", "credit_points")
MAX_EFFECTS = 10


@dataclass(frozen=True)
class TriggerFacts:
    """What happened, in the terms triggers test: who, and the numbers conditions look at."""

    type: str
    merchant_id: str
    customer_id: str
    at: datetime
    amount: int | None = None
    currency: str | None = None
    store_id: str | None = None
    channel: str | None = None
    program: str | None = None
    category: str | None = None
    balance_before: int | None = None
    balance_after: int | None = None
    campaign_key: str | None = None
    order_id: str | None = None


def _opt_str(spec: dict[str, Any], name: str) -> str | None:
    value = spec.get(name)
    if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 128):
        raise InvalidInput(f"trigger.{name} must be a string", code="invalid_workflow", field=name)
    return value


def check_trigger(spec: dict[str, Any]) -> dict[str, Any]:
    """A trigger's normalised form; refuses unknown types and malformed conditions."""
    kind = spec.get("type")
    if kind not in TRIGGERS:
        raise InvalidInput(f"trigger.type must be one of {', '.join(TRIGGERS)}", code="invalid_trigger")
    if kind == "order_completed":
        currency = spec.get("currency")
        return {"type": kind, "min_amount": check_amount(spec.get("min_amount", 0), "min_amount"),
                "currency": None if currency is None else check_currency(currency),
                "store_id": _opt_str(spec, "store_id"), "channel": _opt_str(spec, "channel")}
    if kind == "points_threshold":
        threshold = spec.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise InvalidInput("trigger.threshold must be a positive integer", code="invalid_trigger")
        return {"type": kind, "program": _required(spec, "program"), "threshold": threshold,
                "category": spec.get("category") or "regular"}
    if kind == "date":
        date_kind = spec.get("date")
        if date_kind not in DATE_KINDS:
            raise InvalidInput("trigger.date is birthday or after_registration", code="invalid_trigger")
        days = spec.get("days", 0 if date_kind == "birthday" else None)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3660:
            raise InvalidInput("trigger.days must be 0..3660", code="invalid_trigger")
        return {"type": kind, "date": date_kind, "days": days}
    if kind == "voucher_redeemed":
        return {"type": kind, "campaign": _opt_str(spec, "campaign")}
    return {"type": kind}


def check_effect(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec.get("type")
    if kind not in EFFECTS:
        raise InvalidInput(f"effect.type must be one of {', '.join(EFFECTS)}", code="invalid_effect")
    if kind == "credit_points":
        points = spec.get("points")
        if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= 10**9:
            raise InvalidInput("effect.points must be 1..10^9", code="invalid_effect")
        return {"type": kind, "program": _required(spec, "program"), "points": points,
                "category": spec.get("category") or "regular", "kind": spec.get("kind") or "allocation"}
    return {"type": kind, "campaign": _required(spec, "campaign")}


def _required(spec: dict[str, Any], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise InvalidInput(f"{name} is required", code="invalid_workflow", field=name)
    return value


def check_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """Name, trigger, 1-10 effects and an optional delivery, normalised."""
    name = definition.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
        raise InvalidInput("name must be 1-200 characters", code="invalid_workflow", field="name")
    effects = definition.get("effects")
    if not isinstance(effects, list) or not 1 <= len(effects) <= MAX_EFFECTS:
        raise InvalidInput(f"effects: 1-{MAX_EFFECTS} of them", code="invalid_workflow", field="effects")
    delivery = definition.get("delivery")
    if delivery is not None:
        if not isinstance(delivery, dict) or delivery.get("channel") != "webhook":
            raise InvalidInput("delivery.channel must be webhook", code="invalid_delivery")
        subscription = delivery.get("subscription")
        if subscription is not None and not isinstance(subscription, str):
            raise InvalidInput("delivery.subscription names a subscription", code="invalid_delivery")
        delivery = {"channel": "webhook", "subscription": subscription,
                    "template": str(delivery.get("template") or "")[:200]}
    return {"name": name.strip(), "trigger": check_trigger(dict(definition.get("trigger") or {})),
            "effects": [check_effect(dict(e)) for e in effects], "delivery": delivery}


def trigger_matches(trigger: dict[str, Any], facts: TriggerFacts) -> bool:
    """Whether this fact fires a workflow with this (normalised) trigger. Pure."""
    if trigger["type"] != facts.type:
        return False
    if facts.type == "order_completed":
        return bool((facts.amount or 0) >= trigger["min_amount"]
                    and trigger["currency"] in (None, facts.currency)
                    and trigger["store_id"] in (None, facts.store_id)
                    and trigger["channel"] in (None, facts.channel))
    if facts.type == "points_threshold":
        before, after = facts.balance_before or 0, facts.balance_after or 0
        return bool(trigger["program"] == facts.program and trigger["category"] == facts.category
                    and before < trigger["threshold"] <= after)
    if facts.type == "voucher_redeemed":
        return bool(trigger["campaign"] in (None, facts.campaign_key))
    return True


class WorkflowBook(Aggregate):
    """One merchant's workflows: definitions, revisions, paused or active."""

    class Started(Aggregate.Created):
        merchant_id: str

        def apply(self, book: WorkflowBook) -> None:
            book.merchant_id = self.merchant_id

    class Defined(Aggregate.Event):
        merchant_id: str
        key: str
        definition: dict[str, Any]
        by: str

        def apply(self, book: WorkflowBook) -> None:
            old = book.workflows.get(self.key)
            book.workflows[self.key] = {
                "key": self.key, "definition": self.definition, "status": "active",
                "revision": 1 if old is None else old["revision"] + 1,
                "defined_at": self.timestamp if old is None else old["defined_at"],
            }

    class Paused(Aggregate.Event):
        key: str
        by: str

        def apply(self, book: WorkflowBook) -> None:
            book.workflows[self.key]["status"] = "paused"

    class Resumed(Aggregate.Event):
        key: str
        by: str

        def apply(self, book: WorkflowBook) -> None:
            book.workflows[self.key]["status"] = "active"

    def __init__(self) -> None:
        self.merchant_id = ""
        self.workflows: dict[str, dict[str, Any]] = {}

    @staticmethod
    def id_for(merchant_id: str) -> UUID:
        return derive_id(merchant_id, "workflows", "book")

    @classmethod
    def start(cls, merchant_id: str, at: datetime) -> WorkflowBook:
        return cls._create(cls.Started, id=cls.id_for(merchant_id), merchant_id=merchant_id, timestamp=at)

    def define(self, key: str, definition: dict[str, Any], by: str, at: datetime) -> None:
        """Define a workflow, or revise it (it fires with the new definition from now on)."""
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidInput("key: 1-64 of A-Z a-z 0-9 _ . -", code="invalid_workflow_key")
        self.trigger_event(self.Defined, merchant_id=self.merchant_id, key=key,
                           definition=check_definition(definition), by=by, timestamp=at)

    def pause(self, key: str, by: str, at: datetime) -> None:
        if self.require(key)["status"] == "paused":
            raise InvalidTransition("the workflow is paused already", code="invalid_transition")
        self.trigger_event(self.Paused, key=key, by=by, timestamp=at)

    def resume(self, key: str, by: str, at: datetime) -> None:
        if self.require(key)["status"] == "active":
            raise InvalidTransition("the workflow is active already", code="invalid_transition")
        self.trigger_event(self.Resumed, key=key, by=by, timestamp=at)

    def require(self, key: str) -> dict[str, Any]:
        found = self.workflows.get(key)
        if found is None:
            raise NotFound(f"no workflow {key!r}", code="workflow_not_found")
        return found

    def firing(self, facts: TriggerFacts) -> list[dict[str, Any]]:
        """Active workflows, defined before the fact happened, whose trigger it matches."""
        return [w for w in self.workflows.values()
                if w["status"] == "active" and w["defined_at"] <= facts.at
                and trigger_matches(w["definition"]["trigger"], facts)]


class WorkflowRun(Aggregate):
    """One firing of one workflow for one trigger: what each effect did, and the delivery."""

    class Completed(Aggregate.Created):
        merchant_id: str
        workflow_key: str
        revision: int
        trigger_ref: str
        trigger: dict[str, Any]
        customer_id: str
        results: list[dict[str, Any]]
        delivery: dict[str, Any] | None

        def apply(self, run: WorkflowRun) -> None:
            run.merchant_id = self.merchant_id
            run.results = self.results

    def __init__(self) -> None:
        self.merchant_id = ""
        self.results: list[dict[str, Any]] = []

    @staticmethod
    def id_for(merchant_id: str, workflow_key: str, trigger_ref: str) -> UUID:
        return derive_id(merchant_id, "workflow-run", f"{workflow_key}/{trigger_ref}")

    @classmethod
    def complete(cls, merchant_id: str, workflow: dict[str, Any], trigger_ref: str,
                 trigger: dict[str, Any], customer_id: str, results: list[dict[str, Any]],
                 at: datetime) -> WorkflowRun:
        return cls._create(
            cls.Completed, id=cls.id_for(merchant_id, workflow["key"], trigger_ref),
            merchant_id=merchant_id, workflow_key=workflow["key"], revision=workflow["revision"],
            trigger_ref=trigger_ref, trigger=trigger, customer_id=customer_id, results=results,
            delivery=workflow["definition"]["delivery"], timestamp=at,
        )
