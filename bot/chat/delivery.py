"""Keeping every copy of a requisition's card true, on every chat platform, after any action anywhere.

The flow (the outbox pattern, so nothing is lost in a crash):

* each committed action writes one ``chat.sync`` job in its own transaction (an in-transaction
  hook); a PO created or refused by the ERP writes one too;
* a worker (a thread in the server, or ``drain()`` in tests and CLIs) claims the jobs and, per
  platform: posts the card to approvers who now have to act and to the requester (whose card is
  the root of the requisition's thread), updates every copy already posted (approver, co-approvers,
  requester) in place, and posts the event's line in the requester's thread;
* the event line is sent once (the job's ``sent_ref`` records it); card posts are recorded as
  ``CardCopy`` rows, and updates are safe to repeat, so a retried job converges.

Scheduler and ERP notices (reminders, escalations, "PO created") reach people through
`ChatNotifier`, which implements the core's one `Notifier` port (approvals/notices.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, Callable, Iterator

from sqlalchemy import Connection, Engine, bindparam, insert, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from approvals import correlation, jobqueue
from approvals.clock import Clock, utcnow
from approvals.db import transaction
from approvals.directory import Directory
from approvals.errors import NotFound
from approvals.jobqueue import ClaimedJob, JobQueue
from approvals.notices import Notice, Notifier
from approvals.plan import Plan
from approvals.views import RequisitionView
from bot.cards.model import Card, CardAction
from bot.chat.models import CardCopy
from bot.chat.surface import Address, ChatSurface
from bot.chat.texts import thread_line

log = logging.getLogger("procurebot.chat")
CHAT_SYNC = "chat.sync"
APPROVER, REQUESTER = "approver", "requester"
# States in which nobody is asked to act any more: copies are updated, none are posted.
_CLOSED = {"draft", "withdrawn", "cancelled"}

_COPIES = CardCopy.__table__  # type: ignore[attr-defined]
_TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))")
BUSY_WAIT = timedelta(seconds=2)  # a requisition another process is syncing: its job comes back this much later
_LIVE = ", ".join(f"'{state}'" for state in jobqueue.ACTIVE)  # the live-rows index: still to run, not history
_PENDING_OF = text(f"SELECT count(*) FROM job WHERE kind = 'chat.sync' AND state IN ({_LIVE}) AND dedupe_key LIKE :key")
_COPIES_OF = select(_COPIES).where(_COPIES.c.number == bindparam("number"))
LINE_PREFIX = "line:"  # a job's sent_ref: the platforms whose thread has the event's line

# (view, viewer, connection for any further reads) -> the card as that person should see it now
CardFor = Callable[[RequisitionView, str, Any], Card]


class Unreachable(Exception):
    """Raised by a surface for an address it can never reach again (the workspace uninstalled the app, its
    token was revoked): that copy is skipped, not retried, and the rest of the sync goes on."""


class Refused(Unreachable):
    """Raised by a surface when the platform refuses the message itself for good (Teams' 413
    MessageSizeTooBig): the same message can never go through, so it is skipped like an unreachable
    address, never retried as an outage. The surface logs what it was refused and why."""


def lines_sent(sent_ref: str | None, surfaces: list[str]) -> set[str]:
    """The platforms an earlier attempt of a job already posted the thread line on."""
    if not sent_ref:
        return set()
    if not sent_ref.startswith(LINE_PREFIX):
        return set(surfaces)  # written before lines were tracked per platform: it went out everywhere
    return {name for name in sent_ref[len(LINE_PREFIX) :].split(",") if name}


def fingerprint(card: Card) -> str:
    return hashlib.sha256(json.dumps(card.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def headline(card: Card) -> str:
    """The plain-text line a platform shows in notifications and for clients that cannot draw cards."""
    return f"{card.title}: {card.status}" if card.status else card.title


@dataclass
class ChatDelivery:
    engine: Engine
    directory: Directory
    view: Callable[[Session, str], RequisitionView]  # the requisition's view, read in the given session
    card_for: CardFor
    surfaces: list[ChatSurface] = field(default_factory=list)
    clock: Clock = utcnow
    worker_id: str | None = None
    autostart: bool | None = None  # None: the worker thread runs only in a server that built its own runtime
    workers: int = 2  # requisitions the server's worker syncs side by side (see drain)
    _executor: ThreadPoolExecutor | None = field(default=None, repr=False)
    _executor_size: int = field(default=0, repr=False)
    _wake: threading.Event = field(default_factory=threading.Event, repr=False)

    # ------------------------------------------------------------------ writing jobs

    def install(self, service: Any) -> None:
        """Write a sync job with every action (same transaction) and wake the worker after commit: for a service
        wired by hand (tests); a runtime's order is declared in bot/runtime.py."""
        if self.enqueue_for_change not in service.in_transaction:
            service.in_transaction.append(self.enqueue_for_change)
            service.after_commit.append(self.wake)

    def wake(self, _change: Any = None) -> None:
        """After-commit listener: the worker looks for new jobs now rather than at its next poll."""
        self._wake.set()

    def enqueue_for_change(self, plan: Plan) -> None:
        """In-transaction hook: one sync job with the action (approvals.plan)."""
        if not self.surfaces:
            return  # no chat platform configured: the web chat re-renders live by itself
        change = plan.change
        plan.enqueue(
            kind=CHAT_SYNC,
            key=f"chat:{change.number}:{uuid.uuid4().hex}",
            payload={
                "number": change.number,
                "command": change.command,
                "outcome": change.outcome,
                "actor": change.actor,
            },
        )

    def enqueue_event(self, number: str, command: str, text: str | None = None) -> None:
        """A change made outside the approval service (the ERP created or refused the PO)."""
        if not self.surfaces:
            return
        with transaction(self.engine) as session:
            self._enqueue(session, self.clock(), {"number": number, "command": command, "text": text})
        self._wake.set()

    def _enqueue(self, session: Session, at: Any, payload: dict[str, Any]) -> None:
        jobqueue.enqueue(
            session,
            kind=CHAT_SYNC,
            key=f"chat:{payload['number']}:{uuid.uuid4().hex}",
            due_at=at,
            now=at,
            payload=payload,
        )

    # ------------------------------------------------------------------ doing them

    def drain(
        self, *, limit: int = 100, rounds: int = 50, workers: int = 1, stop: threading.Event | None = None
    ) -> int:
        """Process every due sync job now; returns how many were handled.

        The round runs on one held connection (``JobQueue.batch``): claims and finishes are plain SQL
        without a pool checkout each. Card posts are recorded on their own, durably, before the job
        is finished, so what a crash can repeat is at most one thread line per worker.

        With `workers` > 1, requisitions are synced side by side (most of a sync is waiting on the
        platform and the database); one requisition's jobs always run one after another, in order,
        so two copies of its card are never posted at once and an older view never overwrites a newer.

        When `stop` is set (the process is shutting down) no further round is claimed, and jobs claimed but not
        started are handed back at once, for another process to take now rather than when their lease ends."""
        queue = JobQueue(self.engine, clock=self.clock, worker_id=self.worker_id)
        handled = 0
        finishing = threading.Lock()  # the held connection finishes one job at a time
        with queue.batch():
            for _ in range(rounds):
                if stop is not None and stop.is_set():
                    break
                jobs = queue.claim(CHAT_SYNC, limit=limit)
                if not jobs:
                    break
                groups: dict[str, list[ClaimedJob]] = {}
                for job in jobs:
                    groups.setdefault(str(job.payload.get("number")), []).append(job)
                if workers > 1 and len(groups) > 1:
                    list(
                        self._pool(workers).map(
                            lambda group: self._run_group(queue, group, finishing, stop), groups.values()
                        )
                    )
                else:
                    for group in groups.values():
                        self._run_group(queue, group, finishing, stop)
                handled += len(jobs)
        return handled

    def _pool(self, workers: int) -> ThreadPoolExecutor:
        if self._executor is None or self._executor_size != workers:
            if self._executor is not None:
                self._executor.shutdown(wait=False)
            self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chat-sync")
            self._executor_size = workers
        return self._executor

    def _run_group(
        self,
        queue: JobQueue,
        group: list[ClaimedJob],
        finishing: threading.Lock,
        stop: threading.Event | None = None,
    ) -> None:
        """One requisition's jobs, in order, while no other process syncs it (else they wait a moment)."""
        with self._exclusive(str(group[0].payload.get("number"))) as (mine, conn):
            if not mine:
                with finishing:
                    for job in group:
                        queue.release(job, due_at=self.clock() + BUSY_WAIT)
                return
            for job in group:
                if stop is not None and stop.is_set():
                    with finishing:
                        queue.release(job)  # not started: another process takes it now
                    continue
                self._run(queue, job, finishing, conn)

    @contextmanager
    def _exclusive(self, number: str) -> Iterator[tuple[bool, Connection | None]]:
        """On PostgreSQL, a session advisory lock on the requisition for the length of its sync: servers and
        workers share the queue, and two of them posting a card that does not exist yet would post two.
        The syncs read on the lock's connection. (SQLite serves one process, where a requisition's jobs
        already run one after another.)"""
        if self.engine.dialect.name != "postgresql":
            yield True, None
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            key = {"key": f"chat.sync:{number}"}
            mine = bool(conn.execute(_TRY_LOCK, key).scalar())
            try:
                yield mine, conn
            finally:
                if mine:
                    conn.execute(_UNLOCK, key)

    def _run(self, queue: JobQueue, job: ClaimedJob, finishing: threading.Lock, conn: Connection | None = None) -> None:
        with correlation.bound(correlation.of_job(job.payload)):  # the tap's request id on this work's lines
            self._sync_job(queue, job, finishing, conn)

    def _sync_job(
        self, queue: JobQueue, job: ClaimedJob, finishing: threading.Lock, conn: Connection | None = None
    ) -> None:
        earlier = lines_sent(job.sent_ref, [s.name for s in self.surfaces])
        sent = set(earlier)
        try:
            self.sync(job.payload, lines_sent=sent, conn=conn)
        except NotFound:
            with finishing:
                queue.fail(job, "the requisition no longer exists")
        except Exception as exc:  # noqa: BLE001 - a platform outage: the job waits and is retried
            log.warning(
                "chat sync for %s failed (attempt %s): %s", job.payload.get("number"), job.attempts, type(exc).__name__
            )
            with finishing:
                if sent != earlier:  # the line went out on some platforms: the retry must not repeat it there
                    queue.mark_sent(job, LINE_PREFIX + ",".join(sorted(sent)))
                if job.attempts >= 8:
                    queue.fail(job, f"{type(exc).__name__}: {exc}"[:500])
                else:
                    queue.retry(
                        job,
                        f"{type(exc).__name__}: {exc}"[:500],
                        delay=jobqueue.backoff(job.attempts, base=timedelta(seconds=5)),
                    )
        else:
            with finishing:
                queue.complete(job)  # finishing the job is what records the line as sent

    def sync(
        self, event: dict[str, Any], *, lines_sent: set[str] | None = None, conn: Connection | None = None
    ) -> None:
        """Bring every platform's copies of the requisition in `event` up to date, and tell the requester.

        `lines_sent` names the platforms whose thread already has this event's line (an earlier
        attempt); each platform this call posts the line on is added to it. `conn`: read on it."""
        number = event["number"]
        # Everything read first, on one connection (the view, every platform's copies, each person's
        # card once); no transaction is held while the platforms are called.
        with Session(conn if conn is not None else self.engine) as session:
            view = self.view(session, number)
            reads = session.connection()
            copies: dict[str, dict[tuple[str, str], Any]] = {}
            for row in reads.execute(_COPIES_OF, {"number": view.number}):
                # a plain record: this sync reads and updates it, nothing else does
                copies.setdefault(row.surface, {})[(row.person_id, row.role)] = SimpleNamespace(**row._mapping)
            targets = self._targets(view)
            people = dict.fromkeys([p for p, _ in targets] + [p for c in copies.values() for p, _ in c])
            # On SQLite every transaction holds the write lock (BEGIN IMMEDIATE), and drawing an
            # approver's card may store its "what is unusual" note: there the cards are drawn after.
            shared = self.engine.dialect.name != "sqlite"
            cards = {person: self.card_for(view, person, reads) for person in people} if shared else {}
        if not shared:
            cards = {person: self.card_for(view, person, self.engine) for person in people}
        sent = lines_sent if lines_sent is not None else set()
        line = thread_line(event, view, self._name) if len(sent) < len(self.surfaces) else None
        for surface in self.surfaces:
            if self._sync_surface(
                surface, view, targets, copies.get(surface.name, {}), cards, None if surface.name in sent else line
            ):
                sent.add(surface.name)

    def _targets(self, view: RequisitionView) -> list[tuple[str, str]]:
        """Who should hold a card now: the requester, and everyone a pending step waits on."""
        if view.state in _CLOSED and not view.decisions:
            return []
        targets = [(view.requester, REQUESTER)]
        targets += [(person, APPROVER) for person in view.waiting_on if person != view.requester]
        return targets

    def _sync_surface(
        self,
        surface: ChatSurface,
        view: RequisitionView,
        targets: list[tuple[str, str]],
        copies: dict[tuple[str, str], Any],
        cards: dict[str, Card],
        line: str | None,
    ) -> bool:
        """Update or post every copy on `surface`; True when `line` was posted in the requester's thread."""
        wanted = list(targets) + [key for key in copies if key not in targets]
        for person_id, role in wanted:
            copy = copies.get((person_id, role))
            card = cards[person_id]
            print_ = fingerprint(card)
            if copy is not None:
                if copy.fingerprint != print_:
                    try:
                        surface.update(copy.address, copy.ref, card, headline(card))
                    except Unreachable as exc:
                        log.info("%s copy of %s for %s not updated: %s", surface.name, view.number, person_id, exc)
                        continue
                    self._save_fingerprint(copy, print_)
                continue
            person = self.directory.person(person_id)
            address = surface.reach(person) if person else None
            if address is None or view.state in _CLOSED:
                continue
            try:
                ref = surface.post(address, card, headline(card))
            except Unreachable as exc:
                log.info("%s card of %s for %s not posted: %s", surface.name, view.number, person_id, exc)
                continue
            copies[(person_id, role)] = self._record(surface.name, view.number, person_id, role, address, ref, print_)
        root = copies.get((view.requester, REQUESTER))
        if line and root is not None:
            try:
                surface.post(root.address, None, line, thread=root.ref)
            except Unreachable as exc:
                log.info("%s thread line of %s not posted: %s", surface.name, view.number, exc)
                return False
            return True
        return False

    def _record(
        self, surface: str, number: str, person_id: str, role: str, address: Address, ref: str, print_: str
    ) -> CardCopy:
        row = CardCopy(
            surface=surface,
            number=number,
            person_id=person_id,
            role=role,
            address=address,
            ref=ref,
            fingerprint=print_,
            updated_at=self.clock(),
        )
        values = row.model_dump(exclude={"id"})
        try:
            # plain Core: one INSERT and its COMMIT, recorded before the job can finish
            with self.engine.begin() as conn:
                row.id = conn.execute(insert(_COPIES).values(**values).returning(_COPIES.c.id)).scalar_one()
        except IntegrityError:  # a concurrent sync posted it too; keep the first
            log.warning("a second %s card for %s reached %s; the first one is kept", surface, number, person_id)
        return row

    def _save_fingerprint(self, copy: Any, print_: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_COPIES).where(_COPIES.c.id == copy.id).values(fingerprint=print_, updated_at=self.clock())
            )
        copy.fingerprint = print_

    def wait_for_lines(self, number: str, seconds: float) -> bool:
        """Wait (at most `seconds`) until no sync job of `number` is left to run; True when none is."""
        deadline = time.monotonic() + seconds
        while True:
            with self.engine.connect() as conn:
                left = conn.execute(_PENDING_OF, {"key": f"chat:{number}:%"}).scalar()
            if not left:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def _name(self, person_id: str) -> str:
        person = self.directory.person(person_id)
        return person.name if person else person_id

    # ------------------------------------------------------------------ the worker thread

    def start(self, *, poll_seconds: float = 1.0) -> Callable[[], None]:
        """Run the sync worker in a daemon thread; returns a function that stops it."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    self.drain(workers=self.workers, stop=stop)
                except Exception:  # noqa: BLE001 - the database blinked; the next round retries
                    log.exception("chat delivery round failed")
                self._wake.wait(poll_seconds)
                self._wake.clear()

        thread = threading.Thread(target=loop, name="chat-delivery", daemon=True)
        thread.start()

        def halt() -> None:
            stop.set()
            self._wake.set()
            thread.join(timeout=5)
            if self._executor is not None:
                self._executor.shutdown(wait=False)
                self._executor = None

        return halt


@dataclass
class ChatNotifier:
    """Scheduler notices and ERP notices, delivered on every platform that reaches the person.

    A notice about a requisition goes in that requisition's thread when the person is its
    requester there; otherwise it is a direct message. When no platform reaches the person the
    `fallback` notifier (the log, the web chat, an HTTP chat API) gets it, so nothing is dropped.
    """

    delivery: ChatDelivery
    fallback: Notifier

    settle_seconds: float = 5.0  # how long a thread notice waits for the requisition's own lines to go out

    def send(self, person_id: str, notice: Notice) -> str:
        person = self.delivery.directory.person(person_id)
        refs = []
        number = notice.number
        # a notice for one surface (a request continued where it was written) goes there or, when that is no chat
        # platform here (the web chat), to the fallback
        surfaces = [s for s in self.delivery.surfaces if notice.surface in (None, s.name)]
        threads = {surface.name: self._thread(surface.name, person_id, number) for surface in surfaces}
        if number and any(threads.values()):
            # "PR-1042 is now purchase order PO-…" must not come before "… is fully approved" in the thread
            self.delivery.wait_for_lines(number, self.settle_seconds)
        for surface in surfaces:
            thread = threads[surface.name]
            try:
                if thread is not None:
                    refs.append(f"{surface.name}:" + surface.post(thread.address, None, notice.text, thread=thread.ref))
                    continue
                address = surface.reach(person) if person else None
                card = notice_card(notice)
                if address is not None and notice.card is not None and card is not None:
                    surface.post(address, None, notice.text)  # the words, then the card they are about
                    refs.append(f"{surface.name}:" + surface.post(address, card, headline(card)))
                elif address is not None:
                    refs.append(f"{surface.name}:" + surface.post(address, card, notice.text))
            except Unreachable as exc:
                log.info("%s notice for %s not sent: %s", surface.name, person_id, exc)
        if notice.kind in ("po_created", "po_received", "erp_failed") and notice.number:
            self.delivery.enqueue_event(notice.number, "erp")  # cards show the PO number / the failure
        if refs:
            return " ".join(refs)[:200]
        return self.fallback.send(person_id, notice)

    def _thread(self, surface: str, person_id: str, number: str | None) -> CardCopy | None:
        if not number:
            return None
        with Session(self.delivery.engine) as session:
            return session.exec(
                select(CardCopy).where(
                    CardCopy.surface == surface,
                    CardCopy.number == number,
                    CardCopy.person_id == person_id,
                    CardCopy.role == REQUESTER,
                )
            ).first()


def notice_card(notice: Notice) -> Card | None:
    """A notice with buttons (the ERP's Retry, the suggested-delegation card's choices) as a card, or the card an
    edge drew for it (a continued request's summary); None for a notice that is only words."""
    if notice.card is not None:
        return Card.model_validate(notice.card)
    actions = notice.actions
    if not actions:
        return None
    return Card(
        kind="status_answer",
        title=notice.text,
        number=notice.number,
        actions=[
            CardAction(
                id=a["id"],
                label=a["label"],
                style=a.get("style", "default"),
                value=_action_value(a),
                input_label=a.get("input_label"),
            )
            for a in actions
        ],
    )


def _action_value(action: dict[str, str]) -> dict[str, str]:
    """A "choose" button carries its field, value and key, as a question's choices do; the others a number."""
    if action["id"] == "choose":
        return {k: action[k] for k in ("field", "value", "key") if k in action}
    if action["id"].startswith("supplier."):
        return {"request": action.get("value", "")}  # a supplier request (approvals/new_suppliers.py), not a PR
    return {"number": action.get("value", "")}
