"""The composition root: one `Settings` in, one typed `Runtime` out, every hook and listener in one declared order.

`build_runtime` makes the service and the parts around it (chat delivery, the scheduler's planner, the LLM parts)
and `_wire` installs what runs with every action, in the order written there. Surfaces, which start later (Slack
at start-up, the web chat on first use), add their listeners to the runtime's lists, which run at their place in
that order; they never append to the service.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, cast

from sqlalchemy import Engine
from sqlmodel import Session

from approvals import audit, outbox, recurring
from approvals.attachment_store import DirectoryStore
from approvals.attachments import AttachmentLimits
from approvals.clock import Clock, utcnow
from approvals.db import make_engine, startup_lock, transaction, upgrade
from approvals.directory import Directory, load_directory_text
from approvals.directory_store import LiveDirectory, install_directory
from approvals.policy import load_policy
from approvals.policy_store import install_policy
from approvals.scheduling.runner import Scheduler
from approvals.views import RequisitionView
from approvals.workflow import ApprovalService
from approvals.workflow.base import AfterCommitListener, InTransactionHook
from bot import llm_setup, scheduler
from bot.cards.model import Card
from bot.chat.delivery import ChatDelivery
from bot.chat.unread import UnreadItems
from bot.erp_dispatcher import ErpListener
from bot.exception_summary import ExceptionSummaries
from bot.intake.orders import viewer_card
from bot.live import Live
from bot.llm_setup import LlmParts, card_refresher
from bot.settings import Settings
from bot.settings.audit import audit_key
from bot.settings.private import private_database, tighten
from bot.tokens import create_token, find_token, revoke_bootstrap_except
from connectors.s3 import S3Store

if TYPE_CHECKING:
    from bot.intake.assistant import Assistant

log = logging.getLogger("procurebot")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    directory: Directory
    service: ApprovalService
    # the card fan-out; chat platforms (Slack, Teams) register a surface on it, which keeps every card copy true
    chat: ChatDelivery
    # reminders, escalations, delegation windows, digests (its calendars know the configured working hours)
    scheduler: Scheduler
    # the optional LLM helper and the approvers' exception summaries
    llm: LlmParts
    # every committed change, told to this process's browsers and, on PostgreSQL, to every other process's
    live: Live
    # What surfaces add as they start, each list run at its place in `_wire`'s order:
    # told after every action commits (Slack's tap answers, the web chat's live hub)...
    commit_listeners: list[AfterCommitListener] = field(default_factory=list)
    # ...when an approver's note is stored after submit (the web chat re-renders open cards)...
    summary_listeners: list[Callable[[str], None]] = field(default_factory=list)
    # ...and after the in-server ERP dispatcher commits (POs are recorded outside the service: no Change fires)
    erp_listeners: list[ErpListener] = field(default_factory=list)
    _assistants: dict[str, Assistant] = field(default_factory=dict, repr=False)

    def assistant(self, surface: str) -> Assistant:
        """The conversation on `surface` ("web", "slack", "teams") with this runtime's parts, for work that answers
        no message of the person's: their waiting request continued when its new supplier is added
        (bot/intake/new_suppliers.py, `ContinueWaiting`). Made once per surface."""
        found = self._assistants.get(surface)
        if found is None:
            from bot.intake.assistant import Assistant

            found = self._assistants[surface] = Assistant(
                self.service,
                self.directory,
                surface=surface,
                draft_ttl=timedelta(hours=self.settings.chat_draft_ttl_hours),
                calendars=self.scheduler.calendars,
                classifier=self.llm.categories.classifier if self.llm.categories else None,
                suggester=self.llm.suggester,
                summaries=self.llm.summaries,
            )
        return found


def build_runtime(settings: Settings, *, migrate: bool = True, clock: Clock = utcnow) -> Runtime:
    """Migrate the database, load the directory and policy, and make the service and its parts. Fails fast and
    clearly.

    `clock` is the one clock of this process: the policy activation, the service and everything it
    writes read it."""
    if settings.database_url.startswith("sqlite:///"):
        db_path = settings.database_url.removeprefix("sqlite:///")
        if db_path and db_path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(db_path)), exist_ok=True)
    directory_text = settings.directory_file.read_text(encoding="utf-8")
    load_directory_text(directory_text, str(settings.directory_file))  # a bad file stops the start, every problem said
    policy = load_policy(settings.policy_file)
    url = settings.connect_url
    private_database(url)  # a SQLite file is made 0600 before SQLite makes it with the umask's mode
    audit.use_key(audit_key(settings.audit, settings.var_dir))  # every event this process writes is keyed
    # Replicas starting together take turns here (a PostgreSQL advisory lock): the first migrates, activates the
    # policy and makes the admin token; the others then find them done.
    with startup_lock(url) as locked:
        if migrate:
            upgrade(url, locked)
        engine = make_engine(url)
        with transaction(engine) as session:
            row, changed = install_policy(session, policy, at=clock(), actor="system", surface="cli", only_if_new=True)
        # the file is a directory version like any other: a new file's content becomes the active version, a file
        # already stored leaves the active one (a later activation or sync) as it is
        with transaction(engine) as session:
            _, new_directory = install_directory(
                session,
                directory_text,
                at=clock(),
                filename=str(settings.directory_file),
                note="the directory file at start-up",
                only_if_new=True,
            )
        with transaction(engine) as session:
            if audit.seal(session, at=clock()):  # the chain ends in a keyed event from here on: see docs/audit.md
                log.info("audit chain: a keyed segment starts (key id %s)", audit.key_id(audit.current_key() or b""))
        _ensure_admin_token(settings, engine)
    log.info(
        "policy file %s: %s",
        policy.label,
        "activated" if changed else "already known; the active version stays as it is",
    )
    if new_directory:
        log.info("directory file %s: activated as a new directory version", settings.directory_file)
    # every process reads the active version from the database and follows a new activation without a restart
    directory = cast(Directory, LiveDirectory(engine, every_seconds=settings.directory_refresh_seconds))
    service = ApprovalService(engine, directory, clock=clock)
    service.attachment_limits = AttachmentLimits(max_bytes=settings.attachment_max_bytes)
    if settings.attachments_dir is not None:
        service.attachment_store = DirectoryStore(settings.attachments_dir)
    elif settings.attachments_s3_url and settings.attachments_s3_secret_access_key is not None:
        service.attachment_store = S3Store(
            settings.attachments_s3_url,
            access_key=settings.attachments_s3_access_key_id or "",
            secret_key=settings.attachments_s3_secret_access_key.get_secret_value(),
            region=settings.attachments_s3_region,
            clock=clock,
        )
    # exception summaries always; LLM suggestions only when a model is configured
    llm = llm_setup.parts(service, policy, settings.llm)
    chat = ChatDelivery(
        engine,
        directory,
        view=service.view_in,
        card_for=card_for(directory, llm.summaries),
        clock=service.clock,
        workers=settings.chat_delivery_workers,
    )
    planner, jobs = scheduler.build(settings, directory, service, chat)
    # live updates between processes are for the web chat's pages, which only dev mode serves
    live = Live(engine, between_processes=settings.dev)
    runtime = Runtime(settings, engine, directory, service, chat=chat, scheduler=jobs, llm=llm, live=live)
    _wire(runtime, planner)
    # People who left since the last start (gone from the file, or `active: false`): their open steps move on
    # now, through the wired service, so the new holders get their cards and reminders. Replicas starting
    # together each find what is left to move (a step moved by another is skipped).
    for line in service.move_from_leavers():
        if line.startswith("NOT MOVED"):
            log.error("directory: %s", line)
        else:
            log.warning("directory: %s", line)
    return runtime


def _wire(runtime: Runtime, planner: InTransactionHook) -> None:
    """Install every hook and listener of the runtime, in the one order they run."""
    service, chat, summaries, live = runtime.service, runtime.chat, runtime.llm.summaries, runtime.live
    # In the action's transaction, each adds to its plan. The outbox goes first: on a final approval it moves the
    # requisition from approved to po_pending and writes its audit event right after the decision's, so every
    # later hook sees the state that commits, and the hash chain reads decision, then PO request. The other two
    # only add jobs (a chat.sync, then reminders and escalations); their order fixes the jobs' ids.
    # a recurring requisition's schedule starts before the outbox's hook, which then makes no PO for the whole
    service.in_transaction[:] = [
        recurring.on_final_approval,
        outbox.on_final_approval,
        chat.enqueue_for_change,
        planner,
    ]
    # In dev mode, where the web chat runs, what Slack and Teams users learn from cards and threads is kept for
    # everyone as unread items in the inbox, with the action (bot/chat/unread.py); production serves no web chat.
    if runtime.settings.dev:
        service.in_transaction.append(UnreadItems(runtime.directory))
    # After commit, none can fail the action and each returns at once (a flag, a queued task): the delivery
    # worker wakes, the note for approvers is queued, then the surfaces' own listeners run, then every process's
    # browsers hear of it (bot/live.py: at once here, through NOTIFY elsewhere).
    service.after_commit[:] = [chat.wake, summaries.on_change, _each(runtime.commit_listeners), live.publish_change]
    # A note stored after submit re-renders every chat copy (a job), then whatever the surfaces show, then the
    # browsers' open cards, in every process (only when someone may be listening: it reads the requisition).
    refresh = card_refresher(service, live.publish_change)
    summaries.listeners[:] = [
        lambda number: chat.enqueue_event(number, "summary"),
        _each(runtime.summary_listeners),
        lambda number: refresh(number) if live.wanted else None,
    ]
    # What an ERP dispatcher of this process commits reaches every process's browsers the same way.
    runtime.erp_listeners.append(live.publish_erp)


def _each(listeners: list[Callable[[Any], None]]) -> Callable[[Any], None]:
    """One listener telling each of `listeners` (read when called, so surfaces may add theirs later)."""

    def tell(event: Any) -> None:
        for listener in list(listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - one broken surface must not silence the others
                log.exception("listener %r failed", listener)

    return tell


def card_for(directory: Directory, summaries: ExceptionSummaries | None) -> Callable[[RequisitionView, str, Any], Card]:
    """How chat delivery draws a requisition for one viewer: approvers' cards carry the "what is unusual" note."""

    def draw(view: RequisitionView, viewer: str, conn: Any) -> Card:
        return viewer_card(conn, view, viewer, directory, summaries)

    return draw


def chat_delivery(
    engine: Engine, directory: Directory, service: ApprovalService, summaries: ExceptionSummaries | None = None
) -> ChatDelivery:
    """Chat delivery for a service wired by hand (tests): its hook and wake-up appended to the service's lists.
    A runtime's is built and wired by `build_runtime`."""
    chat = ChatDelivery(
        engine, directory, view=service.view_in, card_for=card_for(directory, summaries), clock=service.clock
    )
    chat.install(service)
    return chat


def _ensure_admin_token(settings: Settings, engine: Engine) -> None:
    if settings.admin_token is not None:
        plain = settings.admin_token.get_secret_value()
        # dev is one laptop with the sample company: its admin token may act as anyone, as the README's tour does
        create_token(engine, name="bootstrap-admin", role="admin", token=plain, act_as=settings.dev)
        revoked = revoke_bootstrap_except(engine, name="bootstrap-admin", keep=plain)
        if revoked:
            log.warning("PROCUREBOT_ADMIN_TOKEN changed: the previous bootstrap admin token was revoked")
        return
    if not settings.dev:
        return
    path = settings.var_dir / "dev-admin-token"
    written = path.read_text().strip() if path.is_file() else None
    # a missing file gets a token too: the README's tour reads it, whatever tokens the database already holds
    if written:
        with Session(engine) as session:
            row = find_token(session, written)
            if row is not None and row.role == "admin":
                tighten(path)  # kept: one an older version left 0644 becomes 0600 (a replaced one is new and 0600)
                return
    # Dev convenience: a local admin token, written to a private file, never logged.
    token = create_token(engine, name="dev-admin", role="admin", act_as=True)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.replace(scratch, path)  # whole or not at all, for anyone reading it meanwhile
    if written is None:
        log.warning("dev mode: an admin API token was written to %s", path)
    else:
        log.warning(
            "dev mode: %s held a token this database does not know (left from another database?); "
            "a new admin API token was written there",
            path,
        )
