"""Report queries (A1): small GROUP BYs over the campaign report's pre-aggregated cells.

A range of local days is read as its whole months (`m` cells) and its ragged ends (`d` cells).
Money is summed per currency: a campaign has one, so every breakdown line names the currency of
the campaigns it adds up (a main campaign whose sub-campaigns differ in currency gets a line each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from infrastructure.database import Tx
from projections.campaign_report import FIGURES

SUMS = ", ".join(f"SUM({f}) AS {f}" for f in FIGURES)
Figures = dict[str, int]
Span = tuple[str, str | None, str | None]  # grain (d, w, m), first and last period (None: open)


@dataclass(frozen=True)
class Days:
    """An inclusive range of the merchant's local days; None is open."""

    first: date | None = None
    last: date | None = None

    @property
    def since(self) -> str | None:
        return self.first.isoformat() if self.first else None

    @property
    def until(self) -> str | None:
        return self.last.isoformat() if self.last else None

    def spans(self) -> list[Span]:
        """The range as the whole months in it, then whole ISO weeks, then single days."""
        first, last = self.first, self.last
        months_from = None if first is None else first if first.day == 1 else _next_month(first)
        months_to = None if last is None else last if _next_month(last) == last + DAY else (
            last.replace(day=1) - DAY)
        if first and last and months_from and months_to and months_from > months_to:
            return _weeks(first, last)
        spans: list[Span] = []
        if first and months_from and months_from != first:
            spans += _weeks(first, months_from - DAY)
        spans.append(("m", months_from.isoformat()[:7] if months_from else None,
                      months_to.isoformat()[:7] if months_to else None))
        if last and months_to and months_to != last:
            spans += _weeks(months_to + DAY, last)
        return spans


DAY = timedelta(days=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _weeks(first: date, last: date) -> list[Span]:
    """Whole ISO weeks (cells keyed by their Monday) and the days before and after them."""
    mondays_from = first + timedelta(days=-first.weekday() % 7)
    sundays_to = last - timedelta(days=(last.weekday() + 1) % 7)
    if mondays_from > sundays_to:
        return [("d", first.isoformat(), last.isoformat())]
    spans: list[Span] = []
    if mondays_from != first:
        spans.append(("d", first.isoformat(), (mondays_from - DAY).isoformat()))
    spans.append(("w", mondays_from.isoformat(), (sundays_to - timedelta(days=6)).isoformat()))
    if sundays_to != last:
        spans.append(("d", (sundays_to + DAY).isoformat(), last.isoformat()))
    return spans


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


def cells(tx: Tx, merchant_id: str, ids: list[str] | None, dims: tuple[str, ...], days: Days
          ) -> list[dict[str, Any]]:
    """Figures per (campaign, dim, value) over `days`, for campaigns `ids` (None: all of them):
    one statement, an index range per span (month, week or day cells)."""
    if ids is not None and not ids:
        return []
    arms, params = [], list[Any]()
    for grain, first, last in days.spans():
        sql = (f"SELECT campaign_id, dim, value, {', '.join(FIGURES)} FROM campaign_report_cells "
               f"WHERE merchant_id=? AND grain=? AND dim IN ({_marks(list(dims))})")
        params += [merchant_id, grain, *dims]
        if ids is not None:
            sql, params = f"{sql} AND campaign_id IN ({_marks(ids)})", [*params, *ids]
        if first is not None:
            sql, params = f"{sql} AND period >= ?", [*params, first]
        if last is not None:
            sql, params = f"{sql} AND period <= ?", [*params, last]
        arms.append(sql)
    return tx.query(f"SELECT campaign_id, dim, value, {SUMS} FROM ({' UNION ALL '.join(arms)}) AS spans "
                    f"GROUP BY campaign_id, dim, value", params)


def daily(tx: Tx, merchant_id: str, ids: list[str], days: Days) -> list[dict[str, Any]]:
    """Each campaign's figures per local day in `days`."""
    if not ids:
        return []
    where, params = _period(days)
    return tx.query(f"SELECT campaign_id, period AS day, {', '.join(FIGURES)} FROM campaign_report_cells "
                    f"WHERE merchant_id=? AND grain='d' AND dim='total' AND campaign_id IN ({_marks(ids)})"
                    f"{where}", (merchant_id, *ids, *params))


def rejected_by_day(tx: Tx, merchant_id: str, ids: list[str] | None, days: Days) -> dict[str, int]:
    """Rejected attempts per local day, of campaigns `ids` (None: every campaign)."""
    where, params = _period(days)
    if ids is not None:
        if not ids:
            return {}
        where, params = f" AND campaign_id IN ({_marks(ids)}){where}", [*ids, *params]
    rows = tx.query(f"SELECT period, SUM(rejected) AS n FROM campaign_report_cells WHERE merchant_id=? "
                    f"AND grain='d' AND dim='total'{where} AND rejected > 0 GROUP BY period",
                    (merchant_id, *params))
    return {r["period"]: int(r["n"]) for r in rows}


def _period(days: Days) -> tuple[str, list[Any]]:
    sql, params = "", list[Any]()
    if days.since is not None:
        sql, params = f"{sql} AND period >= ?", [*params, days.since]
    if days.until is not None:
        sql, params = f"{sql} AND period <= ?", [*params, days.until]
    return sql, params


def campaign_report(tx: Tx, merchant_id: str, campaign_id: str, rollup: bool, days: Days
                    ) -> dict[str, Any] | None:
    """One campaign (with its sub-campaigns) over `days`: totals and every breakdown."""
    campaigns = family(tx, merchant_id, campaign_id, rollup)
    if not campaigns:
        return None
    currency = {c["campaign_id"]: c["currency"] for c in campaigns}
    ids = list(currency)
    by_day = daily(tx, merchant_id, ids, days)
    split = cells(tx, merchant_id, ids, ("store", "channel", "reason"), days)
    reasons = _reasons([r for r in split if r["dim"] == "reason"])
    per_campaign = _merge(by_day, lambda r: (r["campaign_id"],))

    def breakdown(dim: str) -> dict[tuple[Any, ...], Figures]:
        return _merge([r for r in split if r["dim"] == dim],
                      lambda r: (r["value"] or None, currency[r["campaign_id"]]))

    return {
        "campaign": _campaign_ref(campaigns[0]),
        "sub_campaigns": len(campaigns) - 1,
        **_stock(campaigns),
        "totals": _lines(_merge(({"campaign_id": c, **f} for (c,), f in per_campaign.items()),
                                lambda r: (currency[r["campaign_id"]],)), ("currency",)),
        "rejections_by_reason": _reason_totals(reasons.values()),
        "by_campaign": [_campaign_line(c, per_campaign.get((c["campaign_id"],), _zero()),
                                       reasons.get(c["campaign_id"], {})) for c in campaigns],
        "by_store": _lines(breakdown("store"), ("store_id", "currency")),
        "by_channel": _lines(breakdown("channel"), ("channel", "currency")),
        "by_day": _lines(_merge(by_day, lambda r: (r["day"], currency[r["campaign_id"]])),
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
    split = cells(tx, merchant_id, list(main_of), ("total", "reason"), days)
    totals = _merge([r for r in split if r["dim"] == "total"],
                    lambda r: (main_of[r["campaign_id"]], currency[r["campaign_id"]]))
    reasons = _reasons([r for r in split if r["dim"] == "reason"])
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


def rejection_report(tx: Tx, merchant_id: str, ids: list[str] | None, days: Days) -> dict[str, Any]:
    """Rejected attempts and their reasons with counts, per campaign and per day."""
    split = cells(tx, merchant_id, ids, ("total", "reason"), days)
    reasons = _reasons([r for r in split if r["dim"] == "reason"])
    per_campaign: dict[str, int] = {}
    for row in split:
        if row["dim"] == "total" and int(row["rejected"]):
            per_campaign[row["campaign_id"]] = per_campaign.get(row["campaign_id"], 0) + int(row["rejected"])
    per_day = rejected_by_day(tx, merchant_id, ids, days)
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


# -- shaping --------------------------------------------------------------------------------------


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


def _zero() -> Figures:
    return dict.fromkeys(FIGURES, 0)


def _merge(rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], tuple[Any, ...]]
           ) -> dict[tuple[Any, ...], Figures]:
    merged: dict[tuple[Any, ...], Figures] = {}
    for row in rows:
        k = key(row)
        figures = merged.get(k)
        if figures is None:
            figures = merged[k] = _zero()
        for f in FIGURES:
            figures[f] += int(row[f])  # PostgreSQL sums are Decimal
    return merged


def _reasons(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """campaign id -> reason -> count, from `reason` cells."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = out.setdefault(row["campaign_id"], {})
        counts[row["value"]] = counts.get(row["value"], 0) + int(row["rejected"])
    return out


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
            **figures_view(figures), "rejections_by_reason": dict(sorted(reasons.items()))}


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
