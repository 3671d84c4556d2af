"""Campaign low-stock alerts (C4): a threshold per campaign, an alert once per crossing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.campaigns import load_campaign
from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from domain.campaign import Campaign
from domain.stock_watch import StockWatch


def watch_view(watch: StockWatch, remaining: int | None) -> dict[str, Any]:
    return {"campaign_key": watch.campaign_key, "threshold": watch.threshold, "alerted": watch.alerted,
            "remaining": remaining}


class StockAlertService:
    """Operations set a threshold; the low-stock job checks remaining stock against it."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger) -> None:
        self.executor = executor
        self.ledger = ledger

    def set_threshold(self, actor: Actor, campaign_key: str, threshold: int,
                      idempotency_key: str | None = None) -> CommandResult:
        merchant = actor.merchant_id

        def decide(at: datetime) -> Outcome:
            campaign = load_campaign(self.ledger, merchant, campaign_key)
            watch = (self.ledger.find(StockWatch.id_for(merchant, campaign_key), StockWatch)
                     or StockWatch.start(merchant, campaign_key, campaign.id, at))
            watch.set_threshold(threshold, actor.ref, at)
            return Outcome(200, watch_view(watch, campaign.remaining_stock), (watch,))

        return self.executor.run(actor=actor, operation="set_stock_alert",
                                 payload={"campaign": campaign_key, "threshold": threshold}, decide=decide,
                                 idempotency_key=idempotency_key,
                                 lock_key=StockWatch.id_for(merchant, campaign_key))

    def check(self, merchant_id: str, campaign_key: str) -> bool:
        """Alert or clear from the campaign's own remaining stock; True if anything changed."""
        changed: list[bool] = []

        def decide(at: datetime) -> Outcome:
            watch = self.ledger.load(StockWatch.id_for(merchant_id, campaign_key), StockWatch)
            campaign = self.ledger.read(Campaign.id_for(merchant_id, campaign_key), Campaign)
            remaining = campaign.remaining_stock
            changed[:] = [remaining is not None and watch.check(remaining, at)]
            return Outcome(200, watch_view(watch, remaining), (watch,))

        actor = Actor(merchant_id=merchant_id, role="admin", ref="scheduler")
        self.executor.run(actor=actor, operation="check_stock", payload={"campaign": campaign_key},
                          decide=decide, lock_key=StockWatch.id_for(merchant_id, campaign_key))
        return bool(changed and changed[0])
