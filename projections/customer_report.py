"""Customer 360 (A3) figures from the redemption log's rows of one customer (an index range)."""

from __future__ import annotations

from typing import Any

from infrastructure.database import Tx
from projections.report_queries import campaign_rows


def customer_summary(tx: Tx, merchant_id: str, customer_id: str, favourites: int
                     ) -> dict[str, Any]:
    """From the redemption log's rows of one customer (an index range): counts, favourite
    campaigns (most redemptions still in force) and the discount received, per currency."""
    in_force = "status IN ('redeemed', 'partially_reversed')"
    counts = {r["status"]: int(r["n"]) for r in tx.query(
        "SELECT status, COUNT(*) AS n FROM redemption_log WHERE merchant_id=? AND customer_id=? "
        "GROUP BY status", (merchant_id, customer_id))}
    lifetime = tx.query(f"SELECT currency, SUM(discount) AS amount FROM redemption_log WHERE merchant_id=? "
                        f"AND customer_id=? AND {in_force} GROUP BY currency ORDER BY currency",
                        (merchant_id, customer_id))
    top = tx.query(f"SELECT campaign_id, currency, COUNT(*) AS n, SUM(discount) AS discount, "
                   f"MAX(occurred_at) AS last_at FROM redemption_log WHERE merchant_id=? AND customer_id=? "
                   f"AND {in_force} GROUP BY campaign_id, currency "
                   f"ORDER BY COUNT(*) DESC, SUM(discount) DESC, MAX(occurred_at) DESC, campaign_id LIMIT ?",
                   (merchant_id, customer_id, favourites))
    names = campaign_rows(tx, merchant_id, [r["campaign_id"] for r in top])
    registered = tx.one("SELECT registered_at FROM customers WHERE merchant_id=? AND customer_id=?",
                        (merchant_id, customer_id))
    return {
        "registered_at": registered["registered_at"] if registered else None,
        "redemption_counts": counts,
        "lifetime_discount": [{"currency": r["currency"], "amount": int(r["amount"])} for r in lifetime],
        "favourite_campaigns": [
            {"campaign_id": r["campaign_id"],
             "key": names[r["campaign_id"]]["key"] if r["campaign_id"] in names else None,
             "name": names[r["campaign_id"]]["name"] if r["campaign_id"] in names else None,
             "redemptions": int(r["n"]), "discount": int(r["discount"]), "currency": r["currency"],
             "last_redeemed_at": r["last_at"]} for r in top],
    }
