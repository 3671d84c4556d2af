"""The webhook contract: which ledger events are published, under which type, with which data."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.domain import Aggregate

from application.ledger import Ledger
from domain.campaign import Campaign
from domain.customer import Customer, CustomerOrder
from domain.pool import CodePool
from domain.redemption import Redemption
from domain.stock_watch import StockWatch
from domain.voucher import Voucher
from domain.workflow import WorkflowRun

EVENT_NAMESPACE = uuid.UUID("0c3c2b1e-5f5d-4c36-9d43-6f1f3b6a1d2e")
CAMPAIGN_EVENTS = {Campaign.Activated: "campaign.activated", Campaign.Ended: "campaign.ended",
                   Campaign.Disabled: "campaign.disabled"}
Public = tuple[str, str, dict[str, Any]]  # merchant, event type, data


def event_id(e: Any) -> str:
    """A stable public ID for a ledger event: receivers de-duplicate by it."""
    return "evt_" + uuid.uuid5(EVENT_NAMESPACE, f"{e.originator_id}/{e.originator_version}").hex


class Publisher:
    """Which ledger events are published, as what, with which data (the webhook contract)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.mappers: dict[type, Callable[[Any], Public | None]] = {
            Customer.Registered: lambda e: (e.merchant_id, "customer.registered", {
                "customer_id": e.customer_id, "email": e.email, "birthday": e.birthday,
                "attributes": e.attributes}),
            CustomerOrder.Completed: lambda e: (e.merchant_id, "order.completed", {
                "order_id": e.order_id, "customer_id": e.customer_id, "amount": e.amount,
                "currency": e.currency, "store_id": e.store_id, "channel": e.channel}),
            CustomerOrder.Returned: self._order_returned,
            Voucher.Issued: lambda e: None if e.holder is None else (e.merchant_id, "voucher.assigned", {
                "code": e.code, "customer_id": e.holder, "campaign_id": str(e.campaign_id)}),
            Voucher.Assigned: self._voucher_assigned,
            Redemption.Recorded: lambda e: (e.merchant_id, "voucher.redeemed", {
                "redemption_id": str(e.originator_id), "code": e.code, "customer_id": e.customer_id,
                "campaign_id": str(e.campaign_id), "discount": e.discount, "currency": e.currency,
                "order_id": e.order.get("id")}),
            Redemption.Reversed: self._reversed,
            CodePool.LowStock: self._pool_low_stock,
            StockWatch.Alerted: self._campaign_low_stock,
            WorkflowRun.Completed: lambda e: (e.merchant_id, "workflow.completed", {
                "workflow": e.workflow_key, "revision": e.revision, "customer_id": e.customer_id,
                "trigger": e.trigger, "results": e.results, "delivery": e.delivery}),
        }
        for cls, name in CAMPAIGN_EVENTS.items():
            self.mappers[cls] = self._campaign_mapper(name)
        self.topics = tuple(self.mappers)

    def publish(self, e: Any) -> Public | None:
        mapper = self.mappers.get(type(e))
        return None if mapper is None else mapper(e)

    def _owner(self, aggregate_id: uuid.UUID) -> Any:
        return self.ledger.read(aggregate_id, Aggregate)

    def _order_returned(self, e: CustomerOrder.Returned) -> Public:
        order = self._owner(e.originator_id)
        return (order.merchant_id, "order.returned", {"order_id": order.order_id,
                "customer_id": order.customer_id, "amount": e.amount, "reason": e.reason})

    def _voucher_assigned(self, e: Voucher.Assigned) -> Public:
        voucher = self._owner(e.originator_id)
        return (voucher.merchant_id, "voucher.assigned", {
            "code": e.code, "customer_id": e.customer_id, "campaign_id": str(e.campaign_id)})

    def _reversed(self, e: Redemption.Reversed) -> Public:
        redemption = self._owner(e.originator_id)
        return (redemption.merchant_id, "redemption.reversed", {
            "redemption_id": str(e.originator_id), "reason": e.reason, "discount": e.discount,
            "campaign_id": str(e.campaign_id)})

    def _campaign_mapper(self, name: str) -> Callable[[Any], Public | None]:
        def publish(e: Any) -> Public | None:
            return self._campaign(e, name)
        return publish

    def _campaign(self, e: Any, name: str) -> Public:
        campaign = self._owner(e.originator_id)
        return (campaign.merchant_id, name, {"campaign_id": str(e.originator_id), "key": campaign.key})

    def _pool_low_stock(self, e: CodePool.LowStock) -> Public:
        pool = self._owner(e.originator_id)
        return (pool.merchant_id, "pool.low_stock", {"campaign_key": pool.campaign_key,
                "remaining": e.remaining, "threshold": e.threshold})

    def _campaign_low_stock(self, e: StockWatch.Alerted) -> Public:
        watch = self._owner(e.originator_id)
        return (watch.merchant_id, "campaign.low_stock", {"campaign_key": e.campaign_key,
                "remaining": e.remaining, "threshold": e.threshold})
