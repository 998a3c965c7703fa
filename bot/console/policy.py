"""The policy page: the active version and its check; upload a new version, see its errors or its
what-if report, then activate it (admins only, CSRF-protected forms).

The uploaded text travels to the activation form base64-encoded with its content hash, so the
server keeps no state between the two steps (any replica can activate) and activation re-checks
exactly the text that was shown.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import Session, select

from approvals.db import transaction
from approvals.errors import NotFound, PolicyInvalid, PolicyIssue
from approvals.models import Requisition
from approvals.policy.checker import check_policy
from approvals.policy.loader import LoadedPolicy, load_policy_text
from approvals.policy.simulate import RouteChange, RouteShape, SimulationReport, StoredRoute, simulate
from approvals.policy_store import active_policy, install_policy
from bot.console import html, texts
from bot.console.formats import when
from bot.console.guard import guard, guard_form
from bot.console.session import Identity

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
MAX_UPLOAD = 2_000_000
HISTORY = 10_000  # most recent requisitions replayed by the what-if report
SHOW_CHANGES = 50


@router.get("/policy")
def policy_page(request: Request) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    try:
        with Session(runtime.engine) as session:
            row, policy = active_policy(session)
    except NotFound:
        return html.page("policy.html", "Policy", who=who, active="policy", facts=None, issues=None)
    facts = [
        ("Version", policy.label),
        ("File", row.filename),
        ("Active since", when(row.loaded_at)),
        ("Currency", policy.currency),
        ("Routing rules", len(policy.rules)),
        ("Hard stops", len(policy.stops)),
        ("Overlays", len(policy.overlays)),
    ]
    return html.page(
        "policy.html", "Policy", who=who, active="policy", facts=facts, issues=check_policy(policy, runtime.directory)
    )


@router.post("/policy/upload")
async def upload(request: Request, file: UploadFile | None = None, csrf: str = Form(default="")) -> Response:
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    if file is None or not file.filename:
        return _result(who, texts.UPLOAD_EMPTY, "bad", 400)
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        return _result(who, texts.UPLOAD_TOO_LARGE.format(limit=MAX_UPLOAD), "bad", 413)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _result(who, texts.UPLOAD_NOT_TEXT, "bad", 400)
    name = os.path.basename(file.filename)[:200]
    runtime = request.app.state.runtime
    try:
        policy = load_policy_text(text, name)
    except PolicyInvalid as exc:
        return _result(who, texts.UPLOAD_ERRORS, "bad", 422, errors=exc.issues)
    issues = check_policy(policy, runtime.directory)
    if any(i.severity == "error" for i in issues):
        return _result(who, texts.UPLOAD_ERRORS, "bad", 422, errors=issues)
    report = await run_in_threadpool(_simulate, runtime, policy)
    activate = {
        "source": base64.b64encode(text.encode("utf-8")).decode(),
        "filename": name,
        "content_hash": policy.content_hash,
        "label": policy.label,
    }
    return _result(
        who, texts.UPLOAD_OK, "ok", 200, issues=issues, replay=_replay(report, runtime.directory), activate=activate
    )


def _result(
    who: Identity,
    text: str,
    tone: str,
    status: int,
    *,
    errors: list[PolicyIssue] | None = None,
    issues: list[PolicyIssue] | None = None,
    replay: dict[str, Any] | None = None,
    activate: dict[str, str] | None = None,
) -> Response:
    """The page after an upload or activation: what happened, and the findings, what-if replay and activate form
    when there are any (`errors` are findings that stop the policy; `issues` those of a policy that passed)."""
    return html.page(
        "policy_result.html",
        "Policy upload",
        who=who,
        active="policy",
        status=status,
        text=text,
        tone=tone,
        errors=errors,
        issues=issues,
        replay=replay,
        activate=activate,
    )


def _simulate(runtime, policy: LoadedPolicy) -> SimulationReport:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(Requisition)
            .where(Requisition.submitted_at != None)  # noqa: E711
            .order_by(Requisition.id.desc())
            .limit(HISTORY)
        ).all()  # type: ignore[union-attr]
        history = [StoredRoute(r.number or "", r.state, dict(r.facts), dict(r.route)) for r in rows if r.route]
    return simulate(history, policy, runtime.directory, runtime.service.clock())


def _replay(report: SimulationReport, directory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The what-if report with its tables' rows: the first changed routes, and each approver whose load changes."""
    people = sorted(
        set(report.load_before) | set(report.load_after), key=lambda p: -(report.load_after[p] - report.load_before[p])
    )
    load = [
        (
            directory.person(p).name if directory.person(p) else p,
            f"{report.load_before[p]:,}",
            f"{report.load_after[p]:,}",
            f"{report.load_after[p] - report.load_before[p]:+,}",
        )
        for p in people
        if report.load_after[p] != report.load_before[p]
    ]
    return {
        "report": report,
        "changes": [_change_row(c, directory) for c in report.changed[:SHOW_CHANGES]],
        "more": max(len(report.changed) - SHOW_CHANGES, 0),
        "load": load,
    }


def _named(directory, kind: str, key: str | None) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(what people call it, its id): a person's, site's or supplier's name; an id the directory no longer has
    is shown as stored."""
    if not key:
        return ("–", "")
    found = {
        "person": directory.person_by_id,
        "site": directory.site_by_code,
        "supplier": directory.supplier_by_id,
    }[kind].get(key)
    return (found.name if found is not None else key, key)


def _route_cells(shape: RouteShape | None, text: str, directory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A route as the page shows it: its outcome and rule in words, then each stage's approvers by name."""
    if shape is None:
        return {"label": text, "stages": []}
    if shape.outcome == "auto_approve":
        label = f"auto-approve ({shape.rule})"
    elif shape.outcome == "stop":
        label = f"stop ({shape.rule or 'no rule'})"
    else:
        label = f"{shape.rule}:"
    return {"label": label, "stages": [[_named(directory, "person", p) for p in stage] for stage in shape.stages]}


def _change_row(change: RouteChange, directory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One changed route: the requisition, who asked for what where, and the route before and after, by name."""
    return {
        "number": change.number,
        "request": [
            _named(directory, "person", change.requester),
            _named(directory, "site", change.site),
            _named(directory, "supplier", change.supplier),
        ],
        "before": _route_cells(change.before_shape, change.before, directory),
        "after": _route_cells(change.after_shape, change.after, directory),
    }


@router.post("/policy/activate")
def activate(
    request: Request,
    csrf: str = Form(default=""),
    source: str = Form(default="", max_length=3_000_000),
    filename: str = Form(default="upload.yaml", max_length=200),
    content_hash: str = Form(default="", max_length=64),
) -> Response:
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    try:
        text = base64.b64decode(source, validate=True).decode("utf-8")
        policy = load_policy_text(text, os.path.basename(filename))
    except (binascii.Error, UnicodeDecodeError, PolicyInvalid):
        return _result(who, texts.CHANGED_SINCE, "bad", 400)
    if policy.content_hash != content_hash:
        return _result(who, texts.CHANGED_SINCE, "bad", 409)
    issues = check_policy(policy, runtime.directory)
    if any(i.severity == "error" for i in issues):
        return _result(who, texts.UPLOAD_ERRORS, "bad", 422, errors=issues)
    with transaction(runtime.engine) as session:
        _, changed = install_policy(
            session, policy, at=runtime.service.clock(), actor=f"console:{who.name}"[:80], surface="console"
        )
    message = (texts.ACTIVATED if changed else texts.ALREADY_ACTIVE).format(label=policy.label)
    return _result(who, message, "ok", 200)
