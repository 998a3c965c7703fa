"""One clock: what the service and its runtime write carries the injected clock's time, never the wall clock's.

The injected clock is set years before any day these tests run on, so a single row stamped by the wall clock
stands out. Every step happens at its own instant of that clock: the policy activation at start-up, Jake's
submit in the chat, Zoe's approval, and the in-server ERP dispatcher making the purchase order.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from live import eventually
from sqlalchemy import DateTime, select
from sqlmodel import SQLModel

from approvals.clock import as_utc
from approvals.jobqueue import Job
from approvals.master_data import ErpBudgetRecord, ErpItemRecord, ErpSupplierRecord
from approvals.models import AuditEvent, PolicyVersion
from approvals.outbox import CREATE_PO, NOTIFY, ErpPurchaseOrder
from bot.erp_dispatcher import start_in_server
from bot.intake.assistant import Assistant
from bot.runtime import build_runtime
from bot.settings import Settings

FAR = datetime(2011, 3, 7, 15, 0, tzinfo=timezone.utc)  # a Monday, 9:00 in Dallas, years before any run
STARTED, SUBMITTED, APPROVED, ORDERED = (FAR + timedelta(hours=h) for h in range(4))
MATS = "need 40 safety mats from Grainger at $60 each for Dallas by Friday"  # no SKU: a category by keyword
# written by neither the service nor its runtime: the dev admin token is made at start-up outside any action,
# and the sandbox ERP's own ledger keeps the ERP's time, as a real ERP does
NOT_OURS = {"api_token", "erp_sandbox_po"}


@pytest.fixture
def runtime(db_url, tmp_path, clock):  # type: ignore[no-untyped-def]
    """The server's wiring (start-up, the service and its hooks, one in-server ERP dispatcher) on a clock at FAR."""
    clock.now = STARTED
    settings = Settings(
        database_url=db_url,
        admin_token=None,
        env="dev",
        var_dir=tmp_path,
        scheduler_enabled=False,
        erp_dispatchers=1,
        _env_file=None,
    )
    rt = build_runtime(settings, clock=clock)
    yield rt
    rt.engine.dispose()


def _ordered(runtime, clock) -> str:  # type: ignore[no-untyped-def]
    """Jake asks for safety mats in the chat and submits it, Zoe approves it, the ERP dispatcher makes the PO."""
    chat = Assistant(runtime.service, runtime.directory, surface="web")
    clock.now = SUBMITTED
    summary = next(r.card for r in chat.handle_message("jake.miller", MATS) if r.card)
    submit = next(a for a in summary.actions if a.id == "submit")
    number = chat.handle_action("jake.miller", "submit", submit.value)[0].card.number
    clock.now = APPROVED
    assert f"{number} is approved" in chat.handle_action("zoe.martin", "approve", {"number": number})[0].text
    clock.now = ORDERED
    stop = start_in_server(runtime)
    assert stop is not None
    try:
        eventually(
            lambda: (
                _rows(runtime, ErpPurchaseOrder)
                and _rows(runtime, ErpSupplierRecord)
                and not [j for j in _jobs(runtime) if j.kind == NOTIFY and j.state != "done"]
            ),
            "made the PO, told Jake and synced the master data",
        )
    finally:
        stop.set()
        for thread in threading.enumerate():
            if thread.name.startswith("erp-dispatcher-"):
                thread.join(10)
    return number


def _rows(runtime, model) -> list:  # type: ignore[no-untyped-def,type-arg]
    with runtime.engine.connect() as conn:
        return list(conn.execute(select(model.__table__)).all())


def _jobs(runtime) -> list:  # type: ignore[no-untyped-def,type-arg]
    return _rows(runtime, Job)


def test_every_audit_event_carries_the_instant_of_its_step(runtime, clock):  # type: ignore[no-untyped-def]
    """Activation, submit, approval and PO on a clock years away: each audit event reads its step's instant."""
    number = _ordered(runtime, clock)
    at = {(e.kind, e.requisition_number): as_utc(e.at) for e in _rows(runtime, AuditEvent)}
    assert at[("policy_activated", None)] == STARTED
    assert at[("created", number)] == at[("submitted", number)] == SUBMITTED
    assert at[("approved", number)] == at[("po_requested", number)] == APPROVED
    assert at[("po_created", number)] == ORDERED
    assert set(at.values()) == {STARTED, SUBMITTED, APPROVED, ORDERED}
    (version,) = _rows(runtime, PolicyVersion)
    assert as_utc(version.loaded_at) == STARTED


def test_every_job_outbox_and_master_data_row_carries_the_injected_clock(runtime, clock):  # type: ignore[no-untyped-def]
    """The PO, the reminder, notice and sync jobs and the ERP's master data are stamped by the runtime's clock."""
    number = _ordered(runtime, clock)
    jobs = {j.kind: j for j in _jobs(runtime)}
    assert as_utc(jobs[CREATE_PO].created_at) == APPROVED and as_utc(jobs[CREATE_PO].updated_at) == ORDERED
    assert as_utc(jobs[NOTIFY].created_at) == ORDERED  # Jake's "PO created" notice
    assert {as_utc(j.created_at) for j in jobs.values()} <= {SUBMITTED, APPROVED, ORDERED}
    assert {as_utc(j.updated_at) for j in jobs.values()} <= {SUBMITTED, APPROVED, ORDERED}
    assert {"erp.sync_status", "erp.sync_master"} <= set(jobs)
    (po,) = _rows(runtime, ErpPurchaseOrder)
    assert po.requisition_number == number and as_utc(po.created_at) == as_utc(po.status_at) == ORDERED
    for model in (ErpSupplierRecord, ErpItemRecord, ErpBudgetRecord):
        rows = _rows(runtime, model)
        assert rows and {as_utc(r.synced_at) for r in rows} == {ORDERED}, model.__name__


def test_no_row_the_service_or_its_runtime_wrote_carries_the_wall_clock(runtime, clock):  # type: ignore[no-untyped-def]
    """After the whole story, every date and time in every table of ours lies within days of the injected clock."""
    _ordered(runtime, clock)
    stamps = []
    with runtime.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in NOT_OURS:
                continue
            for column in table.columns:
                if isinstance(column.type, DateTime):
                    values = conn.execute(select(column).where(column.is_not(None))).scalars().all()
                    stamps += [(table.name, column.name, as_utc(v)) for v in values]
    assert {name for name, _, _ in stamps} >= {
        "audit_event",
        "job",
        "requisition",
        "erp_purchase_order",
        "erp_supplier",
        "category_suggestion",
        "chat_conversation",
    }
    away = {
        f"{table}.{column}": str(at)
        for table, column, at in stamps
        if not STARTED <= at <= STARTED + timedelta(days=30)
    }
    assert not away, f"stamped by another clock: {away}"
