"""The ERP outbox end to end on the sandbox ERP: approval writes the job, the dispatcher makes the PO once."""

from __future__ import annotations

import pytest
from factories import submit
from sqlmodel import Session, select

from approvals import jobqueue
from approvals.errors import NotAllowed, StaleAction
from approvals.jobqueue import Job
from approvals.outbox import ErpPurchaseOrder, create_key, erp_view, install, retry_dead
from bot.erp_dispatcher import ErpDispatcher
from connectors.erp.base import PermanentError, TransientError
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp, SandboxFaults, SandboxPurchaseOrder

WRAP = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 10, "unit_price": 32}


class Inbox:
    """A notifier that remembers every message, as a chat surface would show it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def send(self, person_id, notice):  # type: ignore[no-untyped-def]
        self.sent.append((person_id, notice))
        return f"msg-{len(self.sent)}"

    def kinds(self, person: str | None = None) -> list[str]:
        return [n.kind for p, n in self.sent if person in (None, p)]


class Flaky:
    """Wraps a connector and raises the given errors on the next calls."""

    def __init__(self, inner, errors):  # type: ignore[no-untyped-def]
        self.inner, self.errors, self.name = inner, list(errors), inner.name

    def create_po(self, order, progress=None):  # type: ignore[no-untyped-def]
        if self.errors:
            raise self.errors.pop(0)
        return self.inner.create_po(order, progress)

    def get_po_status(self, reference, erp_id=None):  # type: ignore[no-untyped-def]
        return self.inner.get_po_status(reference, erp_id)


def settings(**kw) -> ErpSettings:  # type: ignore[no-untyped-def]
    return ErpSettings(
        _env_file=None,
        erp_max_attempts=kw.pop("attempts", 4),
        erp_backoff_base_seconds=2,
        erp_backoff_max_seconds=60,
        **kw,
    )


@pytest.fixture
def erp(engine, directory):  # type: ignore[no-untyped-def]
    return SandboxErp(engine, directory)


def dispatcher(engine, directory, connector, inbox, clock, worker="w1", **kw):  # type: ignore[no-untyped-def]
    return ErpDispatcher(engine, directory, connector, inbox, settings=settings(**kw), clock=clock, worker_id=worker)


def approve_small(service, requester="jake.miller"):  # type: ignore[no-untyped-def]
    install(service)
    result = service.submit(submit(requester, lines=[WRAP]))
    assert result.outcome == "auto_approved"
    return result.number


def test_touchless_approval_becomes_one_po_and_the_requester_hears_its_number(service, engine, directory, clock, erp):
    """A small contracted stock order is auto-approved, the PO is created once, and Jake is told its number."""
    number = approve_small(service)
    assert service.view(number).state == "po_pending"
    with Session(engine) as s:
        job = s.exec(select(Job).where(Job.dedupe_key == create_key(number))).one()
        assert job.payload["order"]["lines"][0]["sku"] == "PKG-SW-18"
    inbox = Inbox()
    d = dispatcher(engine, directory, erp, inbox, clock)
    d.run_once()
    d.run_once()
    assert service.view(number).state == "po_created"
    assert erp.count() == 1
    assert inbox.kinds() == ["po_created"] and inbox.sent[0][0] == "jake.miller"
    assert "PO-000001" in inbox.sent[0][1].text
    assert erp_view(engine, number).sentence() == f"{number} is purchase order PO-000001 in the ERP (open)."


def test_rejected_or_pending_requisitions_write_no_job(service, engine):
    """Only a final approval writes the job: a requisition waiting for approvers has none."""
    install(service)
    result = service.submit(submit("jake.miller"))  # $1,280: needs a person
    assert result.outcome == "routed"
    with Session(engine) as s:
        assert s.exec(select(Job).where(Job.kind == "erp.create_po")).all() == []


def test_transient_errors_back_off_with_jitter_then_succeed(service, engine, directory, clock, erp):
    """A 500 and a 429 are retried later, not at once; the third attempt creates the PO, only one."""
    number = approve_small(service)
    flaky = Flaky(erp, [TransientError("500 from ERP", status=500), TransientError("429", status=429, retry_after=30)])
    d = dispatcher(engine, directory, flaky, Inbox(), clock)
    d.run_once()
    with Session(engine) as s:
        job = s.exec(select(Job).where(Job.dedupe_key == create_key(number))).one()
        first_wait = (jobqueue.as_utc(job.due_at) - clock.now).total_seconds()
    assert job.state == "failed" and 1 <= first_wait <= 2  # base 2 s, equal jitter
    assert d.run_once() == 0  # not due yet
    clock.advance(seconds=2)
    d.run_once()
    with Session(engine) as s:
        job = s.exec(select(Job).where(Job.dedupe_key == create_key(number))).one()
        assert (jobqueue.as_utc(job.due_at) - clock.now).total_seconds() >= 30  # the ERP's Retry-After wins
    clock.advance(seconds=30)
    d.run_once()
    assert service.view(number).state == "po_created" and erp.count() == 1


def test_permanent_error_dead_letters_at_once_and_tells_every_buyer_with_retry(service, engine, directory, clock, erp):
    """The ERP refuses the vendor: no retries, both buyers get the reason and a Retry button; a buyer's retry works."""
    number = approve_small(service)
    inbox = Inbox()
    flaky = Flaky(erp, [PermanentError("the ERP has no vendor 'uline'; add the vendor in the ERP", status=422)])
    d = dispatcher(engine, directory, flaky, inbox, clock)
    d.run_once()
    d.run_once()
    assert sorted(p for p, _ in inbox.sent) == ["ben.turner", "grace.kim"]
    notice = inbox.sent[0][1]
    assert "no vendor 'uline'" in notice.text and notice.actions[0]["id"] == "erp.retry"
    assert erp_view(engine, number).state == "failed"
    with pytest.raises(NotAllowed, match="Only buyers"):
        retry_dead(engine, directory, number, actor="jake.miller")
    assert retry_dead(engine, directory, number, actor="ben.turner", now=clock.now).endswith("again now.")
    with pytest.raises(StaleAction):
        retry_dead(engine, directory, number, actor="ben.turner")
    d.run_once()
    d.run_once()
    assert service.view(number).state == "po_created" and erp.count() == 1
    assert inbox.kinds("jake.miller") == ["po_created"]


def test_after_the_last_attempt_the_job_is_dead_and_buyers_are_told_once(service, engine, directory, clock, erp):
    """An ERP that keeps timing out is tried four times, then dead-lettered with the last reason."""
    number = approve_small(service)
    inbox = Inbox()
    flaky = Flaky(erp, [TransientError("no answer from the ERP (ReadTimeout)")] * 4)
    d = dispatcher(engine, directory, flaky, inbox, clock, attempts=4)
    for _ in range(6):
        d.run_once()
        clock.advance(minutes=2)
    assert erp_view(engine, number).state == "failed" and "ReadTimeout" in erp_view(engine, number).last_error
    assert sorted(inbox.kinds()) == ["erp_failed", "erp_failed"] and erp.count() == 0


def test_timeout_after_commit_does_not_make_a_second_po(service, engine, directory, clock):
    """The sandbox commits the PO but the answer is lost: the retry finds it; one PO, one message."""
    erp = SandboxErp(engine, directory, faults=SandboxFaults(rates={"timeout_after_commit": 1.0}))
    number = approve_small(service)
    inbox = Inbox()
    d = dispatcher(engine, directory, erp, inbox, clock)
    d.run_once()
    assert erp.count() == 1 and service.view(number).state == "po_pending"
    erp.faults.rates.clear()
    clock.advance(seconds=5)
    d.run_once()
    d.run_once()
    assert erp.count() == 1 and service.view(number).state == "po_created" and inbox.kinds() == ["po_created"]


def test_a_dispatcher_whose_lease_ran_out_records_nothing(service, engine, directory, clock, erp):
    """Dispatcher A stalls past its lease; B takes the job and records the PO; A's late answer writes nothing."""
    number = approve_small(service)
    a = dispatcher(engine, directory, erp, Inbox(), clock, worker="a")
    b = dispatcher(engine, directory, erp, Inbox(), clock, worker="b")
    [job_a] = a.queue.claim("erp.create_po")
    clock.advance(minutes=6)
    b.run_once()
    po = erp.create_po(
        __import__("connectors.erp.base", fromlist=["x"]).PurchaseOrderRequest.from_payload(job_a.payload["order"])
    )
    assert not po.created
    assert a.outbox.record_po(job_a, erp_id=po.erp_id, po_number=po.number) is False
    with Session(engine) as s:
        assert len(s.exec(select(ErpPurchaseOrder)).all()) == 1
    assert service.view(number).state == "po_created"


def test_status_sync_tells_the_requester_when_goods_arrive(service, engine, directory, clock, erp):
    """The ERP marks the PO partly then fully received: Jake hears each once, and status answers say so."""
    number = approve_small(service)
    inbox = Inbox()
    d = dispatcher(engine, directory, erp, inbox, clock)
    d.run_once()
    assert d.sync_statuses() == 0
    erp.move("PO-000001", "partially_received")
    assert d.sync_statuses() == 1 and d.sync_statuses() == 0
    erp.move("PO-000001", "received")
    d.sync_statuses()
    d.run_once()
    d.run_once()
    assert inbox.kinds("jake.miller") == ["po_created", "po_received", "po_received"]
    assert "have been received" in inbox.sent[-1][1].text
    assert erp_view(engine, number).sentence().endswith("(received).")
    with pytest.raises(PermanentError, match="can move to closed"):
        erp.move("PO-000001", "open")


def test_bad_order_in_the_sandbox_is_a_clear_dead_letter(service, engine, directory, clock, erp):
    """A SKU the ERP does not know dead-letters with a reason that names the SKU, with no retry loop."""
    number = approve_small(service)
    with Session(engine) as s:
        job = s.exec(select(Job).where(Job.dedupe_key == create_key(number))).one()
        job.payload = {
            **job.payload,
            "order": {**job.payload["order"], "lines": [{**job.payload["order"]["lines"][0], "sku": "PKG-GHOST"}]},
        }
        s.add(job)
        s.commit()
    inbox = Inbox()
    d = dispatcher(engine, directory, erp, inbox, clock)
    d.run_once()
    d.run_once()
    assert erp_view(engine, number).state == "failed" and "PKG-GHOST" in erp_view(engine, number).last_error
    assert inbox.kinds() == ["erp_failed", "erp_failed"]
    with Session(engine) as s:
        assert s.exec(select(SandboxPurchaseOrder)).all() == []
    clock.advance(hours=2)
    assert d.run_once() == 0


def test_recording_keeps_the_audit_chain_whole_and_a_stale_claim_writes_nothing(service, engine, directory, clock, erp):
    """Two POs recorded by the dispatcher (on PostgreSQL the two-statement path); then a stale claim of a
    finished job tries to record again: nothing is written, one PO row each, and the audit chain verifies."""
    from approvals.audit import verify_chain
    from approvals.models import AuditEvent

    first, second = approve_small(service), approve_small(service, "maria.lopez")
    inbox = Inbox()
    a = dispatcher(engine, directory, erp, inbox, clock, worker="a")
    a.run_once()
    with Session(engine) as s:
        job = s.exec(select(Job).where(Job.dedupe_key == create_key(first))).one()
    stale = jobqueue.ClaimedJob(job.id, job.kind, job.dedupe_key, job.payload, job.attempts, "a", clock.now)
    with a.queue.batch():
        assert a.outbox.record(stale, erp_id="1", po_number="PO-000001", claim_notice=True) == (False, None)
    with Session(engine) as s:
        assert len(s.exec(select(ErpPurchaseOrder)).all()) == 2
        assert verify_chain(s).ok
        events = s.exec(select(AuditEvent.requisition_number).where(AuditEvent.kind == "po_created")).all()
    assert sorted(events) == sorted([first, second])
    assert service.view(first).state == service.view(second).state == "po_created"
    assert sorted(p for p, _ in inbox.sent) == ["jake.miller", "maria.lopez"]


def test_a_notice_claimed_by_a_dispatcher_that_died_is_sent_once_after_its_lease(
    service, engine, directory, clock, erp
):
    """A dispatcher records the PO and dies before telling Jake: after its lease another dispatcher tells
    him, once."""
    number = approve_small(service)
    dying = dispatcher(engine, directory, erp, Inbox(), clock, worker="dying")
    [job] = dying.queue.claim("erp.create_po")
    po = erp.create_po(
        __import__("connectors.erp.base", fromlist=["x"]).PurchaseOrderRequest.from_payload(job.payload["order"])
    )
    with dying.queue.batch():
        recorded, _notice = dying.outbox.record(job, erp_id=po.erp_id, po_number=po.number, claim_notice=True)
    assert recorded  # ... and the process dies here, the notice (claimed on PostgreSQL) never sent
    inbox = Inbox()
    other = dispatcher(engine, directory, erp, inbox, clock, worker="other")
    clock.advance(minutes=6)
    other.run_once()
    other.run_once()
    assert inbox.kinds("jake.miller") == ["po_created"] and number in inbox.sent[0][1].text


def test_a_batch_records_the_jobs_it_still_holds_and_skips_the_one_it_lost(service, engine, directory, clock, erp):
    """Two POs made in one pass, but the claim on the first was lost meanwhile: the second is recorded
    with its notice, the first is left for its new holder, and the audit chain still verifies."""
    from dataclasses import replace

    from approvals.audit import verify_chain
    from connectors.erp.base import PurchaseOrderRequest

    first, second = approve_small(service), approve_small(service, "maria.lopez")
    a = dispatcher(engine, directory, erp, Inbox(), clock, worker="a")
    jobs = a.queue.claim("erp.create_po", limit=5)
    pos = [erp.create_po(PurchaseOrderRequest.from_payload(j.payload["order"])) for j in jobs]
    stale = replace(jobs[0], attempts=jobs[0].attempts + 7)  # as if another claim had taken the row since
    with a.queue.batch():
        results = a.outbox.record_batch(
            [(stale, pos[0].erp_id, pos[0].number, "open"), (jobs[1], pos[1].erp_id, pos[1].number, "open")],
            claim_notice=True,
        )
    assert [r[0] for r in results] == [False, True]
    assert service.view(first).state == "po_pending" and service.view(second).state == "po_created"
    with Session(engine) as s:
        assert [p.requisition_number for p in s.exec(select(ErpPurchaseOrder)).all()] == [second]
        assert verify_chain(s).ok


def test_drain_sends_everything_due_in_passes_on_one_connection_and_stops_when_idle(
    service, engine, directory, clock, erp
):
    """Twelve approvals with a batch of five: one drain makes all twelve POs and tells each requester, then a
    second drain finds nothing to do."""
    numbers = [approve_small(service, ["jake.miller", "maria.lopez"][i % 2]) for i in range(12)]
    inbox = Inbox()
    d = dispatcher(engine, directory, erp, inbox, clock)
    assert d.drain() == 24  # 12 create jobs and 12 notices
    assert {service.view(n).state for n in numbers} == {"po_created"} and erp.count() == 12
    assert sorted(inbox.kinds()) == ["po_created"] * 12
    assert d.drain() == 0


class Counting:
    """Wraps a connector and counts the create calls per requisition, from any thread."""

    def __init__(self, inner):  # type: ignore[no-untyped-def]
        import threading
        from collections import Counter

        self.inner, self.name, self.calls, self._lock = inner, inner.name, Counter(), threading.Lock()

    def create_po(self, order, progress=None):  # type: ignore[no-untyped-def]
        with self._lock:
            self.calls[order.reference] += 1
        return self.inner.create_po(order, progress)

    def get_po_status(self, reference, erp_id=None):  # type: ignore[no-untyped-def]
        return self.inner.get_po_status(reference, erp_id)


def test_four_dispatchers_draining_at_once_never_send_one_job_twice(service, engine, directory, clock, erp):
    """Four dispatchers claim batches from the same backlog of thirty approvals at once: the ERP is asked for
    each PO exactly once, each requester hears once per PO, and the audit chain verifies."""
    import threading
    from collections import Counter

    from approvals.audit import verify_chain

    numbers = [approve_small(service, ["jake.miller", "maria.lopez"][i % 2]) for i in range(30)]
    erp_calls, inbox = Counting(erp), Inbox()
    workers = [dispatcher(engine, directory, erp_calls, inbox, clock, worker=f"w{i}") for i in range(4)]
    barrier = threading.Barrier(4)

    def work(d: ErpDispatcher) -> None:
        barrier.wait()
        while d.drain():
            pass

    threads = [threading.Thread(target=work, args=(d,)) for d in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert erp_calls.calls == Counter({n: 1 for n in numbers})
    assert {service.view(n).state for n in numbers} == {"po_created"} and erp.count() == 30
    told = Counter((person, notice.number) for person, notice in inbox.sent)
    assert len(told) == 30 and set(told.values()) == {1}
    with Session(engine) as s:
        assert verify_chain(s).ok


def test_a_dispatchers_connection_goes_back_to_the_pool_as_the_rest_of_the_app_expects(
    service, engine, directory, clock, erp
):
    """After a busy drain, every pooled PostgreSQL connection is transactional again and waits for the WAL flush
    on commit, so an approval that borrows it next is as durable as ever."""
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL holds the dispatcher's connection in autocommit")
    approve_small(service)
    assert dispatcher(engine, directory, erp, Inbox(), clock).drain() == 2
    pooled = [engine.connect() for _ in range(engine.pool.checkedin())]
    try:
        assert pooled
        for conn in pooled:
            assert conn.connection.driver_connection.autocommit is False
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    finally:
        for conn in pooled:
            conn.close()


def test_a_pass_runs_the_due_status_and_master_data_syncs_beside_the_notices(service, engine, directory, clock, erp):
    """The recurring status and master-data syncs are picked up in the same pass as the requesters' notices,
    each runs once and comes back after its own interval; when goods arrive, the next due status sync tells
    Jake."""
    from datetime import timedelta

    from approvals import master_data
    from approvals.jobqueue import as_utc
    from approvals.outbox import SYNC_STATUS
    from bot.erp_dispatcher import schedule_status_sync

    schedule_status_sync(engine, clock)
    number = approve_small(service)
    inbox = Inbox()
    d = dispatcher(engine, directory, erp, inbox, clock)
    d.run_once()
    assert service.view(number).state == "po_created" and inbox.kinds("jake.miller") == ["po_created"]
    assert master_data.last_synced(engine, "sandbox") is not None
    with Session(engine) as s:
        syncs = s.exec(select(Job).where(Job.kind.in_([SYNC_STATUS, master_data.SYNC_MASTER]))).all()  # type: ignore[attr-defined]
        due = {j.kind: (j.state, as_utc(j.due_at) - clock.now) for j in syncs}
    every = (d.settings.erp_status_sync_minutes, d.settings.erp_master_sync_minutes)
    assert due == {
        SYNC_STATUS: ("due", timedelta(minutes=every[0])),
        master_data.SYNC_MASTER: ("due", timedelta(minutes=every[1])),
    }
    erp.move("PO-000001", "received")
    assert d.run_once() == 0  # nothing is due before the status sync's interval has passed
    clock.advance(minutes=every[0])
    d.run_once()
    d.run_once()
    assert inbox.kinds("jake.miller") == ["po_created", "po_received"]
