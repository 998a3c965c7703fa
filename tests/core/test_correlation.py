"""One request id follows a tap into the jobs it creates and into its audit events."""

from __future__ import annotations

from sqlmodel import Session, select

from approvals import correlation
from approvals.jobqueue import Job
from approvals.models import AuditEvent
from tests.factories import submit


def test_a_submit_under_a_request_id_marks_its_jobs_and_its_audit_events(service, scheduler):
    """Jake's submit arrives with request id r-1234abcd: its reminder job and its audit events carry that id."""
    with correlation.bound("r-1234abcd"):
        number = service.submit(submit()).number
    with Session(service.engine) as s:
        jobs = s.exec(select(Job)).all()
        events = s.exec(select(AuditEvent).where(AuditEvent.requisition_number == number)).all()
    assert jobs and all(j.payload.get("request_id") == "r-1234abcd" for j in jobs)
    assert events and all((e.after or {}).get("request_id") == "r-1234abcd" for e in events)


def test_without_a_request_nothing_is_added():
    """Work started by nobody's request (a test, a script) adds no id to a job."""
    assert correlation.with_request({"step": 4}) == {"step": 4}
    with correlation.bound("r-5678efgh"):
        assert correlation.with_request({"step": 4}) == {"step": 4, "request_id": "r-5678efgh"}
        assert correlation.with_request({"request_id": "own"})["request_id"] == "own"


def test_only_a_plain_token_is_kept_as_a_callers_request_id():
    """A load balancer's id is kept; one with spaces, markup or 500 characters is replaced by a new one."""
    assert correlation.accept("lb-7f3a9c21d4e8") == "lb-7f3a9c21d4e8"
    for bad in ("has spaces", "<script>", "x" * 500, "short", None):
        replaced = correlation.accept(bad)
        assert replaced != bad and len(replaced) == 32


def test_the_purchase_order_and_its_notice_carry_the_approvals_request_id(service, engine, directory, clock):
    """Jake's touchless order arrives under request r-po-0001: the PO's job, its audit event and his notice carry it."""
    from approvals.outbox import create_key, install
    from bot.erp_dispatcher import ErpDispatcher
    from connectors.erp.config import ErpSettings
    from connectors.erp.sandbox import SandboxErp

    install(service)
    wrap = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 10, "unit_price": 32}
    with correlation.bound("r-po-0001"):
        number = service.submit(submit(lines=[wrap])).number
    sent: list[tuple[str, object]] = []

    class Inbox:
        def send(self, person_id, notice):  # type: ignore[no-untyped-def]
            sent.append((person_id, correlation.current()))
            return "ref"

    erp = SandboxErp(engine, directory)
    dispatcher = ErpDispatcher(
        engine, directory, erp, Inbox(), settings=ErpSettings(_env_file=None), clock=clock, worker_id="w1"
    )
    dispatcher.run_once()
    dispatcher.run_once()
    with Session(engine) as s:
        job = s.exec(select(Job).where(Job.dedupe_key == create_key(number))).one()
        made = s.exec(
            select(AuditEvent).where(AuditEvent.requisition_number == number, AuditEvent.kind == "po_created")
        ).one()
    assert job.payload["request_id"] == "r-po-0001"
    assert (made.after or {})["request_id"] == "r-po-0001"
    assert sent == [("jake.miller", "r-po-0001")]  # the notice was sent under the same id
