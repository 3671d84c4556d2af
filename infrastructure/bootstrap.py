"""The composition root: builds every part with production defaults; tests pass their own."""

from __future__ import annotations

import logging
import os
import random
import socket
from dataclasses import dataclass
from typing import Any

from application.access import AccessService
from application.audit import AuditService, DecisionAudit
from application.campaigns import CampaignService
from application.clock import Clock, system_clock
from application.commands import CommandExecutor
from application.customer_facts import CustomerFactsService
from application.distribution import DistributionService
from application.fraud import FraudPolicy, FraudService
from application.holds import HoldService
from application.jobs import JobService
from application.ledger import Ledger
from application.merchants import MerchantService
from application.offers import OfferService
from application.partner_codes import PartnerCodeService
from application.points import PointsService
from application.points_history import PointsHistory
from application.pools import PoolService
from application.redemptions import RedemptionService
from application.reports import ReportService
from application.returns import ReturnService
from application.reward_delivery import RewardDelivery
from application.segments import SegmentService
from application.stacks import StackService
from application.stock_alerts import StockAlertService
from application.vouchers import VoucherService
from application.webhook_events import Publisher
from application.webhooks import OutboxPolicy, WebhookService
from application.workflows import WorkflowPolicy, WorkflowService
from infrastructure.database import LibraryDatabase
from infrastructure.fraud_observations import SqlObservationStore
from infrastructure.policy_runner import PolicyLoop, PolicyRunner
from infrastructure.scheduler import Automation
from infrastructure.settings import Settings
from infrastructure.store import eventsourcing_env
from infrastructure.webhook_delivery import DeliveryWorker, HttpSender
from projections.automation_reader import AutomationReader
from projections.fraud_flags import FraudFlagReader
from projections.hub import ProjectionHub
from projections.pool_stock import PoolStockReader
from projections.queries import QueryService

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Everything a process needs, wired once."""

    settings: Settings
    clock: Clock
    ledger: Ledger
    db: LibraryDatabase
    executor: CommandExecutor
    access: AccessService
    campaigns: CampaignService
    vouchers: VoucherService
    redemptions: RedemptionService
    stacks: StackService
    offers: OfferService
    holds: HoldService
    returns: ReturnService
    points: PointsService
    merchants: MerchantService
    segments: SegmentService
    points_history: PointsHistory
    audit: AuditService
    decisions: DecisionAudit
    projections: ProjectionHub
    queries: QueryService
    pools: PoolService
    partner_codes: PartnerCodeService
    pool_stock: PoolStockReader
    customer_facts: CustomerFactsService
    workflows: WorkflowService
    webhooks: WebhookService
    stock_alerts: StockAlertService
    distribution: DistributionService
    fraud: FraudService
    fraud_flags: FraudFlagReader
    reports: ReportService
    automation_reader: AutomationReader
    jobs: JobService
    policies: PolicyLoop
    webhook_worker: DeliveryWorker
    automation: Automation

    def start_projections(self) -> None:
        self.projections.start()

    def start_automation(self) -> None:
        """Workflows, the webhook outbox and delivery, and the job scheduler (in `promo serve`)."""
        self.automation.start()

    def close(self) -> None:
        self.automation.stop()
        self.projections.stop()
        self.ledger.close()


def build(settings: Settings | None = None, *, clock: Clock | None = None,
          rng: random.Random | None = None) -> Container:
    """Wire the service for `settings` (default: from the environment). Projections not started."""
    settings = settings or Settings()
    clock = clock or system_clock
    ledger = Ledger(env=eventsourcing_env(settings))
    db = LibraryDatabase(ledger.recorder.datastore, ledger.dialect)  # type: ignore[attr-defined]
    executor = CommandExecutor(ledger, clock)
    points = PointsService(executor, ledger)
    merchants = MerchantService(executor, ledger)
    segments = SegmentService(executor, ledger)
    redemptions = RedemptionService(executor, ledger, points, merchants, segments)
    campaigns = CampaignService(executor, ledger, merchants, settings.template_serial_width)
    vouchers = VoucherService(executor, ledger, rng or random.SystemRandom(), merchants, segments)
    hub = ProjectionHub(ledger, db, batch_size=settings.projection_batch_size,
                        poll_seconds=settings.projection_poll_seconds)
    hub.setup()
    pool_stock = PoolStockReader(hub, db, settings.read_wait_seconds)
    queries = QueryService(hub, db, clock, settings.read_wait_seconds)
    stacks = StackService(redemptions, linked_codes=lambda m, c: _linked_codes(queries, m, c))
    automation = _automation(settings, clock, ledger, db, executor, hub, campaigns, vouchers, points)
    pools = PoolService(executor, ledger, pool_stock, rng or random.SystemRandom())
    redemptions.delivery = RewardDelivery(vouchers, pools)
    return Container(
        settings=settings,
        clock=clock,
        ledger=ledger,
        db=db,
        executor=executor,
        access=AccessService(ledger, clock, executor),
        campaigns=campaigns,
        vouchers=vouchers,
        redemptions=redemptions,
        stacks=stacks,
        holds=HoldService(stacks),
        offers=OfferService(stacks, queries),
        returns=ReturnService(redemptions),
        merchants=merchants,
        segments=segments,
        points=points,
        points_history=PointsHistory(ledger),
        audit=AuditService(ledger),
        decisions=DecisionAudit(ledger),
        projections=hub,
        queries=queries,
        pools=pools,
        partner_codes=PartnerCodeService(executor, ledger, pool_stock),
        pool_stock=pool_stock,
        reports=ReportService(queries),
        fraud_flags=FraudFlagReader(queries),
        **automation,
    )


def _linked_codes(queries: QueryService, merchant_id: str, customer_id: str) -> list[str]:
    """V6: the customer's linked codes that may still be used, from the wallet."""
    held = queries.wallet(merchant_id, customer_id)["vouchers"]
    return [v["code"] for v in held if v.get("linked") and v["state"] != "redeemed" and not v["expired"]]


def _automation(settings: Settings, clock: Clock, ledger: Ledger, db: LibraryDatabase,
                executor: CommandExecutor, hub: ProjectionHub, campaigns: CampaignService,
                vouchers: VoucherService, points: PointsService) -> dict[str, Any]:
    """Issue 6's parts: customer facts, workflows, webhooks, distribution, jobs, and their runners."""
    reader = AutomationReader(hub, db, settings.read_wait_seconds)
    workflows = WorkflowService(executor, ledger, campaigns, vouchers, points)
    webhooks = WebhookService(executor, ledger, max_attempts=settings.webhook_max_attempts,
                              backoff_seconds=settings.webhook_backoff_seconds,
                              backoff_cap_seconds=settings.webhook_backoff_max_seconds)
    stock_alerts = StockAlertService(executor, ledger)
    jobs = JobService(ledger, clock, reader, campaigns, points, workflows, stock_alerts,
                      catch_up_days=settings.job_catch_up_days,
                      process_ref=f"{socket.gethostname()}:{os.getpid()}")
    fraud = FraudService(executor, ledger)
    observations = SqlObservationStore(db)
    observations.setup()
    runners = [PolicyRunner(WorkflowPolicy(workflows, ledger), ledger, db),
               PolicyRunner(OutboxPolicy(webhooks, Publisher(ledger)), ledger, db),
               PolicyRunner(FraudPolicy(fraud, ledger, observations), ledger, db)]
    for runner in runners:
        runner.setup()
    policies = PolicyLoop(runners, ledger, settings.policy_poll_seconds)
    worker = DeliveryWorker(webhooks, reader, clock, HttpSender(settings.webhook_timeout_seconds),
                            poll_seconds=settings.webhook_poll_seconds)
    return {
        "customer_facts": CustomerFactsService(executor, ledger), "workflows": workflows,
        "webhooks": webhooks, "stock_alerts": stock_alerts,
        "distribution": DistributionService(executor, ledger, vouchers, reader),
        "automation_reader": reader, "jobs": jobs, "policies": policies, "webhook_worker": worker,
        "fraud": fraud,
        "automation": Automation(policies, worker, jobs, settings.scheduler_tick_seconds),
    }
