"""The composition root: builds every part with production defaults; tests pass their own."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from application.access import AccessService
from application.audit import AuditService, DecisionAudit
from application.campaigns import CampaignService
from application.clock import Clock, system_clock
from application.commands import CommandExecutor
from application.holds import HoldService
from application.ledger import Ledger
from application.merchants import MerchantService
from application.offers import OfferService
from application.partner_codes import PartnerCodeService
from application.points import PointsService
from application.points_history import PointsHistory
from application.pools import PoolService
from application.redemptions import RedemptionService
from application.returns import ReturnService
from application.segments import SegmentService
from application.stacks import StackService
from application.vouchers import VoucherService
from infrastructure.database import LibraryDatabase
from infrastructure.settings import Settings
from infrastructure.store import eventsourcing_env
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

    def start_projections(self) -> None:
        self.projections.start()

    def close(self) -> None:
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
    hub = ProjectionHub(ledger, db, batch_size=settings.projection_batch_size,
                        poll_seconds=settings.projection_poll_seconds)
    hub.setup()
    pool_stock = PoolStockReader(hub, db, settings.read_wait_seconds)
    queries = QueryService(hub, db, clock, settings.read_wait_seconds)
    stacks = StackService(redemptions, linked_codes=lambda m, c: _linked_codes(queries, m, c))
    return Container(
        settings=settings,
        clock=clock,
        ledger=ledger,
        db=db,
        executor=executor,
        access=AccessService(ledger, clock),
        campaigns=CampaignService(executor, ledger),
        vouchers=VoucherService(executor, ledger, rng or random.SystemRandom()),
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
        pools=PoolService(executor, ledger, pool_stock, rng or random.SystemRandom()),
        partner_codes=PartnerCodeService(executor, ledger, pool_stock),
        pool_stock=pool_stock,
    )


def _linked_codes(queries: QueryService, merchant_id: str, customer_id: str) -> list[str]:
    """V6: the customer's linked codes that may still be used, from the wallet."""
    held = queries.wallet(merchant_id, customer_id)["vouchers"]
    return [v["code"] for v in held if v.get("linked") and v["state"] != "redeemed" and not v["expired"]]
