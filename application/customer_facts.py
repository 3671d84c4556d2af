"""Customer and order facts (D2): registrations, completed and returned orders enter the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from domain.clock import iso
from domain.customer import Customer, CustomerOrder
from domain.errors import AlreadyExists, NotFound


def customer_view(c: Customer) -> dict[str, Any]:
    return {"customer_id": c.customer_id, "birthday": c.birthday, "registered_at": iso(c.created_on)}


def order_view(o: CustomerOrder) -> dict[str, Any]:
    return {"order_id": o.order_id, "customer_id": o.customer_id, "amount": o.amount,
            "currency": o.currency, "returned": o.returned, "completed_at": iso(o.created_on)}


class CustomerFactsService:
    """Checkout and e-commerce systems report what customers did; workflows react to it."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger) -> None:
        self.executor = executor
        self.ledger = ledger

    def register_customer(self, actor: Actor, customer_id: str, *, email: str | None = None,
                          birthday: str | None = None, attributes: dict[str, Any] | None = None,
                          idempotency_key: str | None = None) -> CommandResult:
        merchant = actor.merchant_id

        def decide(at: datetime) -> Outcome:
            if self.ledger.find(Customer.id_for(merchant, customer_id), Customer) is not None:
                raise AlreadyExists(f"customer {customer_id!r} is registered", code="customer_exists")
            customer = Customer.register(merchant, customer_id, at, email=email, birthday=birthday,
                                         attributes=attributes)
            return Outcome(201, customer_view(customer), (customer,))

        payload = {"customer_id": customer_id, "email": email, "birthday": birthday,
                   "attributes": attributes}
        return self.executor.run(actor=actor, operation="register_customer", payload=payload,
                                 decide=decide, idempotency_key=idempotency_key,
                                 lock_key=Customer.id_for(merchant, customer_id))

    def complete_order(self, actor: Actor, order_id: str, *, customer_id: str | None, amount: int,
                       currency: str, store_id: str | None = None, channel: str | None = None,
                       idempotency_key: str | None = None) -> CommandResult:
        merchant = actor.merchant_id

        def decide(at: datetime) -> Outcome:
            if self.ledger.find(CustomerOrder.id_for(merchant, order_id), CustomerOrder) is not None:
                raise AlreadyExists(f"order {order_id!r} is recorded", code="order_exists")
            order = CustomerOrder.complete(merchant, order_id, at, customer_id=customer_id, amount=amount,
                                           currency=currency, store_id=store_id, channel=channel)
            return Outcome(201, order_view(order), (order,))

        payload = {"order_id": order_id, "customer_id": customer_id, "amount": amount,
                   "currency": currency, "store_id": store_id, "channel": channel}
        return self.executor.run(actor=actor, operation="complete_order", payload=payload, decide=decide,
                                 idempotency_key=idempotency_key,
                                 lock_key=CustomerOrder.id_for(merchant, order_id))

    def return_order(self, actor: Actor, order_id: str, amount: int | None, reason: str,
                     idempotency_key: str | None = None) -> CommandResult:
        merchant = actor.merchant_id

        def decide(at: datetime) -> Outcome:
            order = self.ledger.find(CustomerOrder.id_for(merchant, order_id), CustomerOrder)
            if order is None:
                raise NotFound(f"no order {order_id!r}", code="order_not_found")
            order.return_items(amount, reason, at)
            return Outcome(200, order_view(order), (order,))

        return self.executor.run(actor=actor, operation="return_order",
                                 payload={"order_id": order_id, "amount": amount, "reason": reason},
                                 decide=decide, idempotency_key=idempotency_key,
                                 lock_key=CustomerOrder.id_for(merchant, order_id))
