"""New suppliers: a requester asks procurement to add one, a buyer decides, the ERP and the directory get it once."""

from __future__ import annotations

import threading

import pytest
from factories import draft, submit
from sqlmodel import Session, select

from approvals import audit, new_suppliers, outbox, recurring
from approvals.attachment_store import DatabaseStore
from approvals.commands import Approve
from approvals.db import transaction
from approvals.directory_store import LiveDirectory, active_directory, install_directory
from approvals.errors import NotAllowed, NotFound, StaleAction, ValidationFailed
from approvals.jobqueue import Job
from approvals.new_suppliers import SupplierRequest
from approvals.policy.loader import load_policy_text
from approvals.policy_store import install_policy
from approvals.requisition import build_facts
from approvals.scheduling.runner import Scheduler
from approvals.workflow import ApprovalService
from bot.erp_dispatcher import ErpDispatcher
from connectors.erp.base import PermanentError
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp
from tests.conftest import EXAMPLES

WRAP = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 10, "unit_price": 32}
NEW_SUPPLIER_RULE = """
  - id: new-supplier
    description: A supplier added through a new-supplier request is reviewed by procurement first
    when: {supplier.new: true}
    stages:
      - {name: New supplier review, approvers: [{group: buyers}], mode: any, sla_hours: 24, check_limits: false}
"""


class Inbox:
    """A notifier that remembers every notice, as a chat surface would show it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def send(self, person_id, notice):  # type: ignore[no-untyped-def]
        self.sent.append((person_id, notice))
        return f"msg-{len(self.sent)}"

    def to(self, person: str) -> list:  # type: ignore[type-arg]
        return [n for p, n in self.sent if p == person]


@pytest.fixture
def stored(engine, clock):  # type: ignore[no-untyped-def]
    """The example company as the active directory version, read live as a server reads it."""
    with transaction(engine) as session:
        install_directory(session, (EXAMPLES / "company.yaml").read_text(encoding="utf-8"), at=clock())
    return LiveDirectory(engine, every_seconds=0)


def ask(engine, directory, clock, actor="jake.miller", name="Lone Star Safety Supply", **kw):  # type: ignore[no-untyped-def]
    fields = {"email": "sales@lonestarsafety.example", "website": "lonestarsafety.example", **kw}
    return new_suppliers.ask(engine, directory, actor=actor, name=name, now=clock(), surface="web", **fields)


def dispatcher(engine, directory, clock, inbox):  # type: ignore[no-untyped-def]
    settings = ErpSettings(_env_file=None, erp_max_attempts=3, erp_backoff_base_seconds=2, erp_backoff_max_seconds=60)
    erp = SandboxErp(engine, directory)
    return ErpDispatcher(engine, directory, erp, inbox, settings=settings, clock=clock, worker_id="w1")


def requests(engine) -> list[SupplierRequest]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.exec(select(SupplierRequest)).all())


def test_missing_or_wrong_email_and_website_are_named_and_nothing_is_written(engine, directory, clock):
    """An empty e-mail and a website that is not one are both refused with how to write them; no request exists."""
    with pytest.raises(ValidationFailed) as caught:
        ask(engine, directory, clock, email="", website="not a website")
    fields = {e.field: e.message for e in caught.value.errors}
    assert "sales@acme.com" in fields["email"]
    assert "is not a website address" in fields["website"]
    with pytest.raises(ValidationFailed) as caught:
        ask(engine, directory, clock, email="sales-at-acme", website="javascript:alert(1)")
    assert {e.field for e in caught.value.errors} == {"email", "website"}
    assert requests(engine) == []


def test_a_supplier_we_already_have_is_pointed_to_instead(engine, directory, clock):
    """Asking to add "uline" names the existing supplier Uline instead of opening a request."""
    with pytest.raises(ValidationFailed) as caught:
        ask(engine, directory, clock, name="ULINE")
    assert "Uline is already a supplier" in caught.value.errors[0].message


def test_a_second_request_for_the_same_name_joins_the_first_and_buyers_hear_once(engine, directory, clock):
    """Jake and Maria ask for the same supplier (spelt differently): one request, both wait, buyers told once."""
    first = ask(engine, directory, clock, draft={"surface": "web", "draft_id": "d1", "draft": {"x": 1}})
    second = ask(engine, directory, clock, actor="maria.lopez", name="lone star  SAFETY supply")
    assert not first.joined and second.joined
    assert second.request.number == first.request.number
    assert "already asked" in second.message
    [row] = requests(engine)
    assert [w["person"] for w in row.waiting] == ["jake.miller", "maria.lopez"]
    assert new_suppliers.waiting_draft(row, "jake.miller") == {
        "person": "jake.miller",
        "surface": "web",
        "draft_id": "d1",
        "draft": {"x": 1},
    }
    with Session(engine) as s:
        notices = s.exec(select(Job).where(Job.kind == "erp.notify")).all()
    assert sorted(j.payload["to"] for j in notices) == ["ben.turner", "grace.kim"]
    assert [a["id"] for a in notices[0].payload["actions"]] == ["supplier.approve", "supplier.reject", "supplier.ask"]


def test_only_a_buyer_may_approve_and_a_double_tap_changes_nothing_twice(engine, directory, clock):
    """Jake (not a buyer) is refused; Ben approves; Ben's second tap and Grace's late one are told who decided."""
    number = ask(engine, directory, clock).request.number
    with pytest.raises(NotAllowed, match="Only buyers"):
        new_suppliers.decide(engine, directory, number, actor="jake.miller", decision="approve", now=clock())
    assert requests(engine)[0].state == "pending"
    row = new_suppliers.decide(engine, directory, number, actor="ben.turner", decision="approve", now=clock())
    assert row.state == "approved"
    for buyer in ("ben.turner", "grace.kim"):
        with pytest.raises(StaleAction, match="already approved by Ben Turner"):
            new_suppliers.decide(engine, directory, number, actor=buyer, decision="reject", note="no", now=clock())
    with Session(engine) as s:
        jobs = s.exec(select(Job).where(Job.kind == new_suppliers.CREATE_SUPPLIER)).all()
        kinds = [e.kind for e in s.exec(select(audit.AuditEvent)).all()]
    assert len(jobs) == 1
    assert kinds.count("supplier_approved") == 1


def test_a_buyer_asks_the_requester_answers_and_a_rejection_says_why(engine, directory, clock):
    """Grace asks for the tax id, Jake answers, the request is pending again; Ben then rejects it with a reason."""
    number = ask(engine, directory, clock).request.number
    with pytest.raises(ValidationFailed):
        new_suppliers.decide(engine, directory, number, actor="grace.kim", decision="ask", now=clock())
    row = new_suppliers.decide(
        engine, directory, number, actor="grace.kim", decision="ask", note="What is their tax id?", now=clock()
    )
    assert row.state == "needs_info"
    row = new_suppliers.answer(engine, directory, number, actor="jake.miller", text="EIN 12-3456789", now=clock())
    assert (row.state, row.note) == ("pending", "EIN 12-3456789")
    row = new_suppliers.decide(
        engine, directory, number, actor="ben.turner", decision="reject", note="use Grainger", now=clock()
    )
    assert row.state == "rejected"
    with Session(engine) as s:
        to_jake = [j.payload["text"] for j in s.exec(select(Job).where(Job.kind == "erp.notify")).all()]
    assert any("What is their tax id?" in t for t in to_jake)
    assert any("did not add Lone Star Safety Supply" in t and "use Grainger" in t for t in to_jake)


def test_an_approved_supplier_is_created_once_in_the_erp_and_the_directory_and_routes_as_new(
    engine, stored, policy, clock
):
    """Ben approves; the dispatcher creates the vendor once (a second pass does nothing), the directory gets it as
    new and not contracted, Jake hears he can go on, and his request routes to the policy's new-supplier review."""
    number = ask(engine, stored, clock, draft={"surface": "web", "draft_id": "d1", "draft": {}}).request.number
    new_suppliers.decide(engine, stored, number, actor="ben.turner", decision="approve", now=clock())
    inbox = Inbox()
    worker = dispatcher(engine, stored, clock, inbox)
    worker.drain()
    worker.drain()
    row = new_suppliers.get(engine, number)
    assert row.state == "created" and row.supplier_id
    with Session(engine) as s:
        found = active_directory(s)
        assert found is not None
        version, fresh = found
        vendors = s.exec(select(Job).where(Job.kind == new_suppliers.CREATE_SUPPLIER)).all()
        report = audit.verify_chain(s)
    assert version.origin == "supplier"
    supplier = fresh.supplier_by_id[row.supplier_id]
    assert (supplier.name, supplier.new, supplier.contracted) == ("Lone Star Safety Supply", True, False)
    assert [j.state for j in vendors] == ["done"]
    assert not report.problems
    [created] = [n for n in inbox.to("jake.miller") if n.kind == "supplier_created"]  # type: ignore[attr-defined]
    assert created.actions[0]["id"] == "supplier.continue"  # type: ignore[attr-defined]

    # the waiting request goes on with the new supplier, routed under a policy that tests supplier.new
    text = (EXAMPLES / "policy.yaml").read_text(encoding="utf-8").replace("rules:\n", "rules:" + NEW_SUPPLIER_RULE, 1)
    with_rule = load_policy_text(text, "policy.yaml")
    with transaction(engine) as session:
        install_policy(session, with_rule, at=clock())
    stored.refresh(force=True)
    service = ApprovalService(engine, stored, clock=clock)
    result = service.submit(submit("jake.miller", supplier=row.supplier_id, lines=[WRAP]))
    assert result.outcome != "auto_approved"
    assert {s.rule_id for s in result.requisition.steps} == {"new-supplier"}
    assert {s.approver for s in result.requisition.steps} == {"ben.turner", "grace.kim"}


def test_the_facts_say_whether_a_supplier_is_new(directory, policy):
    """Uline is not new; the policy loader accepts a rule on supplier.new."""
    facts = build_facts(draft(lines=[WRAP]), directory, policy)
    assert facts["supplier.new"] is False
    text = (EXAMPLES / "policy.yaml").read_text(encoding="utf-8").replace("rules:\n", "rules:" + NEW_SUPPLIER_RULE, 1)
    assert load_policy_text(text, "policy.yaml").spec.rules[0].id == "new-supplier"


def test_a_tax_document_is_checked_kept_and_shown_only_to_buyers_and_its_requesters(engine, directory, clock):
    """Jake's W-9 (a real PDF) is kept with the request: Ben (buyer) and Jake read it, Zoe (not involved) is told
    there is none; a web page renamed w9.pdf is refused with what to send, and no request is opened."""
    store = DatabaseStore()
    with pytest.raises(ValidationFailed) as caught:
        ask(engine, directory, clock, document=("w9.pdf", b"<html>not a pdf</html>"), store=store)
    assert "is not a real PDF" in caught.value.errors[0].message and requests(engine) == []
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    number = ask(engine, directory, clock, document=("W-9 form.pdf", pdf), store=store).request.number
    for reader in ("ben.turner", "jake.miller"):
        record, data = new_suppliers.tax_document(engine, store, directory, number, reader)
        assert (record["filename"], record["content_type"], data) == ("W-9 form.pdf", "application/pdf", pdf)
    with pytest.raises(NotFound):
        new_suppliers.tax_document(engine, store, directory, number, "zoe.martin")


def test_two_buyers_approving_at_once_make_one_decision(engine, directory, clock):
    """Ben and Grace press Approve at the same moment: one approval, one ERP job; the other is told who decided."""
    number = ask(engine, directory, clock).request.number
    start, results = threading.Barrier(2), {}

    def press(buyer: str) -> None:
        start.wait()
        try:
            new_suppliers.decide(engine, directory, number, actor=buyer, decision="approve", now=clock())
            results[buyer] = "approved"
        except StaleAction as exc:
            results[buyer] = exc.message

    threads = [threading.Thread(target=press, args=(b,)) for b in ("ben.turner", "grace.kim")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    said = list(results.values())
    assert said.count("approved") == 1 and any("already approved by" in words for words in said), said
    with Session(engine) as s:
        assert len(s.exec(select(Job).where(Job.kind == new_suppliers.CREATE_SUPPLIER)).all()) == 1


class Refusing:
    """The sandbox ERP that refuses new vendors for good (a mandatory field it wants and we do not send)."""

    def __init__(self, inner):  # type: ignore[no-untyped-def]
        self.inner, self.name = inner, inner.name

    def create_supplier(self, request):  # type: ignore[no-untyped-def]
        raise PermanentError("the ERP needs a payment terms code for new vendors", status=422)

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)


def test_a_vendor_the_erp_refuses_tells_the_buyer_and_adds_nothing(engine, stored, clock):
    """The ERP refuses the vendor for good: the job is dead, Ben (who approved) hears why, the directory is as it
    was, and the refusal is in the audit chain."""
    number = ask(engine, stored, clock).request.number
    new_suppliers.decide(engine, stored, number, actor="ben.turner", decision="approve", now=clock())
    inbox = Inbox()
    settings = ErpSettings(_env_file=None, erp_max_attempts=3, erp_backoff_base_seconds=2, erp_backoff_max_seconds=60)
    erp = Refusing(SandboxErp(engine, stored))
    ErpDispatcher(engine, stored, erp, inbox, settings=settings, clock=clock, worker_id="w1").drain()
    assert new_suppliers.get(engine, number).state == "approved"
    [told] = [n for n in inbox.to("ben.turner") if n.kind == "supplier_failed"]  # type: ignore[attr-defined]
    assert "payment terms code" in told.text  # type: ignore[attr-defined]
    with Session(engine) as s:
        [job] = s.exec(select(Job).where(Job.kind == new_suppliers.CREATE_SUPPLIER)).all()
        kinds = [e.kind for e in s.exec(select(audit.AuditEvent)).all()]
        found = active_directory(s)
    assert job.state == "dead" and "supplier_create_failed" in kinds
    assert found is not None and "Lone Star Safety Supply" not in {x.name for x in found[1].suppliers}


def test_the_first_purchase_order_ends_new_audited_and_routing_sees_it(engine, stored, policy, clock):
    """Lone Star Safety Supply is added as new; Jake's request for it goes to the new-supplier review, Ben approves and
    the ERP makes its first PO: from then on it is not new (a new directory version, one audit event with the PO), and
    Jake's next request for it skips the new-supplier review; a second PO changes nothing more."""
    number = ask(engine, stored, clock).request.number
    new_suppliers.decide(engine, stored, number, actor="ben.turner", decision="approve", now=clock())
    worker = dispatcher(engine, stored, clock, Inbox())
    worker.drain()
    supplier_id = new_suppliers.get(engine, number).supplier_id
    text = (EXAMPLES / "policy.yaml").read_text(encoding="utf-8").replace("rules:\n", "rules:" + NEW_SUPPLIER_RULE, 1)
    with transaction(engine) as session:
        install_policy(session, load_policy_text(text, "policy.yaml"), at=clock())
    stored.refresh(force=True)
    service = ApprovalService(engine, stored, clock=clock)
    outbox.install(service)
    first = service.submit(submit("jake.miller", supplier=supplier_id, lines=[WRAP]))
    assert {s.rule_id for s in first.requisition.steps} == {"new-supplier"}
    service.approve(Approve(actor="ben.turner", number=first.number))
    worker.drain()
    assert service.view(first.number).state == "po_created"

    stored.refresh(force=True)
    assert stored.supplier_by_id[supplier_id].new is False
    with Session(engine) as s:
        found = active_directory(s)
        assert found is not None and found[1].supplier_by_id[supplier_id].new is False
        events = [e for e in audit.iter_events(s) if e.kind == new_suppliers.NO_LONGER_NEW]
        report = audit.verify_chain(s)
    [event] = events
    assert event.requisition_number == first.number and event.actor == "erp"
    assert event.before == {"supplier": supplier_id, "new": True}
    assert event.after["new"] is False and event.after["po_number"].startswith("PO-")
    assert not report.problems
    assert build_facts(draft(supplier=supplier_id, lines=[WRAP]), stored, policy)["supplier.new"] is False

    again = service.submit(submit("jake.miller", supplier=supplier_id, lines=[WRAP], key="second"))
    assert "new-supplier" not in {s.rule_id for s in again.requisition.steps}
    for step in again.requisition.steps:
        service.approve(Approve(actor=step.acting, number=again.number))
    worker.drain()
    with Session(engine) as s:
        assert len([e for e in audit.iter_events(s) if e.kind == new_suppliers.NO_LONGER_NEW]) == 1


def test_a_recurring_requests_first_release_ends_new_too(engine, stored, policy, clock):
    """Jake buys stretch wrap from the new Lone Star Safety Supply every month: its first release's PO ends `new`,
    with the audit event on his recurring requisition, exactly as a one-off PO does."""
    number = ask(engine, stored, clock).request.number
    new_suppliers.decide(engine, stored, number, actor="ben.turner", decision="approve", now=clock())
    worker = dispatcher(engine, stored, clock, Inbox())
    worker.drain()
    supplier_id = new_suppliers.get(engine, number).supplier_id
    with transaction(engine) as session:
        install_policy(session, policy, at=clock())
    stored.refresh(force=True)
    service = ApprovalService(engine, stored, clock=clock)
    recurring.install(service)
    schedule = {"period": "month", "releases": 12}
    rolls = {**WRAP, "quantity": 12}
    result = service.submit(submit("jake.miller", supplier=supplier_id, lines=[rolls], schedule=schedule))
    while service.view(result.number).waiting_on:
        service.approve(Approve(actor=service.view(result.number).waiting_on[0], number=result.number))
    Scheduler(service, Inbox(), clock=clock).run_until_idle()  # the first release comes due
    worker.drain()
    assert service.view(result.number).state == "po_created"
    stored.refresh(force=True)
    assert stored.supplier_by_id[supplier_id].new is False
    with Session(engine) as s:
        [event] = [e for e in audit.iter_events(s) if e.kind == new_suppliers.NO_LONGER_NEW]
        assert not audit.verify_chain(s).problems
    assert event.requisition_number == result.number and event.after["supplier"] == supplier_id
