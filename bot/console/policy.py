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

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import Session, select

from approvals.db import transaction
from approvals.errors import NotFound, PolicyInvalid, PolicyIssue
from approvals.models import Requisition
from approvals.policy.checker import check_policy
from approvals.policy.loader import LoadedPolicy, load_policy_text
from approvals.policy.simulate import SimulationReport, StoredRoute, simulate
from approvals.policy_store import active_policy, install_policy
from bot.console import html, texts
from bot.console.guard import guard, guard_form
from bot.console.html import esc
from bot.console.session import Identity

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
MAX_UPLOAD = 2_000_000
HISTORY = 10_000  # most recent requisitions replayed by the what-if report
SHOW_CHANGES = 50


def _findings(issues: list[PolicyIssue]) -> str:
    if not issues:
        return html.notice("No findings: no gaps, shadowed rules or unknown names.", "ok")
    rows = [(f'<span class="sev {esc(i.severity)}">{esc(i.severity)}</span>', esc(i.line or ""), esc(i.kind),
             esc(i.message) + (f"<br><small>{esc(i.hint)}</small>" if i.hint else "")) for i in issues]
    return html.table(["Severity", "Line", "Kind", "Finding"], rows, cls="findings")


def _upload_form(who: Identity) -> str:
    if not who.is_admin:
        return f'<p class="empty">{esc(texts.ADMIN_ONLY.format(name=who.name, role=who.role))}</p>'
    return ('<h2>Upload a new version</h2><form class="inline" method="post" action="/console/policy/upload" '
            f'enctype="multipart/form-data"><input type="hidden" name="csrf" value="{esc(who.csrf)}">'
            '<label>Policy file (YAML)<input type="file" name="file" id="policy-file" accept=".yaml,.yml,text/yaml" '
            'required></label><button type="submit" class="primary" id="upload">Check and simulate</button></form>')


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
        return html.page("Policy", html.notice(texts.NO_POLICY, "warn") + _upload_form(who), who=who, active="policy")
    facts = [("Version", policy.label), ("File", row.filename), ("Active since", html.when(row.loaded_at)),
             ("Currency", policy.currency), ("Routing rules", len(policy.rules)), ("Hard stops", len(policy.stops)),
             ("Overlays", len(policy.overlays))]
    body = ('<dl class="facts" id="current">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
            + "</dl><h2>Check results</h2>" + _findings(check_policy(policy, runtime.directory)) + _upload_form(who))
    return html.page("Policy", body, who=who, active="policy")


@router.post("/policy/upload")
async def upload(request: Request, file: UploadFile | None = None, csrf: str = Form(default="")) -> Response:
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    if file is None or not file.filename:
        return _result(who, html.notice(texts.UPLOAD_EMPTY, "bad"), 400)
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        return _result(who, html.notice(texts.UPLOAD_TOO_LARGE.format(limit=MAX_UPLOAD), "bad"), 413)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _result(who, html.notice(texts.UPLOAD_NOT_TEXT, "bad"), 400)
    name = os.path.basename(file.filename)[:200]
    runtime = request.app.state.runtime
    try:
        policy = load_policy_text(text, name)
    except PolicyInvalid as exc:
        return _result(who, html.notice(texts.UPLOAD_ERRORS, "bad") + _findings(exc.issues), 422)
    issues = check_policy(policy, runtime.directory)
    if any(i.severity == "error" for i in issues):
        return _result(who, html.notice(texts.UPLOAD_ERRORS, "bad") + _findings(issues), 422)
    report = await run_in_threadpool(_simulate, runtime, policy)
    body = (html.notice(texts.UPLOAD_OK, "ok") + "<h2>Check results</h2>" + _findings(issues)
            + "<h2>What-if replay</h2>" + _report(report, runtime.directory) + _activate_form(who, policy, text, name))
    return _result(who, body, 200)


def _result(who: Identity, body: str, status: int) -> Response:
    return html.page("Policy upload", body + '<p><a href="/console/policy">Back to the policy</a></p>', who=who,
                     active="policy", status=status)


def _simulate(runtime, policy: LoadedPolicy) -> SimulationReport:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        rows = session.exec(select(Requisition).where(Requisition.submitted_at != None)  # noqa: E711
                            .order_by(Requisition.id.desc()).limit(HISTORY)).all()  # type: ignore[union-attr]
        history = [StoredRoute(r.number or "", r.state, dict(r.facts), dict(r.route)) for r in rows if r.route]
    return simulate(history, policy, runtime.directory, runtime.service.clock())


def _report(report: SimulationReport, directory) -> str:  # type: ignore[no-untyped-def]
    figures = ('<div class="figures" id="simulate-report">'
               + html.figure("Requisitions replayed", f"{report.total:,}",
                             f"routed under {', '.join(report.old_versions) or '–'}", "replayed")
               + html.figure("Routes that change", f"{len(report.changed):,}", f"of {report.total:,}", "changed")
               + html.figure("Touchless", f"{html.pct(report.rate(report.touchless_before))} → "
                             f"{html.pct(report.rate(report.touchless_after))}", "before → after", "touchless")
               + html.figure("Stopped", f"{report.stopped_before} → {report.stopped_after}", "before → after",
                             "stopped") + "</div>")
    changes = html.table(["Requisition", "Before", "After"], [
        (esc(c.number), esc(c.before), esc(c.after)) for c in report.changed[:SHOW_CHANGES]], cls="changes")
    more = (f'<p class="empty">… and {len(report.changed) - SHOW_CHANGES:,} more.</p>'
            if len(report.changed) > SHOW_CHANGES else "")
    people = sorted(set(report.load_before) | set(report.load_after),
                    key=lambda p: -(report.load_after[p] - report.load_before[p]))
    load = [(esc(directory.person(p).name if directory.person(p) else p), f"{report.load_before[p]:,}",
             f"{report.load_after[p]:,}", f"{report.load_after[p] - report.load_before[p]:+,}")
            for p in people if report.load_after[p] != report.load_before[p]]
    load_table = ("<h3>Approver load (steps)</h3>" + html.table(["Approver", "Before", "After", "Change"], load)
                  if load else "")
    return figures + ("<h3>Changed routes</h3>" + changes + more if report.changed else "") + load_table


def _activate_form(who: Identity, policy: LoadedPolicy, text: str, name: str) -> str:
    encoded = base64.b64encode(text.encode("utf-8")).decode()
    return ('<form class="inline" method="post" action="/console/policy/activate">'
            f'<input type="hidden" name="csrf" value="{esc(who.csrf)}">'
            f'<input type="hidden" name="source" value="{esc(encoded)}">'
            f'<input type="hidden" name="filename" value="{esc(name)}">'
            f'<input type="hidden" name="content_hash" value="{esc(policy.content_hash)}">'
            f'<button type="submit" class="primary" id="activate">Activate {esc(policy.label)}</button></form>')


@router.post("/policy/activate")
def activate(request: Request, csrf: str = Form(default=""), source: str = Form(default="", max_length=3_000_000),
             filename: str = Form(default="upload.yaml", max_length=200),
             content_hash: str = Form(default="", max_length=64)) -> Response:
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    try:
        text = base64.b64decode(source, validate=True).decode("utf-8")
        policy = load_policy_text(text, os.path.basename(filename))
    except (binascii.Error, UnicodeDecodeError, PolicyInvalid):
        return _result(who, html.notice(texts.CHANGED_SINCE, "bad"), 400)
    if policy.content_hash != content_hash:
        return _result(who, html.notice(texts.CHANGED_SINCE, "bad"), 409)
    issues = check_policy(policy, runtime.directory)
    if any(i.severity == "error" for i in issues):
        return _result(who, html.notice(texts.UPLOAD_ERRORS, "bad") + _findings(issues), 422)
    with transaction(runtime.engine) as session:
        _, changed = install_policy(session, policy, at=runtime.service.clock(), actor=f"console:{who.name}"[:80],
                                    surface="console")
    message = (texts.ACTIVATED if changed else texts.ALREADY_ACTIVE).format(label=policy.label)
    return _result(who, html.notice(message, "ok"), 200)
