"""Workflows (D2): define them; fire them for facts, exactly once per (workflow, trigger).

`WorkflowPolicy` is the event-driven half: the policy runner hands it every ledger event in
order; it turns the ones that can trigger into `TriggerFacts` and fires each matching
workflow. A firing runs each effect as an ordinary command whose Idempotency-Key derives
from the workflow and the triggering event, then records a `WorkflowRun` (its ID derives
from the same pair). Replaying an event after a crash finds the effects' idempotency records
and the run, and changes nothing; see `infrastructure/policy_runner.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.campaigns import CampaignService
from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from application.points import EntryContext, PointsService
from application.vouchers import VoucherService
from domain.campaign import Campaign
from domain.clock import iso
from domain.customer import Customer, CustomerOrder
from domain.errors import AlreadyExists, DomainError, InvalidTransition, NotFound
from domain.idempotency import IdempotencyRecord
from domain.points import PointsAccount, entry_amounts
from domain.redemption import Redemption
from domain.workflow import TriggerFacts, WorkflowBook, WorkflowRun

POINT_ENTRIES = (PointsAccount.Credited, PointsAccount.TransactionReturned, PointsAccount.MergeReceived)
TRIGGER_EVENTS = (Customer.Registered, CustomerOrder.Completed, Redemption.Recorded,
                  PointsAccount.Opened, *POINT_ENTRIES)


def workflow_view(workflow: dict[str, Any]) -> dict[str, Any]:
    return {"key": workflow["key"], "status": workflow["status"], "revision": workflow["revision"],
            "defined_at": iso(workflow["defined_at"]), **workflow["definition"]}


class WorkflowService:
    """Operations define workflows; the policy and the date job fire them."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger, campaigns: CampaignService,
                 vouchers: VoucherService, points: PointsService) -> None:
        self.executor = executor
        self.ledger = ledger
        self.campaigns = campaigns
        self.vouchers = vouchers
        self.points = points

    def define(self, actor: Actor, key: str, definition: dict[str, Any],
               idempotency_key: str | None = None) -> CommandResult:
        """Create or revise a workflow (revisions apply to triggers from then on)."""
        def decide(at: datetime) -> Outcome:
            book = self._book(actor.merchant_id) or WorkflowBook.start(actor.merchant_id, at)
            book.define(key, definition, actor.ref, at)
            return Outcome(200, workflow_view(book.require(key)), (book,))

        return self._run(actor, "define_workflow", {"key": key, "definition": definition}, decide,
                         idempotency_key)

    def set_paused(self, actor: Actor, key: str, paused: bool,
                   idempotency_key: str | None = None) -> CommandResult:
        def decide(at: datetime) -> Outcome:
            book = self._require_book(actor.merchant_id, key)
            (book.pause if paused else book.resume)(key, actor.ref, at)
            return Outcome(200, workflow_view(book.require(key)), (book,))

        operation = "pause_workflow" if paused else "resume_workflow"
        return self._run(actor, operation, {"key": key}, decide, idempotency_key)

    def get(self, merchant_id: str, key: str) -> dict[str, Any]:
        return workflow_view(self._require_book(merchant_id, key).require(key))

    def list_workflows(self, merchant_id: str) -> list[dict[str, Any]]:
        book = self._book(merchant_id)
        return [] if book is None else [workflow_view(w) for _, w in sorted(book.workflows.items())]

    def firing(self, facts: TriggerFacts) -> list[dict[str, Any]]:
        book = self.ledger.read_if_any(WorkflowBook.id_for(facts.merchant_id), WorkflowBook)
        return [] if book is None else book.firing(facts)

    def fire(self, facts: TriggerFacts, workflow: dict[str, Any], trigger_ref: str) -> bool:
        """Run the workflow's effects for this trigger and record the run; False if it ran before."""
        merchant, key = facts.merchant_id, workflow["key"]
        if self.ledger.find(WorkflowRun.id_for(merchant, key, trigger_ref), WorkflowRun) is not None:
            return False
        actor = Actor(merchant_id=merchant, role="admin", ref=f"workflow:{key}")
        base = f"wf:{key}:{trigger_ref}"
        results = [self._effect(actor, effect, facts, f"{base}:{i}", key)
                   for i, effect in enumerate(workflow["definition"]["effects"])]
        trigger = {"type": facts.type, "ref": trigger_ref, "order_id": facts.order_id,
                   "amount": facts.amount, "at": iso(facts.at)}

        def decide(at: datetime) -> Outcome:
            run = WorkflowRun.complete(merchant, workflow, trigger_ref, trigger, facts.customer_id,
                                       results, at)
            if self.ledger.find(run.id, WorkflowRun) is not None:
                raise AlreadyExists("the workflow ran for this trigger", code="workflow_ran")
            return Outcome(201, {"run_id": str(run.id), "results": results}, (run,))

        self.executor.run(actor=actor, operation="record_workflow_run",
                          payload={"workflow": key, "ref": trigger_ref}, decide=decide,
                          idempotency_key=f"{base}:run")
        return True

    def _effect(self, actor: Actor, effect: dict[str, Any], facts: TriggerFacts, key: str,
                workflow_key: str) -> dict[str, Any]:
        """One effect as a command with its own key; a refusal is a result, not a failure."""
        done = self.ledger.find(IdempotencyRecord.id_for(actor.merchant_id, key), IdempotencyRecord)
        try:
            if done is not None:  # applied before a crash: report what it did then
                body = done.response
            elif effect["type"] == "credit_points":
                ctx = EntryContext(source="SYSTEM", transaction_id=facts.order_id,
                                   reason=f"workflow {workflow_key}")
                body = self.points.credit(actor, facts.customer_id, effect["program"], effect["category"],
                                          effect["kind"], effect["points"], ctx, idempotency_key=key).body
            else:
                self._require_active(actor.merchant_id, effect["campaign"])
                body = self.vouchers.assign_new_voucher(actor, effect["campaign"], facts.customer_id,
                                                        key).body
        except DomainError as exc:
            return {"type": effect["type"], "ok": False, "code": exc.code, "detail": exc.detail}
        if effect["type"] == "credit_points":
            return {"type": effect["type"], "ok": True, "program": effect["program"],
                    "points": effect["points"], "balance": body.get("balance")}
        return {"type": effect["type"], "ok": True, "campaign": effect["campaign"],
                "code": body.get("code"), "voucher_id": body.get("id")}

    def _require_active(self, merchant_id: str, campaign_key: str) -> None:
        campaign = self.ledger.read_if_any(Campaign.id_for(merchant_id, campaign_key), Campaign)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_key!r}", code="campaign_not_found")
        if campaign.status != "active":
            raise InvalidTransition(f"campaign {campaign_key!r} is {campaign.status}",
                                    code="campaign_not_active")

    def _book(self, merchant_id: str) -> WorkflowBook | None:
        return self.ledger.find(WorkflowBook.id_for(merchant_id), WorkflowBook)

    def _require_book(self, merchant_id: str, key: str) -> WorkflowBook:
        book = self._book(merchant_id)
        if book is None:
            raise NotFound(f"no workflow {key!r}", code="workflow_not_found")
        book.require(key)
        return book

    def _run(self, actor: Actor, operation: str, payload: dict[str, Any], decide: Any,
             idempotency_key: str | None) -> CommandResult:
        return self.executor.run(actor=actor, operation=operation, payload=payload, decide=decide,
                                 idempotency_key=idempotency_key,
                                 lock_key=WorkflowBook.id_for(actor.merchant_id))


class WorkflowPolicy:
    """When a fact that can trigger is in the ledger, fire every workflow it matches."""

    name = "workflows"
    topics = TRIGGER_EVENTS

    def __init__(self, service: WorkflowService, ledger: Ledger) -> None:
        self.service = service
        self.ledger = ledger

    def handle(self, event: Any, position: int) -> None:
        facts = self.facts(event)
        if facts is None:
            return
        ref = f"{event.originator_id}/{event.originator_version}"
        for workflow in self.service.firing(facts):
            self.service.fire(facts, workflow, ref)

    def facts(self, e: Any) -> TriggerFacts | None:
        """The trigger-relevant facts of an event, or None when it cannot trigger anything."""
        if isinstance(e, Customer.Registered):
            return TriggerFacts("customer_registered", e.merchant_id, e.customer_id, e.timestamp)
        if isinstance(e, CustomerOrder.Completed) and e.customer_id is not None:
            return TriggerFacts("order_completed", e.merchant_id, e.customer_id, e.timestamp,
                                amount=e.amount, currency=e.currency, store_id=e.store_id,
                                channel=e.channel, order_id=e.order_id)
        if isinstance(e, Redemption.Recorded) and e.customer_id is not None:
            campaign = self.ledger.read_if_any(e.campaign_id, Campaign)
            return TriggerFacts("voucher_redeemed", e.merchant_id, e.customer_id, e.timestamp,
                                campaign_key=campaign.key if campaign else None,
                                order_id=e.order.get("id"))
        if isinstance(e, PointsAccount.Opened):
            return TriggerFacts("points_threshold", e.merchant_id, e.customer_id, e.timestamp,
                                program=e.program, category=e.category, balance_before=0,
                                balance_after=e.opening_balance)
        if isinstance(e, POINT_ENTRIES):
            account = self.ledger.read(e.originator_id, PointsAccount)  # owner never changes
            _, _, credit, debit = entry_amounts(e)
            return TriggerFacts("points_threshold", account.merchant_id, account.customer_id,
                                e.timestamp, program=account.program, category=account.category,
                                balance_before=e.balance - credit + debit, balance_after=e.balance)
        return None
