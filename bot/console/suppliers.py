"""New suppliers in the console: the requests to add one (approvals/new_suppliers.py), and a buyer's decision on
each. Admins and auditors see the list; only a buyer signed in through single sign-on may decide, as in chat (the
core refuses anyone else). Every decision is the core's: audited, a double post changes nothing twice."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from approvals import new_suppliers
from approvals.attachments import Attachment, megabytes
from approvals.errors import ProcurebotError, ValidationFailed
from bot.console import html
from bot.console.formats import when
from bot.console.guard import guard, guard_form
from bot.downloads import download_response

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
PAGE = "/console/suppliers"
STATE_WORDS = {
    "pending": "waiting for a buyer",
    "needs_info": "asked the requester",
    "approved": "approved, being created in the ERP",
    "created": "added",
    "rejected": "not added",
}


@router.get("/suppliers")
def suppliers_page(
    request: Request,
    done: str = Query(default="", max_length=300),
    problem: str = Query(default="", max_length=300),
) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    directory = runtime.directory
    me = directory.person(who.person_id or "")
    buyer = bool(me and me.has_role(new_suppliers.BUYER_ROLE))

    def name(person_id: str | None) -> str:
        p = directory.person(person_id or "")
        return p.name if p else (person_id or "")

    rows = [
        {
            "number": r.number,
            "name": r.name,
            "email": r.email,
            "website": r.website,
            "tax_id": r.tax_id or "",
            "tax_document": (
                f"{r.tax_document['filename']} ({megabytes(r.tax_document['size'])})" if r.tax_document else ""
            ),
            "asked_by": ", ".join(dict.fromkeys(name(str(w.get("person"))) for w in r.waiting)),
            "asked_at": when(r.requested_at),
            "state": STATE_WORDS.get(r.state, r.state),
            "decided": f"{name(r.decided_by)}, {when(r.decided_at)}" if r.decided_by and r.decided_at else "",
            "note": r.note,
            "supplier_id": r.supplier_id or "",
            "open": r.state in new_suppliers.OPEN_STATES,
        }
        for r in new_suppliers.listing(runtime.engine)
    ]
    return html.page(
        "suppliers.html",
        "New suppliers",
        who=who,
        active="suppliers",
        rows=rows,
        buyer=buyer,
        done=done,
        problem=problem,
    )


@router.get("/suppliers/{number}/tax-document")
def tax_document(request: Request, number: Annotated[str, Path(max_length=20)]) -> Response:
    """The request's tax document, always as a download (the page's own check: admins and auditors)."""
    who = guard(request)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    service = runtime.service
    try:
        record, data = new_suppliers.tax_document(
            runtime.engine, service.attachment_store, runtime.directory, number, None
        )
    except ProcurebotError as exc:
        return html.message("Not found", exc.message, "bad", who=who, active="suppliers", status=404)
    row = Attachment(
        requisition_id=0,
        filename=record["filename"],
        content_type=record["content_type"],
        size=record["size"],
        sha256=record["sha256"],
        storage_key=record["key"],
        uploaded_by="",
    )
    return download_response(row, data)


@router.post("/suppliers/{number}/decide")
def decide(
    request: Request,
    number: str,
    csrf: str = Form(default=""),
    decision: str = Form(default="", max_length=10),
    note: str = Form(default="", max_length=2000),
) -> Response:
    """A buyer's Approve, Reject (with a reason) or Ask for info (with the question)."""
    who = guard_form(request, csrf)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    if decision not in ("approve", "reject", "ask"):
        return _back(bad="Choose Approve, Reject or Ask for info.")
    try:
        row = new_suppliers.decide(
            runtime.engine,
            runtime.directory,
            number,
            actor=who.person_id or f"console:{who.name}"[:80],
            decision=decision,  # type: ignore[arg-type]
            note=note,
            surface="console",
            now=runtime.service.clock(),
        )
    except ValidationFailed as exc:
        return _back(bad="; ".join(e.message for e in exc.errors).capitalize() + ".")
    except ProcurebotError as exc:
        return _back(bad=exc.message)
    said = {
        "approve": f"{row.number}: {row.name} is approved and being created in the ERP.",
        "reject": f"{row.number}: {row.name} will not be added; the requesters are told why.",
        "ask": f"{row.number}: the requesters are asked.",
    }[decision]
    return _back(ok=said)


def _back(*, ok: str = "", bad: str = "") -> Response:
    if ok:
        return RedirectResponse(f"{PAGE}?done={quote(ok[:300])}", status_code=303)
    return RedirectResponse(f"{PAGE}?problem={quote(bad[:300])}", status_code=303)
