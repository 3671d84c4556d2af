"""Customer and order facts (D2): registrations, completed and returned orders, as ledger events.

Checkout and e-commerce systems tell the ledger what happened to a customer; workflows react
to these facts, and because they are events they can be replayed and audited like the rest.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, InvalidTransition
from domain.ids import derive_id
from domain.money import check_amount, check_currency

REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")


def check_ref(value: str, field: str) -> str:
    """Customer and order ids: 1-128 of A-Z a-z 0-9 _ . : @ -, starting alphanumeric."""
    if not isinstance(value, str) or not REF_PATTERN.fullmatch(value):
        raise InvalidInput(f"{field}: 1-128 of A-Z a-z 0-9 _ . : @ -", code="invalid_reference",
                           field=field)
    return value


def check_birthday(value: str | None) -> str | None:
    """A birthday as YYYY-MM-DD (the year may be a placeholder such as 1904)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise InvalidInput("birthday must be YYYY-MM-DD", code="invalid_birthday") from None



class Customer(Aggregate):
    """A registered customer of one merchant: the fact workflows and date triggers start from."""

    class Registered(Aggregate.Created):
        merchant_id: str
        customer_id: str
        email: str | None
        birthday: str | None
        attributes: dict[str, Any]

        def apply(self, customer: Customer) -> None:
            customer.merchant_id = self.merchant_id
            customer.customer_id = self.customer_id
            customer.birthday = self.birthday

    def __init__(self) -> None:
        self.merchant_id = ""
        self.customer_id = ""
        self.birthday: str | None = None

    @staticmethod
    def id_for(merchant_id: str, customer_id: str) -> UUID:
        return derive_id(merchant_id, "customer", customer_id)

    @classmethod
    def register(cls, merchant_id: str, customer_id: str, at: datetime, *, email: str | None = None,
                 birthday: str | None = None, attributes: dict[str, Any] | None = None) -> Customer:
        if email is not None and (len(email) > 320 or "@" not in email):
            raise InvalidInput("email is not an address", code="invalid_email")
        return cls._create(
            cls.Registered, id=cls.id_for(merchant_id, customer_id), merchant_id=merchant_id,
            customer_id=check_ref(customer_id, "customer_id"), email=email,
            birthday=check_birthday(birthday), attributes=dict(attributes or {}), timestamp=at,
        )


class CustomerOrder(Aggregate):
    """An order a customer completed (and may return, in part or in full)."""

    class Completed(Aggregate.Created):
        merchant_id: str
        order_id: str
        customer_id: str | None
        amount: int
        currency: str
        store_id: str | None
        channel: str | None

        def apply(self, order: CustomerOrder) -> None:
            order.merchant_id = self.merchant_id
            order.order_id = self.order_id
            order.customer_id = self.customer_id
            order.amount = self.amount
            order.currency = self.currency

    class Returned(Aggregate.Event):
        amount: int
        reason: str

        def apply(self, order: CustomerOrder) -> None:
            order.returned += self.amount

    def __init__(self) -> None:
        self.merchant_id = ""
        self.order_id = ""
        self.customer_id: str | None = None
        self.amount = 0
        self.currency = ""
        self.returned = 0

    @staticmethod
    def id_for(merchant_id: str, order_id: str) -> UUID:
        return derive_id(merchant_id, "order", order_id)

    @classmethod
    def complete(cls, merchant_id: str, order_id: str, at: datetime, *, customer_id: str | None,
                 amount: int, currency: str, store_id: str | None = None,
                 channel: str | None = None) -> CustomerOrder:
        if channel not in (None, "online", "offline"):
            raise InvalidInput("channel is online or offline", code="invalid_channel")
        return cls._create(
            cls.Completed, id=cls.id_for(merchant_id, order_id), merchant_id=merchant_id,
            order_id=check_ref(order_id, "order_id"),
            customer_id=None if customer_id is None else check_ref(customer_id, "customer_id"),
            amount=check_amount(amount, "amount"), currency=check_currency(currency), store_id=store_id,
            channel=channel, timestamp=at,
        )

    def return_items(self, amount: int | None, reason: str, at: datetime) -> None:
        """Return `amount` (default: all that is not returned yet), with a reason."""
        left = self.amount - self.returned
        amount = left if amount is None else check_amount(amount, "amount")
        if amount <= 0 or amount > left:
            raise InvalidTransition(f"only {left} of the order is left to return",
                                    code="return_exceeds_order", remaining=left)
        reason = reason.strip()
        if not reason or len(reason) > 500:
            raise InvalidInput("a reason of 1-500 characters is required", code="reason_required")
        self.trigger_event(self.Returned, amount=amount, reason=reason, timestamp=at)
