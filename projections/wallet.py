"""Customer wallet (W1, V7): the vouchers each customer holds, their state and validity.

Partner codes bought from a pool sit beside our own vouchers, with the partner's code
(what the store scans), our internal code and the status (sold, then redeemed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.campaign import Campaign
from domain.clock import iso
from domain.pool import CodeStatus, PartnerCode
from domain.voucher import Voucher
from infrastructure.database import Tx
from projections.base import Handler, Projection
from projections.campaign_stats import STATUS_EVENTS


class Wallet(Projection):
    name = "wallet"
    version = 4  # 2: linked codes (V6); 3: a voucher's own validity window; 4: campaign cards (C10)
    tables = {
        "wallet_vouchers": (
            "merchant_id TEXT NOT NULL, voucher_id TEXT NOT NULL, customer_id TEXT NOT NULL, "
            "code TEXT NOT NULL, campaign_id TEXT NOT NULL, redemption_limit BIGINT, "
            "redemption_count BIGINT NOT NULL, assigned_at TEXT NOT NULL, linked BIGINT NOT NULL, "
            "own_valid_from TEXT, own_valid_until TEXT, "
            "PRIMARY KEY (merchant_id, voucher_id)"
        ),
        "wallet_campaigns": (
            "merchant_id TEXT NOT NULL, campaign_id TEXT NOT NULL, key TEXT NOT NULL, "
            "name TEXT NOT NULL, status TEXT NOT NULL, starts_at TEXT, ends_at TEXT, "
            "description TEXT NOT NULL, image_url TEXT, redirect_url TEXT, "
            "PRIMARY KEY (merchant_id, campaign_id)"
        ),
        "wallet_partner_codes": (
            "merchant_id TEXT NOT NULL, code_id TEXT NOT NULL, customer_id TEXT NOT NULL, "
            "partner_code TEXT NOT NULL, internal_code TEXT NOT NULL, campaign_id TEXT NOT NULL, "
            "status TEXT NOT NULL, sold_at TEXT NOT NULL, PRIMARY KEY (merchant_id, code_id)"
        ),
    }
    indexes = ("CREATE INDEX IF NOT EXISTS wallet_vouchers_customer "
               "ON wallet_vouchers (merchant_id, customer_id, assigned_at)",
               "CREATE INDEX IF NOT EXISTS wallet_partner_codes_customer "
               "ON wallet_partner_codes (merchant_id, customer_id, sold_at)")

    def handlers(self) -> dict[type, Handler]:
        handlers: dict[type, Handler] = {
            Campaign.Created: self._campaign_terms,
            Campaign.Revised: self._campaign_terms,
            Voucher.Issued: self._issued,
            Voucher.Assigned: self._assigned,
            Voucher.Redeemed: lambda e, tx, _: self._count(tx, e, +1),
            Voucher.RedemptionReversed: lambda e, tx, _: self._count(tx, e, -1),
            Voucher.Withdrawn: lambda e, tx, _: tx.execute(
                "DELETE FROM wallet_vouchers WHERE voucher_id=?", (str(e.originator_id),)),
            PartnerCode.Sold: self._partner_sold,
            PartnerCode.Redeemed: self._partner_redeemed,
        }
        for event_class in STATUS_EVENTS:
            handlers[event_class] = self._status
        return handlers

    def _campaign_terms(self, e: Any, tx: Tx, _: int) -> None:
        terms = e.terms
        key = getattr(e, "key", None)
        card = (terms.get("description", ""), terms.get("image_url"), terms.get("redirect_url"))
        if key is not None:  # Created; internal remarks are never copied here
            tx.execute("INSERT INTO wallet_campaigns VALUES (?,?,?,?,'draft',?,?,?,?,?)",
                       (e.merchant_id, str(e.originator_id), key, terms["name"],
                        iso(terms.get("starts_at")), iso(terms.get("ends_at")), *card))
        else:
            tx.execute("UPDATE wallet_campaigns SET name=?, status='draft', starts_at=?, ends_at=?, "
                       "description=?, image_url=?, redirect_url=? WHERE campaign_id=?",
                       (terms["name"], iso(terms.get("starts_at")), iso(terms.get("ends_at")), *card,
                        str(e.originator_id)))

    def _status(self, e: Any, tx: Tx, _: int) -> None:
        tx.execute("UPDATE wallet_campaigns SET status=? WHERE campaign_id=?",
                   (STATUS_EVENTS[type(e)], str(e.originator_id)))

    def _issued(self, e: Voucher.Issued, tx: Tx, _: int) -> None:
        if e.holder is not None:
            self._hold(tx, e, e.merchant_id, e.holder)

    def _assigned(self, e: Voucher.Assigned, tx: Tx, _: int) -> None:
        merchant = tx.one("SELECT merchant_id FROM wallet_campaigns WHERE campaign_id=?",
                          (str(e.campaign_id),))
        self._hold(tx, e, merchant["merchant_id"] if merchant else "", e.customer_id)

    @staticmethod
    def _hold(tx: Tx, e: Any, merchant_id: str, customer_id: str) -> None:
        tx.execute("INSERT INTO wallet_vouchers VALUES (?,?,?,?,?,?,0,?,?,?,?)",
                   (merchant_id, str(e.originator_id), customer_id, e.code, str(e.campaign_id),
                    e.redemption_limit, iso(e.timestamp), 1 if getattr(e, "linked", False) else 0,
                    iso(getattr(e, "valid_from", None)), iso(getattr(e, "valid_until", None))))

    @staticmethod
    def _partner_sold(e: PartnerCode.Sold, tx: Tx, _: int) -> None:
        if e.customer_id is not None:
            tx.execute("INSERT INTO wallet_partner_codes VALUES (?,?,?,?,?,?,'sold',?)",
                       (e.merchant_id, str(e.originator_id), e.customer_id, e.code, e.internal_code,
                        str(e.campaign_id), iso(e.timestamp)))

    @staticmethod
    def _partner_redeemed(e: PartnerCode.Redeemed, tx: Tx, _: int) -> None:
        tx.execute("UPDATE wallet_partner_codes SET status = 'redeemed' WHERE code_id = ?",
                   (str(e.originator_id),))

    @staticmethod
    def _count(tx: Tx, e: Any, delta: int) -> None:
        tx.execute("UPDATE wallet_vouchers SET redemption_count = redemption_count + ? "
                   "WHERE voucher_id=?", (delta, str(e.originator_id)))


def wallet(tx: Tx, merchant_id: str, customer_id: str, now: datetime) -> list[dict[str, Any]]:
    rows = tx.query(
        "SELECT v.*, c.key, c.name, c.status, c.starts_at, c.ends_at, c.description, c.image_url, "
        "c.redirect_url FROM wallet_vouchers v "
        "JOIN wallet_campaigns c ON c.merchant_id = v.merchant_id AND c.campaign_id = v.campaign_id "
        "WHERE v.merchant_id=? AND v.customer_id=? ORDER BY v.assigned_at, v.code",
        (merchant_id, customer_id),
    )
    partner_rows = tx.query(
        "SELECT p.*, c.key, c.name, c.status AS campaign_status, c.starts_at, c.ends_at "
        "FROM wallet_partner_codes p JOIN wallet_campaigns c "
        "ON c.merchant_id = p.merchant_id AND c.campaign_id = p.campaign_id "
        "WHERE p.merchant_id=? AND p.customer_id=?", (merchant_id, customer_id))
    now_text = iso(now) or ""
    items = [_voucher(row, now_text) for row in rows]
    items += [_partner_code(row, now_text) for row in partner_rows]
    return sorted(items, key=lambda v: (v["assigned_at"], v["code"]))


def _validity(row: dict[str, Any], campaign_status: str, used_up: bool, now: str) -> dict[str, Any]:
    """The window a code really works in: its own (from its claim), within the campaign's."""
    starts = [t for t in (row["starts_at"], row.get("own_valid_from")) if t is not None]
    ends = [t for t in (row["ends_at"], row.get("own_valid_until")) if t is not None]
    valid_from, valid_until = max(starts, default=None), min(ends, default=None)
    expired = campaign_status == "ended" or (valid_until is not None and now >= valid_until)
    started = valid_from is None or now >= valid_from
    return {"valid_from": valid_from, "valid_until": valid_until, "expired": expired,
            "usable_now": not used_up and campaign_status == "active" and started and not expired}


def _partner_code(row: dict[str, Any], now: str) -> dict[str, Any]:
    redeemed = row["status"] == CodeStatus.REDEEMED
    return {
        "voucher_id": row["code_id"], "code": row["partner_code"], "state": row["status"],
        "source": "partner", "status": row["status"], "partner_code": row["partner_code"],
        "internal_code": row["internal_code"],
        "redemption_count": int(redeemed), "redemption_limit": 1,
        "campaign": {"id": row["campaign_id"], "key": row["key"], "name": row["name"],
                     "status": row["campaign_status"]},
        **_validity(row, row["campaign_status"], redeemed, now),
        "assigned_at": row["sold_at"],
    }


def _voucher(row: dict[str, Any], now: str) -> dict[str, Any]:
    limit, count = row["redemption_limit"], int(row["redemption_count"])
    exhausted = limit is not None and count >= int(limit)
    return {
        "voucher_id": row["voucher_id"], "code": row["code"],
        "state": "redeemed" if exhausted else "assigned",
        "source": "platform", "status": "redeemed" if exhausted else "open",
        "linked": bool(row["linked"]),
        "redemption_count": count, "redemption_limit": limit,
        "campaign": {"id": row["campaign_id"], "key": row["key"], "name": row["name"],
                     "status": row["status"], "description": row["description"],
                     "image_url": row["image_url"], "redirect_url": row["redirect_url"]},
        **_validity(row, row["status"], exhausted, now),
        "assigned_at": row["assigned_at"],
    }
