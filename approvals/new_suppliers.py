"""New suppliers: a requester asks procurement to add one, a buyer reviews it, the ERP and our directory get it.

The life of a supplier request (`SUP-<n>`)::

    ask()  ──> pending ──decide(approve)──> approved ──record_created()──> created
                 │  ▲                          (outbox job erp.create_supplier, sent by the dispatcher)
                 │  └──answer()── needs_info <──decide(ask)──┘
                 └──decide(reject)──> rejected

* `ask` validates what a buyer needs (name, contact e-mail, website; a tax id is optional) and either opens a
  request or joins the open one for the same name (case and spacing do not matter), so a second requester waits
  on the first request rather than making a duplicate. Each requester's waiting draft is kept on the request as
  the surface gave it (opaque JSON here), to be continued once the supplier exists.
* `decide` is for buyers only (role `buyer`); a second tap on a request already decided changes nothing and
  says who decided. Approval enqueues one `erp.create_supplier` job keyed by the request number, in the same
  transaction: the ERP gets the vendor exactly once however often the dispatcher retries (the connector is
  idempotent on the same reference too).
* `record_created` (the dispatcher, after the ERP made the vendor) adds the supplier to a new directory version
  (marked `new`, not contracted, so the policy can test `supplier.new`), completes the job fenced by its claim,
  writes the audit event and tells the requesters, all in one transaction. The chat edge delivers a requester's
  notice as their waiting request continued, ready to submit (bot/intake/new_suppliers.py, `ContinueWaiting`).
* A supplier stays `new` until its first purchase order exists in the ERP: then it has history with us. `first_orders`
  is called where a created PO is recorded (approvals/outbox.py, and a recurring release's in approvals/recurring.py),
  in that transaction: a directory version without the mark and a `supplier_no_longer_new` audit event.

Every change is one transaction with its audit event (approvals/audit.py); notices to people are `erp.notify`
jobs, delivered by the dispatcher like the PO notices. Pure core: no connector, no chat surface.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Sequence
from urllib.parse import urlsplit

from sqlalchemy import JSON, Column, Engine, Text
from sqlmodel import Field, Session, SQLModel, col, select

from approvals import audit, jobqueue
from approvals.attachment_store import AttachmentStore, key_for
from approvals.attachments import AttachmentLimits, check_file, megabytes
from approvals.columns import timestamp_field
from approvals.db import transaction
from approvals.directory import Directory, Supplier, dump_directory
from approvals.directory_store import (
    ACTIVE_SOURCE,
    DirectoryVersion,
    activation_writes,
    active_directory,
    content_hash,
    directory_for,
    install_directory,
)
from approvals.errors import FieldError, NotAllowed, NotFound, StaleAction, ValidationFailed
from approvals.jobqueue import ClaimedJob, JobQueue
from approvals.notices import Notice
from approvals.wire import Wire

CREATE_SUPPLIER = "erp.create_supplier"
NOTIFY = "erp.notify"  # the outbox's notice kind (approvals.outbox.NOTIFY), delivered by the dispatcher
BUYER_ROLE = "buyer"
PENDING, NEEDS_INFO, APPROVED, CREATED, REJECTED = "pending", "needs_info", "approved", "created", "rejected"
OPEN_STATES = (PENDING, NEEDS_INFO)  # a second request for the same name joins one of these
Decision = Literal["approve", "reject", "ask"]

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_HOST = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_TAX_ID = re.compile(r"^[A-Za-z0-9 ./-]{4,40}$")


class SupplierRequest(SQLModel, table=True):
    """One request to add a supplier, and the requesters waiting on it."""

    __tablename__ = "supplier_request"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    name_key: str = Field(max_length=200, index=True)  # the name folded: "ACME  Tools" joins "acme tools"
    email: str = Field(max_length=254)
    website: str = Field(max_length=300)
    tax_id: str | None = Field(default=None, max_length=40)
    # the supplier's tax document, if one was sent: {"filename", "content_type", "size", "sha256", "key"}; its bytes
    # are in the attachment store under `key`, served only to whoever may see the request (`tax_document`)
    tax_document: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    currency: str = Field(default="USD", max_length=3)
    state: str = Field(default=PENDING, max_length=20)
    requested_by: str = Field(max_length=80)
    requested_at: datetime = timestamp_field()
    surface: str = Field(default="api", max_length=20)
    # [{"person", "surface", "draft_id", "draft"}]: each requester's draft, as their surface keeps it
    waiting: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decided_by: str | None = Field(default=None, max_length=80)
    decided_at: datetime | None = timestamp_field(default=None)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # reason, question, answer
    supplier_id: str | None = Field(default=None, max_length=80)
    erp_key: str | None = Field(default=None, max_length=100)
    updated_at: datetime = timestamp_field()

    @property
    def number(self) -> str:
        return f"SUP-{self.id}"


@dataclass(frozen=True)
class Asked:
    """What `ask` did: the request, and whether it joined one already open."""

    request: SupplierRequest
    joined: bool

    @property
    def message(self) -> str:
        r = self.request
        if self.joined:
            return (
                f"Procurement was already asked to add {r.name} ({r.number}); your request waits on it too. "
                "I will tell you when a buyer decides."
            )
        return (
            f"I asked procurement to add {r.name} ({r.number}). Your request waits as a draft; "
            "I will tell you when a buyer decides."
        )


def number_of(text: str) -> int:
    """The id in "SUP-7" (or "7"); NotFound for anything else."""
    m = re.fullmatch(r"\s*(?:SUP-?)?(\d{1,9})\s*", text or "", re.I)
    if m is None:
        raise NotFound(f"{text!r} is not a supplier request number (they look like SUP-7).")
    return int(m.group(1))


def fold(name: str) -> str:
    return " ".join(re.sub(r"[^\w&]+", " ", name.casefold()).split())


# ---------------------------------------------------------------------------------- checking what was typed


def clean_website(text: str) -> str | None:
    """https://host[/path] from "acme.com", "www.acme.com/tools" or a full URL; None when it is not a website."""
    raw = (text or "").strip()
    if not raw or any(c.isspace() for c in raw):
        return None
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or parts.username or parts.password:
        return None
    host = (parts.hostname or "").rstrip(".")
    if not _HOST.match(host):
        return None
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{host}{path}"


def check(
    directory: Directory, name: str, email: str, website: str, tax_id: str | None
) -> tuple[str, str, str, str | None]:
    """(name, e-mail, website, tax id) cleaned, or ValidationFailed naming each wrong field and how to fix it."""
    errors: list[FieldError] = []
    name = " ".join((name or "").split())
    if len(name) < 2 or len(name) > 200 or "\x00" in name:
        errors.append(FieldError("name", "give the supplier's name (2 to 200 characters)"))
    else:
        known = _known(directory, name)
        if known is not None:
            errors.append(
                FieldError("name", f"{known.name} is already a supplier (id {known.id}); pick it instead of adding it")
            )
    email = (email or "").strip()
    if not email:
        errors.append(FieldError("email", "give a contact e-mail address at the supplier, like sales@acme.com"))
    elif len(email) > 254 or not _EMAIL.match(email):
        errors.append(FieldError("email", f"{email[:80]!r} is not an e-mail address; write it like sales@acme.com"))
    site = clean_website(website)
    if not (website or "").strip():
        errors.append(FieldError("website", "give the supplier's website, like acme.com"))
    elif site is None or len(site) > 300:
        errors.append(
            FieldError("website", f"{website.strip()[:80]!r} is not a website address; write it like acme.com")
        )
    tax = " ".join((tax_id or "").split()) or None
    if tax is not None and not _TAX_ID.match(tax):
        errors.append(FieldError("tax_id", "a tax id is 4 to 40 letters, digits, spaces, dots, dashes or slashes"))
    if errors:
        raise ValidationFailed(errors)
    return name, email.lower(), site or "", tax


def _known(directory: Directory, name: str) -> Supplier | None:
    key = fold(name)
    for s in directory.suppliers:
        if key in (fold(s.name), fold(s.id), *(fold(a) for a in s.aliases)):
            return s
    return None


# ---------------------------------------------------------------------------------- the requester


def ask(
    engine: Engine,
    directory: Directory,
    *,
    actor: str,
    name: str,
    email: str,
    website: str,
    tax_id: str | None = None,
    currency: str | None = None,
    draft: dict[str, Any] | None = None,
    document: tuple[str, bytes] | None = None,
    store: AttachmentStore | None = None,
    limits: AttachmentLimits | None = None,
    surface: str = "api",
    now: datetime,
) -> Asked:
    """Open a request to add a supplier, or join the open one for the same name. `draft` is the requester's
    waiting draft as their surface keeps it ({"surface", "draft_id", "draft"}), continued once it is added.
    `document` (file name, bytes) is the supplier's tax document, checked as an attachment is (size, kind, content)
    and kept in `store`; a refused file refuses the request with the limit named, and nothing is written."""
    if directory.person(actor) is None:
        raise NotAllowed(f"{actor!r} is not in the company directory.")
    name, email, site, tax = check(directory, name, email, website, tax_id)
    paper: dict[str, Any] | None = None
    blob = document[1] if document is not None else b""
    if document is not None:
        if store is None:
            raise ValidationFailed([FieldError("tax_document", "files cannot be kept here; ask without the file")])
        filename, content_type = check_file(document[0], document[1], limits or AttachmentLimits())
        paper = {
            "filename": filename,
            "content_type": content_type,
            "size": len(document[1]),
            "sha256": hashlib.sha256(document[1]).hexdigest(),
            "key": key_for(document[1]),
        }
    waiting = {"person": actor, **(draft or {"surface": surface})}
    with transaction(engine) as session:
        audit.lock_chain(session)  # one ask at a time: two people asking for the same name give one request
        open_one = session.exec(
            select(SupplierRequest)
            .where(SupplierRequest.name_key == fold(name), col(SupplierRequest.state).in_(OPEN_STATES + (APPROVED,)))
            .order_by(col(SupplierRequest.id))
        ).first()
        if paper is not None and store is not None and (open_one is None or open_one.tax_document is None):
            store.put(session, paper["key"], blob)
        if open_one is not None:
            entries = [w for w in open_one.waiting if not _same_wait(w, waiting)]
            open_one.waiting = entries + [waiting]
            if open_one.tax_document is None and paper is not None:
                open_one.tax_document = paper
            open_one.updated_at = now
            session.add(open_one)
            audit.append_event(
                session,
                kind="supplier_request_joined",
                actor=actor,
                at=now,
                surface=surface,
                after={"request": open_one.number, "name": open_one.name, "waiting": len(open_one.waiting)},
            )
            session.flush()
            session.refresh(open_one)
            return Asked(open_one, True)
        row = SupplierRequest(
            name=name,
            name_key=fold(name),
            email=email,
            website=site,
            tax_id=tax,
            tax_document=paper,
            currency=(currency or directory.currency or "USD")[:3].upper(),
            requested_by=actor,
            requested_at=now,
            surface=surface[:20],
            waiting=[waiting],
            updated_at=now,
        )
        session.add(row)
        session.flush()
        audit.append_event(
            session,
            kind="supplier_requested",
            actor=actor,
            at=now,
            surface=surface,
            after={
                "request": row.number,
                "name": name,
                "email": email,
                "website": site,
                "tax_id": tax,
                **({"tax_document": {k: paper[k] for k in ("filename", "size", "sha256")}} if paper else {}),
            },
        )
        requester = directory.person(actor)
        who = requester.name if requester else actor
        _notify(
            session,
            _buyers(directory),
            Notice(
                "supplier_requested",
                f"{who} asks procurement to add a new supplier: {name} ({email}, {site}"
                + (f", tax id {tax}" if tax else "")
                + (f", tax document {paper['filename']} ({megabytes(paper['size'])})" if paper else "")
                + f"). Review {row.number}.",
                f"supplier_requested:{row.number}",
                actions=_review_actions(row.number),
            ),
            now,
        )
        session.refresh(row)
        return Asked(row, False)


def _same_wait(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("person") == b.get("person") and a.get("draft_id") == b.get("draft_id")


def answer(
    engine: Engine, directory: Directory, number: str, *, actor: str, text: str, surface: str = "api", now: datetime
) -> SupplierRequest:
    """The requester answers a buyer's question: the request is pending again and the buyers are told."""
    words = " ".join((text or "").split())
    if not words:
        raise ValidationFailed([FieldError("answer", "write the answer to the buyer's question")])
    with transaction(engine) as session:
        row = _locked(session, number)
        if actor not in {w.get("person") for w in row.waiting} and actor != row.requested_by:
            raise NotFound(f"There is no supplier request {number} of yours.")
        if row.state != NEEDS_INFO:
            raise StaleAction(f"{row.number} is not waiting for an answer (it is {row.state.replace('_', ' ')}).")
        row.state, row.note, row.updated_at = PENDING, words[:2000], now
        session.add(row)
        audit.append_event(
            session,
            kind="supplier_info_answered",
            actor=actor,
            at=now,
            surface=surface,
            before={"state": NEEDS_INFO},
            after={"request": row.number, "state": PENDING, "answer": words[:2000]},
        )
        who = directory.person(actor)
        _notify(
            session,
            _buyers(directory),
            Notice(
                "supplier_answered",
                f"{who.name if who else actor} answered about {row.name} ({row.number}): \u201c{words[:300]}\u201d",
                f"supplier_answered:{row.number}:{now.isoformat()}",
                actions=_review_actions(row.number),
            ),
            now,
        )
        session.flush()
        session.refresh(row)
        return row


# ---------------------------------------------------------------------------------- the buyer


def decide(
    engine: Engine,
    directory: Directory,
    number: str,
    *,
    actor: str,
    decision: Decision,
    note: str | None = None,
    surface: str = "api",
    now: datetime,
) -> SupplierRequest:
    """A buyer approves, rejects (with a reason) or asks the requester something. Only buyers; a request
    already decided is left as it is (StaleAction naming who decided)."""
    person = directory.person(actor)
    if person is None or not person.has_role(BUYER_ROLE):
        buyers = ", ".join(p.name for p in directory.people_with_role(BUYER_ROLE, None)) or "a buyer"
        raise NotAllowed(f"Only buyers can decide on new suppliers; ask {buyers}.")
    words = " ".join((note or "").split())[:2000]
    if decision in ("reject", "ask") and not words:
        what = "why it is rejected" if decision == "reject" else "what you need to know"
        raise ValidationFailed([FieldError("note", f"say {what}")])
    with transaction(engine) as session:
        row = _locked(session, number)
        if row.state not in OPEN_STATES:
            by = directory.person(row.decided_by or "")
            raise StaleAction(
                f"{row.number} ({row.name}) is already {row.state.replace('_', ' ')}"
                + (f" by {by.name}" if by else "")
                + "; nothing changed.",
                decided_by=row.decided_by,
                decided_at=row.decided_at.isoformat() if row.decided_at else None,
            )
        before = row.state
        row.decided_by, row.decided_at, row.updated_at = actor, now, now
        if decision == "approve":
            row.state = APPROVED
            jobqueue.enqueue(
                session, kind=CREATE_SUPPLIER, key=create_key(row.number), due_at=now, now=now, payload=_job(row)
            )
            text = f"{person.name} approved adding {row.name} ({row.number}); it is being created in the ERP."
        elif decision == "reject":
            row.state, row.note = REJECTED, words
            text = (
                f"{person.name} did not add {row.name} ({row.number}): {words} "
                "Your request is still a draft; pick a supplier we already use for it."
            )
        else:
            row.state, row.note = NEEDS_INFO, words
            text = f"{person.name} asks about {row.name} ({row.number}): \u201c{words}\u201d"
        session.add(row)
        audit.append_event(
            session,
            kind={"approve": "supplier_approved", "reject": "supplier_rejected", "ask": "supplier_info_requested"}[
                decision
            ],
            actor=actor,
            at=now,
            surface=surface,
            before={"state": before},
            after={"request": row.number, "name": row.name, "state": row.state, **({"note": words} if words else {})},
        )
        actions = (
            ({"id": "supplier.answer", "label": "Answer", "value": row.number, "input_label": "Your answer"},)
            if decision == "ask"
            else ()
        )
        _notify(
            session,
            _requesters(row),
            Notice(
                f"supplier_{row.state}", text, f"supplier_{row.state}:{row.number}:{now.isoformat()}", actions=actions
            ),
            now,
        )
        session.flush()
        session.refresh(row)
        return row


def create_key(number: str) -> str:
    """The ERP job's dedupe key: one per supplier request."""
    return f"{CREATE_SUPPLIER}:{number}"


def _job(row: SupplierRequest) -> dict[str, Any]:
    """The vendor as the ERP will get it (connectors.erp.base.NewSupplierRequest.to_payload's shape)."""
    return {
        "request": {
            "reference": row.number,
            "name": row.name,
            "email": row.email,
            "website": row.website,
            "currency": row.currency,
            "tax_id": row.tax_id,
        }
    }


# ---------------------------------------------------------------------------------- the dispatcher's calls


def record_created(
    engine: Engine,
    queue: JobQueue,
    job: ClaimedJob,
    *,
    supplier_id: str,
    erp_key: str = "",
    now: datetime,
) -> SupplierRequest | None:
    """The ERP made the vendor: the supplier joins a new directory version (new, not contracted), the request is
    created, the job done, the event written and the requesters told, in one transaction. None (nothing written)
    when this claim lost its job to another dispatcher, which records it instead."""
    number = job.payload["request"]["reference"]
    with transaction(engine) as session:
        if not queue.complete(job, sent_ref=(erp_key or supplier_id)[:200], session=session):
            return None
        row = _locked(session, number)
        if row.state == CREATED:
            return row
        found = active_directory(session)
        if found is None:
            raise NotFound("There is no active directory version to add the supplier to.")
        stored, directory = found
        existing = directory.supplier_by_id.get(supplier_id)
        sid = supplier_id
        if existing is not None and fold(existing.name) != row.name_key:
            sid = _free_id(directory, _slug(row.name))
        if sid not in directory.supplier_by_id:
            supplier = Supplier(
                id=sid,
                name=row.name,
                risk_tier="medium",
                contracted=False,
                contract_status="none",
                currency=row.currency,
                new=True,
            )
            text = dump_directory(directory.model_copy(update={"suppliers": (*directory.suppliers, supplier)}))
            install_directory(
                session,
                text,
                at=now,
                origin="supplier",
                filename=stored.filename or "directory",
                note=f"new supplier {row.name} ({sid}) from {row.number}",
                actor=row.decided_by or "system",
                surface="erp",
            )
        row.state, row.supplier_id, row.erp_key, row.updated_at = CREATED, sid, (erp_key or "")[:100], now
        session.add(row)
        audit.append_event(
            session,
            kind="supplier_created",
            actor="erp",
            at=now,
            surface="erp",
            before={"state": APPROVED},
            after={"request": row.number, "supplier": sid, "name": row.name, "erp_key": erp_key, "new": True},
        )
        _notify(
            session,
            _requesters(row),
            Notice(
                "supplier_created",
                f"{row.name} is now a supplier (new, not contracted). Your request can go on with it.",
                f"supplier_created:{row.number}",
                actions=({"id": "supplier.continue", "label": "Continue my request", "value": row.number},),
            ),
            now,
        )
        if row.decided_by:
            _notify(
                session,
                [row.decided_by],
                Notice(
                    "supplier_created", f"{row.name} ({sid}) was created in the ERP.", f"supplier_done:{row.number}"
                ),
                now,
            )
        session.flush()
        session.refresh(row)
        return row


def record_failed(engine: Engine, queue: JobQueue, job: ClaimedJob, reason: str, *, now: datetime) -> bool:
    """The ERP refused the vendor for good: the job is dead, the deciding buyer is told; one transaction."""
    number = job.payload["request"]["reference"]
    with transaction(engine) as session:
        if not queue.fail(job, reason, session=session):
            return False
        row = _locked(session, number)
        audit.append_event(
            session,
            kind="supplier_create_failed",
            actor="erp",
            at=now,
            surface="erp",
            after={"request": number, "reason": reason[:500], "attempts": job.attempts},
        )
        _notify(
            session,
            [row.decided_by or row.requested_by],
            Notice(
                "supplier_failed",
                f"The ERP would not create {row.name} ({number}): {reason}",
                f"supplier_failed:{number}:{job.attempts}",
            ),
            now,
        )
    return True


@dataclass(frozen=True)
class FirstOrders:
    """What first purchase orders change: the writes of a directory version in which their suppliers are no longer
    `new`, and for each such supplier the index (in the orders given) of its first order with its audit event's
    before and after."""

    writes: list[tuple[Any, dict[str, Any]]]
    events: list[tuple[int, dict[str, Any], dict[str, Any]]]


NO_LONGER_NEW = "supplier_no_longer_new"  # the audit event's kind


def first_orders(wire: Wire, orders: Sequence[tuple[str | None, str, str]], *, now: datetime) -> FirstOrders:
    """`orders` (supplier id, requisition number, PO number) now exist in the ERP: a supplier still marked `new` has
    history with us and loses the mark, so the policy's `supplier.new` reads false from the next request on.

    Where created POs are recorded (approvals/outbox.py, approvals/recurring.py), in their transaction, which holds
    the audit chain's lock, as every directory activation does: the active version read here is the one replaced.
    The caller sends the writes and chains each event (kind `NO_LONGER_NEW`, actor "erp") with the order it names.
    Nothing (and no write) when no supplier among them is new."""
    found = wire.send(ACTIVE_SOURCE).first()
    if found is None:
        return FirstOrders([], [])
    version_id, digest, filename, source = found
    directory = directory_for(DirectoryVersion(id=version_id, content_hash=digest, filename=filename, source=source))
    first: dict[str, int] = {}
    for i, (sid, _, _) in enumerate(orders):
        supplier = directory.supplier_by_id.get(sid or "")
        if supplier is not None and supplier.new and supplier.id not in first:
            first[supplier.id] = i
    if not first:
        return FirstOrders([], [])
    suppliers = tuple(s.model_copy(update={"new": False}) if s.id in first else s for s in directory.suppliers)
    text = dump_directory(directory.model_copy(update={"suppliers": suppliers}))
    said = [
        f"{directory.supplier_by_id[sid].name} ({sid}) is no longer new: {orders[i][2]} for {orders[i][1]}"
        for sid, i in first.items()
    ]
    writes = activation_writes(wire.dialect, text, at=now, origin="supplier", filename=filename, note="; ".join(said))
    events = [
        (
            i,
            {"supplier": sid, "new": True},
            {
                "supplier": sid,
                "name": directory.supplier_by_id[sid].name,
                "new": False,
                "po_number": orders[i][2],
                "requisition": orders[i][1],
                "directory": content_hash(text),
            },
        )
        for sid, i in first.items()
    ]
    return FirstOrders(writes, events)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:60] or "supplier"


def _free_id(directory: Directory, base: str) -> str:
    sid, n = base, 2
    while sid in directory.supplier_by_id:
        sid, n = f"{base}-{n}", n + 1
    return sid


# ---------------------------------------------------------------------------------- reads


def get(engine: Engine, number: str) -> SupplierRequest:
    with Session(engine) as session:
        row = session.get(SupplierRequest, number_of(number))
        if row is None:
            raise NotFound(f"There is no supplier request {number}.")
        return row


def listing(engine: Engine, *, states: tuple[str, ...] | None = None, limit: int = 100) -> list[SupplierRequest]:
    """Requests, the newest first (only those in `states` when given)."""
    with Session(engine) as session:
        q = select(SupplierRequest).order_by(col(SupplierRequest.id).desc()).limit(limit)
        if states:
            q = q.where(col(SupplierRequest.state).in_(states))
        return list(session.exec(q).all())


def tax_document(
    engine: Engine, store: AttachmentStore, directory: Directory, number: str, reader: str | None
) -> tuple[dict[str, Any], bytes]:
    """The request's tax document (its record and bytes), for a buyer or a requester waiting on it (`reader` None:
    the console's admins and auditors, who see every request); NotFound for anyone else, as for no request."""
    with Session(engine) as session:
        row = session.get(SupplierRequest, number_of(number))
        allowed = reader is None or (row is not None and may_see(row, directory, reader))
        if row is None or not allowed or not row.tax_document:
            raise NotFound(f"There is no tax document on {number} for you.")
        data = store.get(session, str(row.tax_document["key"]))
    if data is None or hashlib.sha256(data).hexdigest() != row.tax_document.get("sha256"):
        raise NotFound(f"The tax document of {number} is no longer kept.")
    return dict(row.tax_document), data


def waiting_draft(row: SupplierRequest, person: str) -> dict[str, Any] | None:
    """`person`'s waiting draft on the request (the newest), as their surface gave it."""
    mine = [w for w in row.waiting if w.get("person") == person]
    return mine[-1] if mine else None


def may_see(row: SupplierRequest, directory: Directory, person: str) -> bool:
    """Buyers see every request; a requester sees the ones they wait on."""
    p = directory.person(person)
    return bool(p and p.has_role(BUYER_ROLE)) or person in {w.get("person") for w in row.waiting}


# ---------------------------------------------------------------------------------- helpers


def _locked(session: Session, number: str) -> SupplierRequest:
    row = session.exec(select(SupplierRequest).where(SupplierRequest.id == number_of(number)).with_for_update()).first()
    if row is None:
        raise NotFound(f"There is no supplier request {number}.")
    return row


def _buyers(directory: Directory) -> list[str]:
    return [p.id for p in directory.people_with_role(BUYER_ROLE, None)]


def _requesters(row: SupplierRequest) -> list[str]:
    return list(dict.fromkeys(str(w["person"]) for w in row.waiting if w.get("person")))


def _review_actions(number: str) -> tuple[dict[str, str], ...]:
    return (
        {"id": "supplier.approve", "label": "Approve", "value": number, "style": "primary"},
        {"id": "supplier.reject", "label": "Reject", "value": number, "style": "danger", "input_label": "Why not?"},
        {"id": "supplier.ask", "label": "Ask for info", "value": number, "input_label": "Your question"},
    )


def _notify(session: Session, people: list[str], notice: Notice, now: datetime) -> None:
    for person in dict.fromkeys(people):
        jobqueue.enqueue(
            session,
            kind=NOTIFY,
            key=f"{NOTIFY}:{notice.key}:{person}",
            due_at=now,
            now=now,
            payload={"to": person, **notice.payload()},
        )
