"""Report queries (A1-A3): small GROUP BYs over the campaign report's pre-aggregated cells.

Money is summed per currency: a campaign has one, so every breakdown row names the currency of
the campaigns it adds up (a main campaign whose sub-campaigns differ in currency gets a row each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from infrastructure.database import Tx
from projections.campaign_report import FIGURES

SUMS = ", ".join(f"SUM({f}) AS {f}" for f in FIGURES)
Figures = dict[str, int]


@dataclass(frozen=True)
class Days:
    """An inclusive range of the merchant's local days as ISO text; None is open."""

    since: str | None = None
    until: str | None = None

    def where(self, column: str = "day") -> tuple[str, list[Any]]:
        sql, params = "", list[Any]()
        if self.since is not None:
            sql, params = f"{sql} AND {column} >= ?", [*params, self.since]
        if self.until is not None:
            sql, params = f"{sql} AND {column} <= ?", [*params, self.until]
        return sql, params


def zone(tx: Tx, merchant_id: str) -> str:
    row = tx.one("SELECT timezone FROM campaign_report_zones WHERE merchant_id=?", (merchant_id,))
    return "UTC" if row is None else str(row["timezone"])


def campaign_rows(tx: Tx, merchant_id: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = list(ids)
    if not ids:
        return {}
    rows = tx.query(f"SELECT * FROM campaign_report_campaigns WHERE merchant_id=? AND campaign_id IN "
                    f"({_marks(ids)})", (merchant_id, *ids))
    return {row["campaign_id"]: row for row in rows}


def family(tx: Tx, merchant_id: str, campaign_id: str, rollup: bool) -> list[dict[str, Any]]:
    """The campaign first, then (with `rollup`) its sub-campaigns by key; [] when unknown."""
    head = tx.one("SELECT * FROM campaign_report_campaigns WHERE merchant_id=? AND campaign_id=?",
                  (merchant_id, campaign_id))
    if head is None:
        return []
    subs = tx.query("SELECT * FROM campaign_report_campaigns WHERE merchant_id=? AND parent_id=? "
                    "ORDER BY key", (merchant_id, campaign_id)) if rollup else []
    return [head, *subs]


def campaign_report(tx: Tx, merchant_id: str, campaign_id: str, rollup: bool, days: Days
                    ) -> dict[str, Any] | None:
    """One campaign (with its sub-campaigns) over `days`: totals and every breakdown."""
    campaigns = family(tx, merchant_id, campaign_id, rollup)
    if not campaigns:
        return None
    currency = {c["campaign_id"]: c["currency"] for c in campaigns}
    ids = list(currency)
    where, params = days.where()
    daily = tx.query(f"SELECT * FROM campaign_report_days WHERE merchant_id=? "
                     f"AND campaign_id IN ({_marks(ids)}){where}", (merchant_id, *ids, *params))
    split = tx.query(f"SELECT campaign_id, dim, value, {SUMS} FROM campaign_report_cells "
                     f"WHERE merchant_id=? AND campaign_id IN ({_marks(ids)}) "
                     f"AND dim IN ('store', 'channel'){where} GROUP BY campaign_id, dim, value",
                     (merchant_id, *ids, *params))
    reasons = rejections(tx, merchant_id, ids, days)
    per_campaign = _merge(daily, lambda r: (r["campaign_id"],))
    by_campaign = [_campaign_line(c, per_campaign.get((c["campaign_id"],), _zero()),
                                  reasons.get(c["campaign_id"], {})) for c in campaigns]
    return {
        "campaign": _campaign_ref(campaigns[0]),
        "sub_campaigns": len(campaigns) - 1,
        **_stock(campaigns),
        "totals": _lines(_merge(daily, lambda r: (currency[r["campaign_id"]],)), ("currency",)),
        "rejections_by_reason": _reason_totals(reasons.values()),
        "by_campaign": by_campaign,
        "by_store": _lines(_merge([r for r in split if r["dim"] == "store"],
                                  lambda r: (r["value"] or None, currency[r["campaign_id"]])),
                           ("store_id", "currency")),
        "by_channel": _lines(_merge([r for r in split if r["dim"] == "channel"],
                                    lambda r: (r["value"] or None, currency[r["campaign_id"]])),
                             ("channel", "currency")),
        "by_day": _lines(_merge(daily, lambda r: (r["day"], currency[r["campaign_id"]])),
                         ("day", "currency")),
    }


def main_campaigns(tx: Tx, merchant_id: str, days: Days, limit: int, after: str | None
                   ) -> list[dict[str, Any]]:
    """A page of main campaigns (those without a parent) by key, each rolled up with its subs."""
    sql, params = "SELECT * FROM campaign_report_campaigns WHERE merchant_id=? AND parent_id IS NULL", [
        merchant_id]
    if after is not None:
        sql, params = f"{sql} AND key > ?", [*params, after]
    heads = tx.query(f"{sql} ORDER BY key LIMIT ?", [*params, limit])
    if not heads:
        return []
    head_ids = [h["campaign_id"] for h in heads]
    subs = tx.query(f"SELECT * FROM campaign_report_campaigns WHERE merchant_id=? AND parent_id IN "
                    f"({_marks(head_ids)})", (merchant_id, *head_ids))
    main_of = {c["campaign_id"]: c["parent_id"] or c["campaign_id"] for c in (*heads, *subs)}
    currency = {c["campaign_id"]: c["currency"] for c in (*heads, *subs)}
    where, wparams = days.where()
    ids = list(main_of)
    sums = tx.query(f"SELECT campaign_id, {SUMS} FROM campaign_report_days WHERE merchant_id=? "
                    f"AND campaign_id IN ({_marks(ids)}){where} GROUP BY campaign_id",
                    (merchant_id, *ids, *wparams))
    totals = _merge(sums, lambda r: (main_of[r["campaign_id"]], currency[r["campaign_id"]]))
    reasons = rejections(tx, merchant_id, ids, days)
    items = []
    for head in heads:
        family_rows = [head, *(s for s in subs if s["parent_id"] == head["campaign_id"])]
        mine = {k[1:]: v for k, v in totals.items() if k[0] == head["campaign_id"]}
        items.append({
            "campaign": _campaign_ref(head), "sub_campaigns": len(family_rows) - 1, **_stock(family_rows),
            "totals": _lines(mine, ("currency",)),
            "rejections_by_reason": _reason_totals(reasons.get(c["campaign_id"], {}) for c in family_rows),
        })
    return items


def rejections(tx: Tx, merchant_id: str, ids: list[str] | None, days: Days
               ) -> dict[str, dict[str, int]]:
    """campaign id -> reason -> count, for `ids` (None: every campaign of the merchant)."""
    where, params = days.where()
    sql = (f"SELECT campaign_id, reason, SUM(count) AS n FROM campaign_report_rejections "
           f"WHERE merchant_id=?{where}")
    if ids is not None:
        if not ids:
            return {}
        sql, params = f"{sql} AND campaign_id IN ({_marks(ids)})", [*params, *ids]
    out: dict[str, dict[str, int]] = {}
    for row in tx.query(f"{sql} GROUP BY campaign_id, reason", (merchant_id, *params)):
        out.setdefault(row["campaign_id"], {})[row["reason"]] = int(row["n"])
    return out


def rejected_attempts(tx: Tx, merchant_id: str, ids: list[str] | None, days: Days
                      ) -> dict[tuple[str, str], int]:
    """(campaign id, day) -> rejected attempts (one attempt may give several reasons)."""
    where, params = days.where()
    sql = f"SELECT campaign_id, day, rejected FROM campaign_report_days WHERE merchant_id=?{where}"
    if ids is not None:
        if not ids:
            return {}
        sql, params = f"{sql} AND campaign_id IN ({_marks(ids)})", [*params, *ids]
    rows = tx.query(sql, (merchant_id, *params))
    return {(r["campaign_id"], r["day"]): int(r["rejected"]) for r in rows if r["rejected"]}


def rejection_report(tx: Tx, merchant_id: str, ids: list[str] | None, days: Days) -> dict[str, Any]:
    """Rejected attempts and their reasons with counts, per campaign and per day."""
    reasons = rejections(tx, merchant_id, ids, days)
    attempts = rejected_attempts(tx, merchant_id, ids, days)
    per_campaign: dict[str, int] = {}
    per_day: dict[str, int] = {}
    for (campaign, day), n in attempts.items():
        per_campaign[campaign] = per_campaign.get(campaign, 0) + n
        per_day[day] = per_day.get(day, 0) + n
    rows = campaign_rows(tx, merchant_id, sorted({*per_campaign, *reasons}))
    totals = _reason_totals(reasons.values())
    return {
        "rejected": sum(per_campaign.values()),
        "reasons": [{"reason": r, "count": n}
                    for r, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))],
        "by_campaign": [{"campaign": _campaign_ref(rows[c]), "rejected": per_campaign.get(c, 0),
                         "rejections_by_reason": dict(sorted(reasons.get(c, {}).items()))}
                        for c in sorted(rows, key=lambda c: rows[c]["key"])],
        "by_day": [{"day": d, "rejected": n} for d, n in sorted(per_day.items())],
    }


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


# -- shaping --------------------------------------------------------------------------------------


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


def _zero() -> Figures:
    return dict.fromkeys(FIGURES, 0)


def _merge(rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], tuple[Any, ...]]
           ) -> dict[tuple[Any, ...], Figures]:
    merged: dict[tuple[Any, ...], Figures] = {}
    for row in rows:
        figures = merged.setdefault(key(row), _zero())
        for f in FIGURES:
            figures[f] += int(row[f] or 0)
    return merged


def figures_view(figures: Figures) -> dict[str, Any]:
    view: dict[str, Any] = {f: figures[f] for f in FIGURES if not f.startswith("cost_")}
    view["net_redeemed"] = figures["redeemed"] - figures["reversed"]
    view["cost_by_bearer"] = {"group": figures["cost_group"], "store": figures["cost_store"]}
    return view


def _lines(merged: dict[tuple[Any, ...], Figures], names: tuple[str, ...]) -> list[dict[str, Any]]:
    ordered = sorted(merged.items(), key=lambda kv: tuple((v is None, v or "") for v in kv[0]))
    return [{**dict(zip(names, key, strict=True)), **figures_view(figures)} for key, figures in ordered]


def _campaign_ref(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["campaign_id"], "key": row["key"], "name": row["name"], "status": row["status"],
            "currency": row["currency"], "parent_id": row["parent_id"]}


def _campaign_line(row: dict[str, Any], figures: Figures, reasons: dict[str, int]) -> dict[str, Any]:
    return {"campaign": _campaign_ref(row), "currency": row["currency"], **_stock([row]),
            **figures_view(figures),
            "rejections_by_reason": dict(sorted(reasons.items()))}


def _stock(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """All time, whatever the days: stock, issued, remaining (unknown if any campaign is unlimited)."""
    limited = all(r["stock"] is not None for r in rows)
    stock = sum(int(r["stock"]) for r in rows) if limited else None
    issued = sum(int(r["issued"]) for r in rows)
    return {"stock": stock, "issued_all_time": issued,
            "remaining_stock": None if stock is None else stock - issued}


def _reason_totals(per_campaign: Iterable[dict[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for reasons in per_campaign:
        for reason, count in reasons.items():
            totals[reason] = totals.get(reason, 0) + count
    return dict(sorted(totals.items()))
