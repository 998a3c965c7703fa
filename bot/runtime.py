"""Start-up wiring: database, directory, policy and the approval service, built once."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from approvals import outbox
from approvals.clock import Clock, utcnow
from approvals.db import make_engine, startup_lock, transaction, upgrade
from approvals.directory import Directory, load_directory
from approvals.policy import load_policy
from approvals.policy_store import install_policy
from approvals.workflow import ApprovalService
from bot import llm_setup, scheduler
from bot.settings import Settings
from bot.tokens import create_token, find_token

log = logging.getLogger("procurebot")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    directory: Directory
    service: ApprovalService
    # callables (bot.erp_dispatcher.ErpChange) told after the in-server ERP dispatcher commits; the web chat adds one
    erp_listeners: list[Any] = field(default_factory=list)
    # chat platforms (Slack, Teams) register a surface here; it keeps every card copy true (bot/chat)
    chat: Any = None
    # the optional LLM helper and the approvers' exception summaries (bot.llm_setup.LlmParts)
    llm: Any = None


def build_runtime(settings: Settings, *, migrate: bool = True, clock: Clock = utcnow) -> Runtime:
    """Migrate the database, load the directory and policy, and make the service. Fails fast and clearly.

    `clock` is the one clock of this process: the policy activation, the service and everything it
    writes read it."""
    if settings.database_url.startswith("sqlite:///"):
        db_path = settings.database_url.removeprefix("sqlite:///")
        if db_path and db_path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(db_path)), exist_ok=True)
    directory = load_directory(settings.directory_file)
    policy = load_policy(settings.policy_file)
    # Replicas starting together take turns here (a PostgreSQL advisory lock): the first migrates, activates the
    # policy and makes the admin token; the others then find them done.
    with startup_lock(settings.database_url) as locked:
        if migrate:
            upgrade(settings.database_url, locked)
        engine = make_engine(settings.database_url)
        with transaction(engine) as session:
            row, changed = install_policy(session, policy, at=clock(), actor="system", surface="cli", only_if_new=True)
        _ensure_admin_token(settings, engine)
    log.info(
        "policy file %s: %s",
        policy.label,
        "activated" if changed else "already known; the active version stays as it is",
    )
    service = ApprovalService(engine, directory, clock=clock)
    outbox.install(service)  # a final approval writes the ERP "create PO" job in its own transaction
    runtime = Runtime(settings, engine, directory, service)
    runtime.chat = chat_delivery(engine, directory, service, runtime)
    runtime.chat.workers = settings.chat_delivery_workers
    scheduler.install(runtime)  # reminders, escalations, delegation windows: written with each action
    llm = llm_setup.install(runtime, policy)  # exception summaries; LLM suggestions only when a model is configured
    llm.summaries.listeners.append(lambda number: runtime.chat.enqueue_event(number, "summary"))
    return runtime


def chat_delivery(engine: Engine, directory: Directory, service: ApprovalService, runtime: Any = None) -> Any:
    """The platform-neutral card fan-out; it writes jobs only once a platform has registered.

    With `runtime`, approver cards carry the "what is unusual" note of `runtime.llm` once it is installed,
    and a note written after submit re-renders every copy."""
    from bot.chat.delivery import ChatDelivery
    from bot.intake.orders import viewer_card

    def card_for(view: Any, viewer: str, conn: Any) -> Any:
        llm = getattr(runtime, "llm", None) if runtime is not None else None
        return viewer_card(conn, view, viewer, directory, llm.summaries if llm else None)

    chat = ChatDelivery(engine, directory, view=service.view_in, card_for=card_for, clock=service.clock)
    chat.install(service)
    return chat


def _ensure_admin_token(settings: Settings, engine: Engine) -> None:
    if settings.admin_token is not None:
        create_token(engine, name="bootstrap-admin", role="admin", token=settings.admin_token.get_secret_value())
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
                return
    # Dev convenience: a local admin token, written to a private file, never logged.
    token = create_token(engine, name="dev-admin", role="admin")
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
