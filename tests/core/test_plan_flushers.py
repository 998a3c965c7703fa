"""Every decision is decided once into a plan; PostgreSQL writes it through one psycopg pipeline, SQLite through
SQLAlchemy statement by statement. Here each outcome runs twice on PostgreSQL, once through each wire
(`service.pipelined`), with the server's in-transaction hooks installed (ERP outbox, chat fan-out, reminders),
and both runs must leave the same rows in every table they touch and give the same answers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Callable

import pytest
from conftest import FakeClock, _reset_postgres
from sqlalchemy import text
from sqlmodel import Session

from approvals import outbox
from approvals.audit import verify_chain
from approvals.commands import AnswerInfo, Approve, Reject, RequestInfo, SetDelegation, Withdraw
from approvals.db import make_engine, transaction
from approvals.jobqueue import JobQueue
from approvals.policy_store import install_policy
from approvals.scheduling.calendar import Calendars
from approvals.scheduling.plan import Planner, SchedulerConfig
from approvals.workflow import ApprovalService
from bot.runtime import chat_delivery
from tests.factories import boxes, submit

TABLES = (
    "requisition",
    "approval_step",
    "decision",
    "info_request",
    "command_log",
    "job",
    "audit_event",
    "audit_head",
    "erp_purchase_order",
    "delegation",
)
# $13,200 of janitorial service: Site and category (both Eric's site manager and the category manager), then
# Procurement
JANITORIAL = {
    "requester": "eric.larsen",
    "site": "SEA",
    "cost_center": "CORP-FAC",
    "supplier": "cintas",
    "lines": [{"description": "janitorial", "sku": "SVC-JAN-MO", "quantity": 6, "unit_price": 2200}],
}


class Surface:
    name = "chat"

    def reach(self, person: str) -> None:
        return None


Scenario = Callable[[ApprovalService, FakeClock], None]


def _run(url: str, directory: Any, policy: Any, pipelined: bool, scenario: Scenario) -> tuple[list, dict]:
    """`scenario` on an empty database, with every decision written through one wire; (answers, rows)."""
    _reset_postgres(url)
    engine = make_engine(url)
    try:
        clock = FakeClock()
        with transaction(engine) as session:
            install_policy(session, policy, at=clock())
        service = ApprovalService(engine, directory, clock=clock)
        service.pipelined = pipelined
        outbox.install(service)
        chat_delivery(engine, directory, service).surfaces.append(Surface())
        config = SchedulerConfig()
        service.in_transaction.append(Planner(directory, Calendars(directory, config.hours), config))
        answers: list = []
        original = {
            name: getattr(service, name) for name in ("approve", "reject", "request_info", "answer_info", "withdraw")
        }
        for name, action in original.items():
            setattr(service, name, _recording(action, answers))
        scenario(service, clock)
        with Session(engine) as session:
            assert verify_chain(session).ok
        return answers, _rows(engine)
    finally:
        engine.dispose()


def _recording(action: Callable[..., Any], answers: list) -> Callable[..., Any]:
    def act(cmd: Any, **kw: Any) -> Any:
        try:
            result = action(cmd, **kw)
        except Exception as exc:  # noqa: BLE001 - the refusal is the answer compared
            answers.append((type(exc).__name__, str(exc)))
            return None
        answers.append((result.outcome, result.message, result.replayed))
        return result

    return act


def _rows(engine: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables an action writes; chat jobs' keys carry a random part, which is left out."""
    with engine.connect() as conn:
        rows = {t: [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))] for t in TABLES}
    for job in rows["job"]:
        job["dedupe_key"] = re.sub(r"^(chat:[^:]+):[0-9a-f]{32}$", r"\1:*", job["dedupe_key"])
    return rows


@pytest.fixture
def both(postgres_database: str, directory: Any, policy: Any) -> Callable[[Scenario], tuple[list, dict]]:
    def run(scenario: Scenario) -> tuple[list, dict]:
        piped = _run(postgres_database, directory, policy, True, scenario)
        core = _run(postgres_database, directory, policy, False, scenario)
        assert piped[0] == core[0]  # the same answers, word for word
        for table in TABLES:
            assert piped[1][table] == core[1][table], table
        return piped

    return run


def _kinds(rows: dict, table: str, column: str) -> list:
    return [r[column] for r in rows[table]]


def test_an_approval_that_needs_another_is_recorded(both):
    """The first of two approvals a stage needs is recorded: the step, the decision, the version, no new jobs."""

    def scenario(service: ApprovalService, clock: FakeClock) -> None:
        number = service.submit(submit(**JANITORIAL)).number
        first = service.get(number).waiting_on[0]
        service.approve(Approve(actor=first, number=number, comment="ok", idempotency_key="tap-1"))

    answers, rows = both(scenario)
    assert answers[0][0] == "recorded"
    assert _kinds(rows, "approval_step", "state")[:2].count("approved") == 1


def test_an_approval_that_completes_a_stage_moves_it_on(both):
    """The second approval completes the stage: the next stage's step is activated, reminded and escalated."""

    def scenario(service: ApprovalService, clock: FakeClock) -> None:
        number = service.submit(submit(**JANITORIAL)).number
        for person in service.get(number).waiting_on:
            clock.advance(minutes=5)
            service.approve(Approve(actor=person, number=number, idempotency_key=f"tap-{person}"))

    answers, rows = both(scenario)
    assert [a[0] for a in answers] == ["recorded", "advanced"]
    assert {"remind", "escalate"} <= set(_kinds(rows, "job", "kind"))


def test_the_last_approval_asks_the_erp_for_the_purchase_order(both):
    """The final approval moves the requisition on to po_pending with the create-PO job and its order snapshot."""

    def scenario(service: ApprovalService, clock: FakeClock) -> None:
        number = service.submit(submit(lines=[boxes(80)])).number
        service.approve(Approve(actor="maria.lopez", number=number, surface="slack", idempotency_key="tap-1"))

    answers, rows = both(scenario)
    assert answers == [("approved", "PR-1001 is approved.", False)]
    assert _kinds(rows, "requisition", "state") == ["po_pending"]
    assert [e["kind"] for e in rows["audit_event"]][-2:] == ["approved", "po_requested"]
    order = next(j["payload"]["order"] for j in rows["job"] if j["kind"] == outbox.CREATE_PO)
    assert order["lines"][0]["sku"] == "PKG-BOX-2012" and order["requester"] == "jake.miller"


def test_a_rejection_ends_the_requisition(both):
    """A rejection: the step rejected, the rest of the round cancelled, the requisition rejected."""

    def scenario(service: ApprovalService, clock: FakeClock) -> None:
        number = service.submit(submit(requester="maria.lopez", lines=[boxes(180)])).number
        service.reject(Reject(actor="james.carter", number=number, reason="use the Chicago stock"))

    answers, rows = both(scenario)
    assert answers[0][0] == "rejected"
    assert sorted(_kinds(rows, "approval_step", "state")) == ["cancelled", "rejected"]


def test_a_question_and_its_answer(both):
    """An approver asks, the requester answers: the question's row, its expiry job, then back to pending."""

    def scenario(service: ApprovalService, clock: FakeClock) -> None:
        number = service.submit(submit(lines=[boxes(80)])).number
        service.request_info(RequestInfo(actor="maria.lopez", number=number, question="Why 80 bundles?"))
        clock.advance(hours=1)
        service.answer_info(AnswerInfo(actor="jake.miller", number=number, answer="Peak season"))
        service.answer_info(AnswerInfo(actor="jake.miller", number=number, answer="again"))

    answers, rows = both(scenario)
    assert [a[0] for a in answers] == ["info_requested", "answered", "StaleAction"]
    assert "info_expire" in _kinds(rows, "job", "kind")
    assert _kinds(rows, "info_request", "state") == ["answered"]


def test_stale_and_refused_taps_write_nothing(both):
    """Taps after the fact, by the requester, by a stranger and on a closed requisition: the same words, no rows."""

    def scenario(service: ApprovalService, clock: FakeClock) -> None:
        number = service.submit(submit(requester="maria.lopez", lines=[boxes(180)])).number
        service.approve(Approve(actor="james.carter", number=number))
        service.approve(Approve(actor="james.carter", number=number))  # his stage is done
        service.approve(Approve(actor="maria.lopez", number=number))  # the requester
        service.approve(Approve(actor="hannah.berg", number=number))  # not an approver
        service.approve(Approve(actor="marcus.bell", number=number))
        service.approve(Approve(actor="marcus.bell", number=number))  # already approved
        service.withdraw(Withdraw(actor="maria.lopez", number=number))  # too late

    answers, rows = both(scenario)
    assert [a[0] for a in answers] == [
        "advanced",
        "StaleAction",
        "NotAllowed",
        "NotAllowed",
        "approved",
        "StaleAction",
        "IllegalTransition",
    ]


def test_a_replayed_tap_returns_the_first_answer(both):
    """The same idempotency key twice: one decision, the stored answer replayed; another command's key refused."""

    def scenario(service: ApprovalService, clock: FakeClock) -> None:
        number = service.submit(submit(lines=[boxes(80)])).number
        service.approve(Approve(actor="maria.lopez", number=number, idempotency_key="tap-1"))
        service.approve(Approve(actor="maria.lopez", number=number, idempotency_key="tap-1"))
        service.reject(Reject(actor="maria.lopez", number=number, reason="no", idempotency_key="tap-1"))

    answers, rows = both(scenario)
    assert answers[1] == (*answers[0][:2], True) and answers[2][0] == "ConflictingRetry"
    assert len(rows["decision"]) == 1 and _kinds(rows, "command_log", "key") == ["tap-1"]


def test_a_delegate_approves_on_behalf_of_the_approver(both):
    """Frank approves for Maria while she is away: the step and decision say on behalf of Maria."""

    def scenario(service: ApprovalService, clock: FakeClock) -> None:
        number = service.submit(submit(lines=[boxes(80)])).number
        service.set_delegation(
            SetDelegation(
                actor="maria.lopez",
                delegator="maria.lopez",
                delegate="frank.novak",
                starts_at=clock.now,
                ends_at=clock.now + timedelta(days=7),
            )
        )
        service.approve(Approve(actor="frank.novak", number=number))

    answers, rows = both(scenario)
    assert answers[0][0] == "approved"
    assert rows["decision"][0]["on_behalf_of"] == "maria.lopez"


def test_a_withdrawal_cancels_what_is_waiting(both):
    """The requester withdraws a requisition with an open question: its steps cancelled, the question closed."""

    def scenario(service: ApprovalService, clock: FakeClock) -> None:
        number = service.submit(submit(requester="maria.lopez", lines=[boxes(180)])).number
        service.request_info(RequestInfo(actor="james.carter", number=number, question="Which site?"))
        service.withdraw(Withdraw(actor="maria.lopez", number=number, reason="not needed"))

    answers, rows = both(scenario)
    assert [a[0] for a in answers] == ["info_requested", "withdrawn"]
    assert _kinds(rows, "info_request", "state") == ["closed"]


def test_recording_the_purchase_order(both):
    """The dispatcher records a created PO (and a claim whose lease ran out records nothing): po_created, the PO's
    row, its audit event, the requester's notice written claimed by the recorder, the job done."""

    def scenario(service: ApprovalService, clock: FakeClock) -> None:
        numbers = [service.submit(submit(lines=[boxes(80)])).number for _ in range(2)]
        for number in numbers:
            service.approve(Approve(actor="maria.lopez", number=number))
        queue = JobQueue(service.engine, clock=clock, worker_id="recorder", lease=timedelta(minutes=5))
        queue.pipelined = service.pipelined
        jobs = queue.claim(outbox.CREATE_PO)
        stale = jobs[1].__class__(**{**jobs[1].__dict__, "attempts": jobs[1].attempts + 1})
        box = outbox.Outbox(service.engine, service.directory, queue, clock=clock)
        results = box.record_batch(
            [(jobs[0], "E-1", "PO-000001", "open"), (stale, "E-2", "PO-000002", "open")], claim_notice=True
        )
        assert [r[0] for r in results] == [True, False] and results[0][1] is not None
        assert results[0][1].payload["to"] == "jake.miller"

    answers, rows = both(scenario)
    assert _kinds(rows, "requisition", "state") == ["po_created", "po_pending"]
    assert _kinds(rows, "erp_purchase_order", "po_number") == ["PO-000001"]
    assert [(j["kind"], j["state"]) for j in rows["job"] if j["kind"].startswith("erp.")] == [
        ("erp.create_po", "done"),
        ("erp.create_po", "claimed"),
        ("erp.notify", "claimed"),
    ]
