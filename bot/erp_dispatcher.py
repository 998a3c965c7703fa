"""The ERP dispatcher: claims outbox jobs, calls the connector, and records what happened.

Run any number of these (threads in one process, processes on many hosts): the job queue's
lease and SKIP LOCKED hand each job to one of them at a time, a dispatcher that dies mid-call
loses its lease and another picks the job up, and the connector's idempotency on our
requisition number makes the repeated call harmless. This module only translates: connector
errors in, outbox calls (approvals/outbox.py) out.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Protocol

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from approvals import correlation, jobqueue, master_data, new_suppliers, recurring
from approvals.attachment_store import AttachmentStore, DatabaseStore
from approvals.attachments import Attachment
from approvals.clock import Clock, utcnow
from approvals.db import transaction
from approvals.directory import Directory
from approvals.directory_store import LiveDirectory
from approvals.jobqueue import ClaimedJob, JobQueue
from approvals.models import Requisition
from approvals.notices import Notice, Notifier
from approvals.outbox import BUYER_ROLE, CREATE_PO, NOTIFY, SYNC_STATUS, Outbox, open_purchase_orders
from approvals.workflow import ApprovalService
from bot.chat.delivery import ChatDelivery, ChatNotifier
from bot.intake.new_suppliers import ContinueWaiting
from bot.notify import InboxNotifier
from bot.settings import Settings
from connectors.erp.base import (
    AttachmentContent,
    ErpConnector,
    ErpError,
    NewSupplierRequest,
    PermanentError,
    PoAttachment,
    PoCreated,
    PurchaseOrderRequest,
    TransientError,
)
from connectors.erp.config import ErpSettings
from connectors.erp.factory import build_connector

if TYPE_CHECKING:
    from bot.intake.assistant import Assistant

log = logging.getLogger("procurebot.erp")


def with_attachments(engine: Engine, order: PurchaseOrderRequest) -> PurchaseOrderRequest:
    """The order with the files its requisition carries now (a file attached after the approval still goes)."""
    with Session(engine) as session:
        rows = session.exec(
            select(Attachment)
            .join(Requisition, col(Requisition.id) == col(Attachment.requisition_id))
            .where(Requisition.number == order.reference)
            .order_by(col(Attachment.id))
        ).all()
    files = tuple(
        PoAttachment(
            attachment_id=a.id or 0,
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            sha256=a.sha256,
            download=f"/api/v1/requisitions/{order.reference}/attachments/{a.id}",
        )
        for a in rows
    )
    return replace(order, attachments=files) if files else order


# a refusal's status code ends what people are told: what an ERP said after it (its body) stays in the log
_AFTER_STATUS = re.compile(r"^(.*?\(\d{3}\))\s*:.*$", re.S)
_REASON_LIMIT = 200


def files_left_out(order: PurchaseOrderRequest, problems: tuple[str, ...]) -> list[tuple[str, str]]:
    """(filename, reason) for each file a connector reported left off the PO, the reason said for people: the
    sentence we wrote up to the ERP's status code, never the ERP's own text after it (which may echo the request or a
    token), at most 200 characters."""
    names = sorted((a.filename for a in order.attachments), key=len, reverse=True)
    out = []
    for problem in problems:
        filename = next((n for n in names if problem.startswith(f"{n}: ")), None)
        if filename is None:
            filename, _, reason = problem.partition(": ")
        else:
            reason = problem[len(filename) + 2 :]
        reason = " ".join(reason.split())
        said = _AFTER_STATUS.match(reason)
        if said:
            reason = said.group(1)
        if len(reason) > _REASON_LIMIT:
            reason = reason[: _REASON_LIMIT - 1].rstrip() + "…"
        out.append((filename, reason or "the ERP gave no reason"))
    return out


def attachment_reader(engine: Engine, store: AttachmentStore) -> AttachmentContent:
    """What connectors that send a PO's files into the ERP read their bytes with: the attachment store's copy,
    checked against the SHA-256 the order carries (LookupError when it is gone or differs)."""

    def read(attachment: PoAttachment) -> bytes:
        with Session(engine) as session:
            row = session.get(Attachment, attachment.attachment_id)
            data = store.get(session, row.storage_key) if row is not None else None
        if data is None or hashlib.sha256(data).hexdigest() != attachment.sha256:
            raise LookupError(
                f"the attachment store ({store.name}) no longer has {attachment.filename} as it was attached"
            )
        return data

    return read


@dataclass(frozen=True)
class ErpChange:
    """What the dispatcher just committed about one requisition (po_created, po_status, erp_failed), or,
    with `person`, a notice it delivered to that person. Lets open chats re-render without polling."""

    number: str
    kind: str
    person: str | None = None
    text: str | None = None


ErpListener = Callable[[ErpChange], None]


@dataclass
class _JobProgress:
    """Lets a connector store the ERP's id of a half-made PO on the job before it adds lines."""

    queue: JobQueue
    job: ClaimedJob

    def __post_init__(self) -> None:
        self.erp_id = self.job.sent_ref

    def save(self, erp_id: str) -> None:
        self.queue.mark_sent(self.job, erp_id)
        self.erp_id = erp_id


class ErpDispatcher:
    """One worker: claim, send, record. `run_once` is one pass; `run` loops until stopped."""

    def __init__(
        self,
        engine: Engine,
        directory: Directory,
        connector: ErpConnector,
        notifier: Notifier,
        *,
        settings: ErpSettings,
        clock: Clock = utcnow,
        worker_id: str | None = None,
        batch: int = 5,
        lease: timedelta = timedelta(minutes=5),
        on_change: ErpListener | None = None,
        on_master_data: Callable[[], None] | None = None,
    ) -> None:
        s = settings
        self.on_change = on_change
        self.on_master_data = on_master_data  # e.g. lay the fresh master data over the service's directory
        self.engine, self.connector, self.notifier, self.batch = engine, connector, notifier, batch
        self.settings = s
        self.clock = clock
        self._left_out: dict[int, list[tuple[str, str]]] = {}  # by job id: files the PO was made without
        self.queue = JobQueue(engine, clock=clock, worker_id=worker_id, lease=lease, max_attempts=s.erp_max_attempts)
        self.outbox = Outbox(
            engine,
            directory,
            self.queue,
            connector_name=connector.name,
            backoff_base=timedelta(seconds=s.erp_backoff_base_seconds),
            backoff_max=timedelta(seconds=s.erp_backoff_max_seconds),
            clock=clock,
        )

    def _buyers(self) -> list[str]:
        """Who is told when a file did not reach the ERP: the buyers, as the outbox tells them for any PO."""
        return [p.id for p in self.outbox.directory.people_with_role(BUYER_ROLE, None)]

    # ------------------------------------------------------------------ one pass
    def run_once(self, stop: threading.Event | None = None) -> int:
        """Send due POs, then due notices, then the status sync when it is due. Returns jobs handled.

        The pass holds one connection (the queue's batch): on PostgreSQL a pass makes two claims of one
        round trip each, records its POs in two (Outbox.record_batch) and finishes each notice in one.
        When `stop` is set (shutting down), jobs claimed but not started are handed back at once, so another
        dispatcher takes them now rather than when their lease ends.
        """
        done = 0
        stopping = stop.is_set if stop is not None else (lambda: False)
        with self.queue.batch():
            created = []
            for job in self.queue.claim(CREATE_PO, limit=self.batch):
                if stopping():
                    self.queue.release(job)  # nothing was sent to the ERP for it
                    continue
                po = self._create(job)
                if po is not None:
                    created.append((job, po))
                done += 1
            done += self._record(created)
            for job in self.queue.claim(new_suppliers.CREATE_SUPPLIER, limit=self.batch):
                if stopping():
                    self.queue.release(job)
                    continue
                self._create_supplier(job)
                done += 1
            # notices and the two recurring syncs in one claim (one round trip, not three); each sync is one
            # row (its key), so the two extra places are theirs when due, and all come oldest due first
            rest = self.queue.claim((NOTIFY, SYNC_STATUS, master_data.SYNC_MASTER), limit=self.batch * 4 + 2)
            for job in [j for j in rest if j.kind == NOTIFY] + [j for j in rest if j.kind != NOTIFY]:
                if stopping():
                    self.queue.release(job)
                    continue
                if job.kind == NOTIFY:
                    self._notify(job)
                else:
                    self._sync(job)
                done += 1
        return done

    def drain(self, *, max_passes: int = 50, stop: threading.Event | None = None) -> int:
        """Passes until one finds nothing due (at most `max_passes`), all on one held connection, so a busy
        dispatcher does not check a connection out, set it up and hand it back for every pass."""
        total = 0
        with self.queue.batch():
            for _ in range(max_passes):
                handled = self.run_once(stop)
                total += handled
                if not handled or (stop is not None and stop.is_set()):
                    break
        return total

    def run(
        self, stop: threading.Event, *, idle_seconds: float = 0.5, refresher: "MasterDataRefresher | None" = None
    ) -> None:
        schedule_status_sync(self.engine, self.clock)
        while not stop.is_set():
            try:
                busy = self.drain(stop=stop)
                if refresher is not None:
                    refresher.refresh()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop; the lease protects the work
                log.exception("ERP dispatcher pass failed; trying again")
                busy = 0
            if not busy:
                stop.wait(idle_seconds)

    # ------------------------------------------------------------------ jobs
    @correlation.for_job  # the approval's request id on this work's log lines
    def _create(self, job: ClaimedJob) -> PoCreated | None:
        """Send one job to the ERP; the PO it made (recorded by `_record`), or None when the job failed."""
        try:
            order = with_attachments(self.engine, PurchaseOrderRequest.from_payload(job.payload["order"]))
            po = self.connector.create_po(order, _JobProgress(self.queue, job))
            for problem in po.attachment_problems:  # the PO stands; the file is for a buyer to add in the ERP
                log.warning("ERP PO %s for %s was made without a file: %s", po.number, job.key, problem)
            if po.attachment_problems:  # recorded with the PO: an audit event, and the buyers and requester told
                self._left_out[job.id] = files_left_out(order, po.attachment_problems)
        except PermanentError as exc:
            log.warning("ERP refused %s for good: %s", job.key, exc.reason)
            if self.outbox.dead_letter(job, exc.reason):
                self._changed(job, "erp_failed")
        except TransientError as exc:
            state = self.outbox.retry_later(job, exc.reason, retry_after=exc.retry_after)
            log.info("ERP did not take %s (attempt %s, now %s): %s", job.key, job.attempts, state, exc.reason)
            if state == jobqueue.DEAD:
                self._changed(job, "erp_failed")
        except (KeyError, ValueError, TypeError) as exc:
            if self.outbox.dead_letter(job, f"the stored purchase order is unreadable ({type(exc).__name__}: {exc})"):
                self._changed(job, "erp_failed")
        except Exception as exc:  # noqa: BLE001 - a connector bug retries with backoff, never a crash loop
            log.exception("unexpected error sending %s", job.key)
            self.outbox.retry_later(
                job,
                f"unexpected error in the {self.connector.name} connector "
                f"({type(exc).__name__}); see the dispatcher log",
            )
        else:
            return po
        return None

    @correlation.for_job
    def _create_supplier(self, job: ClaimedJob) -> None:
        """A buyer approved a new supplier: the ERP makes the vendor (idempotent on the request number), then the
        core adds it to the directory and tells the requesters (approvals/new_suppliers.py)."""
        try:
            vendor = self.connector.create_supplier(NewSupplierRequest.from_payload(job.payload["request"]))
        except PermanentError as exc:
            log.warning("ERP refused %s for good: %s", job.key, exc.reason)
            new_suppliers.record_failed(self.engine, self.queue, job, exc.reason, now=self.clock())
        except Exception as exc:  # noqa: BLE001 - transient, or a connector bug: retried with backoff, never a crash loop
            reason = getattr(exc, "reason", None) or f"unexpected error in the {self.connector.name} connector"
            if not isinstance(exc, TransientError):
                log.exception("unexpected error sending %s", job.key)
            if job.attempts >= self.queue.max_attempts:
                new_suppliers.record_failed(self.engine, self.queue, job, reason, now=self.clock())
            else:
                delay = self.outbox.backoff(job.attempts)
                after = getattr(exc, "retry_after", None)
                if after is not None:
                    delay = max(delay, timedelta(seconds=min(after, self.outbox.backoff_max.total_seconds())))
                self.queue.retry(job, reason, delay=delay)
        else:
            new_suppliers.record_created(
                self.engine, self.queue, job, supplier_id=vendor.id, erp_key=vendor.erp_key, now=self.clock()
            )

    def _record(self, created: list[tuple[ClaimedJob, PoCreated]]) -> int:
        """Record the batch's POs (on PostgreSQL in one transaction), then tell listeners and requesters.
        Returns the notices delivered here (jobs handled without a claim of their own)."""
        releases = [(job, po) for job, po in created if job.payload.get("release")]
        created = [(job, po) for job, po in created if not job.payload.get("release")]
        for job, po in releases:  # a recurring requisition's release: its own PO row, under its parent
            if recurring.record_release(
                self.engine, self.queue, job, erp_id=po.erp_id, po_number=po.number, status=po.status,
                connector=self.connector.name, left_out=self._left_out.pop(job.id, []), buyers=self._buyers(),
            ):  # fmt: skip
                self._tell(ErpChange(job.payload["release"]["of"], "po_created"))
        if not created:
            return 0
        delivered = 0
        left_out = {job.payload["order"]["reference"]: self._left_out.pop(job.id, []) for job, _po in created}
        self._left_out.clear()
        results = self.outbox.record_batch(
            [(job, po.erp_id, po.number, po.status) for job, po in created],
            claim_notice=True,
            files_left_out={number: files for number, files in left_out.items() if files},
        )
        for (job, po), (recorded, notice) in zip(created, results):
            if not recorded:
                log.info("lost the lease on %s; its new holder records PO %s", job.key, po.number)
                continue
            self._changed(job, "po_created")
            if notice is not None:
                self._notify(notice)  # written claimed by us: delivered now, no second claim
                delivered += 1
        return delivered

    def _changed(self, job: ClaimedJob, kind: str) -> None:
        number = (job.payload.get("order") or {}).get("reference")
        if number:
            self._tell(ErpChange(number, kind))

    def _tell(self, change: ErpChange) -> None:
        """Called after the commit; a listener's failure never undoes or repeats the ERP work."""
        if self.on_change is None:
            return
        try:
            self.on_change(change)
        except Exception:  # noqa: BLE001 - live updates are a courtesy; the state is already committed
            log.exception("ERP change listener failed for %s", change.number)

    @correlation.for_job
    def _notify(self, job: ClaimedJob) -> None:
        p = job.payload
        if job.sent_ref is None:
            notice = Notice.from_payload(p)
            try:
                ref = self.notifier.send(p["to"], notice)
            except Exception as exc:  # noqa: BLE001 - a chat outage: the notice waits and is retried
                self.queue.retry(job, f"could not deliver ({type(exc).__name__}: {exc})"[:500])
                return
            self.queue.complete(job, sent_ref=ref or "sent")
            return
        self.queue.complete(job)

    def _sync(self, job: ClaimedJob) -> None:
        """Run a recurring sync (status or master data) and hand its row back, due after its interval."""
        if job.kind == SYNC_STATUS:
            self.sync_statuses()
            every = self.settings.erp_status_sync_minutes
        else:
            self.sync_master_data()
            every = self.settings.erp_master_sync_minutes
        self.queue.release(job, due_at=self.clock() + timedelta(minutes=every))

    # ------------------------------------------------------------------ master data in
    def sync_master_data(self) -> master_data.SyncCounts:
        """Pull suppliers, items and budgets from the ERP into our tables (approvals/master_data.py)."""
        counts = master_data.sync(self.engine, self.connector, now=self.clock())
        log.info("%s", counts.sentence())
        for problem in counts.problems:
            log.warning("master data from %s: %s", self.connector.name, problem)
        if self.on_master_data is not None:
            try:
                self.on_master_data()
            except Exception:  # noqa: BLE001 - the data is stored; the next refresh tries again
                log.exception("could not refresh the directory with the ERP's master data")
        return counts

    # ------------------------------------------------------------------ status back
    def sync_statuses(self) -> int:
        """Ask the ERP about every PO that is not finished; record changes. Returns how many changed."""
        changed = 0
        for po in open_purchase_orders(self.engine):
            try:
                status = self.connector.get_po_status(po.requisition_number, po.erp_id or None)
            except ErpError as exc:
                log.warning("status of %s: %s", po.requisition_number, exc.reason)
                continue
            if status is not None and self.outbox.record_status(
                po.requisition_number, status.status, status.received_fraction
            ):
                changed += 1
                self._tell(ErpChange(po.requisition_number, "po_status"))
        return changed


def schedule_status_sync(engine: Engine, clock: Clock = utcnow) -> None:
    """Make sure the recurring status-sync and master-data jobs exist (one row each, whichever replica
    adds it first)."""
    with transaction(engine) as session:
        jobqueue.enqueue(session, kind=SYNC_STATUS, key=SYNC_STATUS, due_at=clock(), now=clock())
        jobqueue.enqueue(
            session, kind=master_data.SYNC_MASTER, key=master_data.SYNC_MASTER, due_at=clock(), now=clock()
        )


class ServerRuntime(Protocol):
    """What `start_in_server` reads of the runtime (bot/runtime.py's `Runtime`, which sits above this module)."""

    settings: Settings
    engine: Engine
    directory: Directory
    service: ApprovalService
    chat: ChatDelivery
    erp_listeners: list[ErpListener]

    def assistant(self, surface: str) -> Assistant: ...


class MasterDataRefresher:
    """Keeps the approval service's directory = company directory + the ERP's stored master data.

    Any replica (or `procurebot erp sync`) may run the pull; every server replica checks, at most
    every `every`, whether the stored data changed, and swaps in a new directory if so. Routing
    reads `service.directory` per action, so a request is routed on one directory, whole.
    """

    def __init__(
        self, runtime: ServerRuntime, connector: str, *, every: timedelta = timedelta(seconds=30), clock: Clock = utcnow
    ) -> None:
        self.runtime, self.connector, self.every, self.clock = runtime, connector, every, clock
        self._stamp: Any = None
        self._checked: Any = None
        self._lock = threading.Lock()

    def refresh(self, *, force: bool = False) -> bool:
        """Swap in the overlaid directory if the stored master data changed. True if swapped."""
        with self._lock:
            now = self.clock()
            if not force and self._checked is not None and now - self._checked < self.every:
                return False
            self._checked = now
            stamp = master_data.last_synced(self.runtime.engine, self.connector)
            if stamp is None or (stamp == self._stamp and not force):
                return False
            data = master_data.load(self.runtime.engine, self.connector)
            if isinstance(self.runtime.directory, LiveDirectory):
                # laid over every directory version, the active one now and the ones activated later
                self.runtime.directory.set_layer(lambda directory: master_data.overlay(directory, data))
            else:
                self.runtime.service.directory = master_data.overlay(self.runtime.directory, data)
            self._stamp = stamp
            log.info(
                "directory refreshed with the ERP's master data (%s suppliers, %s items, %s budgets)",
                len(data.suppliers),
                len(data.items),
                len(data.budgets),
            )
            return True


def run_workers(
    build: Any, workers: int, stop: threading.Event, refresher: MasterDataRefresher | None = None
) -> list[threading.Thread]:
    """Start `workers` threads, each with its own dispatcher from `build(i)`; returns them started.
    The first also keeps the service's directory fresh with the ERP's master data (`refresher`)."""
    threads = []
    for i in range(workers):
        dispatcher = build(i)
        t = threading.Thread(
            target=dispatcher.run,
            args=(stop,),
            kwargs={"refresher": refresher if i == 0 else None},
            name=f"erp-dispatcher-{i}",
            daemon=True,
        )
        t.start()
        threads.append(t)
    return threads


def main_loop(
    engine: Engine,
    directory: Directory,
    settings: ErpSettings,
    notifier: Notifier,
    *,
    workers: int = 1,
    stop: threading.Event | None = None,
    attachment_store: AttachmentStore | None = None,
) -> None:
    """The `procurebot erp dispatch` loop: N worker threads until SIGINT/SIGTERM. `attachment_store`: where the
    POs' files are read from (the runtime's; the database's by default)."""
    stop = stop or threading.Event()
    base = jobqueue.default_worker_id()
    files = attachment_reader(engine, attachment_store or DatabaseStore())

    def build(i: int) -> ErpDispatcher:
        return ErpDispatcher(
            engine,
            directory,
            build_connector(settings, engine, directory, attachment_content=files),
            notifier,
            settings=settings,
            worker_id=f"{base}:{i}",
            lease=timedelta(seconds=settings.erp_lease_seconds),
        )

    threads = run_workers(build, workers, stop)
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(0.2)
    except KeyboardInterrupt:
        stop.set()


class LiveNotifier:
    """Writes each notice through `inner` (the durable record), then tells the live listeners who got what
    (the web chat's open streams then show it from the inbox at once, without waiting for their next look)."""

    def __init__(self, inner: Notifier, tell: ErpListener) -> None:
        self.inner, self.tell = inner, tell

    def send(self, person_id: str, notice: Notice) -> str:
        ref = self.inner.send(person_id, notice)
        if notice.number:
            self.tell(ErpChange(notice.number, notice.kind, person_id, notice.text))
        return ref


def durable_notifier(
    chat: ChatDelivery,
    engine: Engine,
    clock: Clock = utcnow,
    *,
    assistants: Callable[[str], Assistant] | None = None,
) -> Notifier:
    """Where ERP notices go: the person's Slack or Teams thread, else the database's inbox the web chat shows
    (never a file of one host: every replica and worker writes, and every replica shows, the same rows).

    With `assistants` (a runtime's, by surface name), a new supplier's creation continues the requests that waited
    for it, each on its own surface (bot/intake/new_suppliers.py, `ContinueWaiting`)."""
    notifier: Notifier = ChatNotifier(chat, fallback=InboxNotifier(engine, clock))
    return ContinueWaiting(notifier, engine, assistants) if assistants is not None else notifier


def fan_out(listeners: list[ErpListener]) -> ErpListener:
    """One listener that calls each of `listeners` (read at call time, so late subscribers count)."""

    def tell(change: ErpChange) -> None:
        for listener in list(listeners):
            try:
                listener(change)
            except Exception:  # noqa: BLE001 - one broken surface must not silence the others
                log.exception("ERP change listener failed for %s", change.number)

    return tell


def start_in_server(runtime: ServerRuntime) -> threading.Event | None:
    """Run the ERP dispatcher inside the server (the embedded default: the sandbox ERP).

    Returns the event that stops the threads. With no in-server dispatcher (settings ask for none: they
    run as `procurebot erp dispatch`), one thread still re-reads the master data they store.
    """
    settings = runtime.settings.erp
    refresher = MasterDataRefresher(
        runtime, settings.erp_connector, every=timedelta(seconds=settings.erp_master_refresh_seconds)
    )
    try:
        refresher.refresh(force=True)  # master data a sync stored earlier counts from the first request
    except Exception:  # noqa: BLE001 - the company directory alone still routes correctly
        log.exception("could not lay the ERP's master data over the directory")
    threads_wanted = runtime.settings.erp_dispatcher_threads
    if threads_wanted <= 0:
        return keep_fresh(refresher, threading.Event())
    tell = fan_out(runtime.erp_listeners)
    clock = runtime.service.clock  # the runtime's one clock: its POs, notices, syncs and master data carry its time
    notifier = LiveNotifier(durable_notifier(runtime.chat, runtime.engine, clock, assistants=runtime.assistant), tell)
    base = jobqueue.default_worker_id()
    stop = threading.Event()
    files = attachment_reader(runtime.engine, runtime.service.attachment_store)

    def build(i: int) -> ErpDispatcher:
        return ErpDispatcher(
            runtime.engine,
            runtime.directory,
            build_connector(settings, runtime.engine, runtime.directory, attachment_content=files),
            notifier,
            settings=settings,
            clock=clock,
            worker_id=f"{base}:server:{i}",
            on_change=tell,
            on_master_data=lambda: refresher.refresh(force=True),
            lease=timedelta(seconds=settings.erp_lease_seconds),
        )

    run_workers(build, threads_wanted, stop, refresher=refresher)
    log.info("ERP dispatcher: %s thread(s) to the %s connector", threads_wanted, settings.erp_connector)
    return stop


def keep_fresh(refresher: MasterDataRefresher, stop: threading.Event) -> threading.Event:
    """Re-read the stored master data every `refresher.every` until `stop` is set (a server whose dispatchers,
    and so whose master-data pulls, run in other processes). Returns `stop`."""

    def loop() -> None:
        while not stop.wait(refresher.every.total_seconds()):
            try:
                refresher.refresh()
            except Exception:  # noqa: BLE001 - the database blinked; the directory in use stays valid
                log.exception("could not re-read the ERP's master data")

    threading.Thread(target=loop, name="erp-master-data", daemon=True).start()
    return stop
