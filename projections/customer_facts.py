"""Customers and their orders (D2): who registered when, birthdays, orders and returns."""

from __future__ import annotations

from domain.clock import iso
from domain.customer import Customer, CustomerOrder
from infrastructure.database import Tx
from projections.base import Handler, Projection, dumps


class CustomerFacts(Projection):
    name = "customer_facts"
    tables = {
        "customers": (
            "merchant_id TEXT NOT NULL, customer_id TEXT NOT NULL, email TEXT, birthday TEXT, "
            "birthday_md TEXT, attributes TEXT NOT NULL, registered_at TEXT NOT NULL, "
            "PRIMARY KEY (merchant_id, customer_id)"
        ),
        "customer_orders": (
            "merchant_id TEXT NOT NULL, order_id TEXT NOT NULL, customer_id TEXT, amount BIGINT NOT NULL, "
            "currency TEXT NOT NULL, store_id TEXT, channel TEXT, returned BIGINT NOT NULL, "
            "completed_at TEXT NOT NULL, order_ref TEXT NOT NULL, PRIMARY KEY (merchant_id, order_id)"
        ),
    }
    # Date triggers look customers up by birthday and by registration time.
    indexes = (
        "CREATE INDEX IF NOT EXISTS customer_orders_ref ON customer_orders (order_ref)",
        "CREATE INDEX IF NOT EXISTS customers_birthday ON customers (merchant_id, birthday_md)",
        "CREATE INDEX IF NOT EXISTS customers_registered ON customers (merchant_id, registered_at)",
    )

    def handlers(self) -> dict[type, Handler]:
        return {
            Customer.Registered: self._registered,
            CustomerOrder.Completed: self._completed,
            CustomerOrder.Returned: self._returned,
        }

    def _registered(self, e: Customer.Registered, tx: Tx, _: int) -> None:
        tx.execute("INSERT INTO customers VALUES (?,?,?,?,?,?,?)",
                   (e.merchant_id, e.customer_id, e.email, e.birthday,
                    e.birthday[5:] if e.birthday else None, dumps(e.attributes), iso(e.timestamp)))

    def _completed(self, e: CustomerOrder.Completed, tx: Tx, _: int) -> None:
        tx.execute("INSERT INTO customer_orders VALUES (?,?,?,?,?,?,?,0,?,?)",
                   (e.merchant_id, e.order_id, e.customer_id, e.amount, e.currency, e.store_id,
                    e.channel, iso(e.timestamp), str(e.originator_id)))

    def _returned(self, e: CustomerOrder.Returned, tx: Tx, _: int) -> None:
        tx.execute("UPDATE customer_orders SET returned = returned + ? WHERE order_ref = ?",
                   (e.amount, str(e.originator_id)))
