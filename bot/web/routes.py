"""HTTP routes of the web chat. They only translate: JSON in, the assistant's replies out as rendered cards.

Identity here is the dev-only person picker, so every route refuses in production mode.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, AsyncIterator

from fastapi import APIRouter, File, Form, HTTPException, Path as PathParam, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from approvals import inbox
from approvals.clock import as_utc
from approvals.credentials import Credential, acting
from approvals.errors import NotFound, ValidationFailed
from approvals.workflow.attachments import attach_command
from bot.cards.html import ACCEPT, render_card
from bot.chat.delivery import notice_card
from bot.downloads import download_response
from bot.intake import texts
from bot.intake.assistant import Assistant, Reply, UnknownPerson
from bot.runtime import Runtime
from bot.templating import environment
from bot.web import texts as page_texts
from bot.web.hub import LOOK_IN_INBOX, RECONNECT, UNREAD_CHANGED, LiveHub

router = APIRouter(prefix="/chat", tags=["web chat"], include_in_schema=False)
STATIC = Path(__file__).parent / "static"
TEMPLATES = environment("bot.web")
KEEPALIVE_SECONDS = 15.0
# how often an open stream looks for notices another process kept for its person (this process's tell it at once)
INBOX_POLL_SECONDS = 2.0
_init_lock = threading.Lock()


@dataclass
class WebChat:
    assistant: Assistant
    hub: LiveHub
    runtime: Runtime

    def notices(self, person: str) -> list[dict[str, Any]]:
        """The person's notices no chat platform delivered (reminders, PO created, ...), each shown once: as replies
        in the web chat's shape, a notice with buttons as its card."""
        taken = inbox.take_unshown(self.runtime.engine, person_id=person, now=self.runtime.service.clock())
        out = []
        for notice in taken:
            card = notice_card(notice)
            html = render_card(card) if card else None
            # a notice's own card (a continued request's summary) comes under its words; buttons alone carry them
            text = notice.text if notice.card is not None or not html else None
            out.append({"text": text, "html": html, "number": notice.number})
        return out

    def unread(self, person: str) -> dict[str, Any]:
        """The person's unread list: how many, and the newest items (each with its kind's label, its words, the
        requisition it opens, when it came, and its card when it has buttons)."""
        count, items = inbox.unread(self.runtime.engine, person_id=person, limit=page_texts.UNREAD_SHOWN)
        return {
            "count": count,
            "items": [
                {
                    "id": item.id,
                    "kind": item.notice.kind,
                    "label": page_texts.UNREAD_KINDS.get(item.notice.kind, page_texts.UNREAD_OTHER),
                    "text": item.notice.text,
                    "number": item.notice.number,
                    "numbers": list(item.notice.numbers)[:3],  # a digest's first few, each opened by its button
                    "at": as_utc(item.at).isoformat(),
                    "html": render_card(card) if (card := notice_card(item.notice)) else None,
                }
                for item in items
            ],
        }


def web_chat(request: Request) -> WebChat:
    """The assistant and live hub for this app, made on first use (the service exists only after start-up)."""
    runtime: Runtime = request.app.state.runtime
    if not runtime.settings.dev:
        raise HTTPException(403, texts.PRODUCTION_OFF)
    chat = getattr(request.app.state, "web_chat", None)
    if chat is not None:
        return chat
    with _init_lock:
        chat = getattr(request.app.state, "web_chat", None)
        if chat is None:
            ttl = timedelta(hours=runtime.settings.chat_draft_ttl_hours)
            assistant = Assistant(
                runtime.service,
                runtime.directory,
                surface="web",
                draft_ttl=ttl,
                calendars=runtime.scheduler.calendars,  # they know the configured working hours
                classifier=runtime.llm.categories.classifier if runtime.llm.categories else None,
                suggester=runtime.llm.suggester,  # LLM suggestions, when a model is configured
                summaries=runtime.llm.summaries,  # approvers' summaries
            )
            hub = LiveHub(lambda number: _audience(assistant, number))
            # the hub tells open browsers of every commit, of a summary written after submit, of a PO recorded, by
            # this process or (on PostgreSQL) any other replica or worker (bot/live.py)
            runtime.live.listen(hub.on_change, hub.on_erp, hub.on_gap)
            chat = request.app.state.web_chat = WebChat(assistant, hub, runtime)
    return chat


def _audience(assistant: Assistant, number: str) -> list[str]:
    """Everyone a change concerns: the requester, approvers (and who acts for them), anyone who decided."""
    view = assistant.service.view(number)
    people = {view.requester} | {s.acting for s in view.steps} | {s.approver for s in view.steps}
    people |= {d.actor for d in view.decisions}
    return sorted(p for p in people if p and p != "policy")


class Hello(BaseModel):
    person: str = Field(min_length=1, max_length=80)


class Message(Hello):
    text: str = Field(max_length=200_000)  # the assistant answers anything over its own limit in words


class Tap(Hello):
    action: str = Field(min_length=1, max_length=40)
    value: dict[str, str] = Field(default_factory=dict)
    text: str | None = Field(default=None, max_length=4000)


def _out(replies: list[Reply]) -> dict[str, Any]:
    return {
        "replies": [
            {
                "text": r.text,
                "html": render_card(r.card) if r.card else None,
                "number": r.card.number if r.card else None,
            }
            for r in replies
        ]
    }


def _credential(person: str) -> Credential:
    # the dev web chat has no sign-in: its credential says so, and the audit keeps it
    return Credential(kind="web", id=f"dev:{person}", name="web chat (dev mode, no sign-in)", person=person)


def _call(fn: Any, person: str, *args: Any) -> dict[str, Any]:
    credential = _credential(person)
    try:
        with acting(credential):
            return _out(fn(person, *args))
    except UnknownPerson as exc:
        raise HTTPException(404, exc.message) from exc


@router.get("", response_class=HTMLResponse)
def page(request: Request) -> HTMLResponse:
    if not request.app.state.runtime.settings.dev:
        off = TEMPLATES.get_template("off.html").render(title=page_texts.OFF_TITLE, message=texts.PRODUCTION_OFF)
        return HTMLResponse(off, status_code=403)
    page = TEMPLATES.get_template("chat.html").render(
        title=page_texts.TITLE,
        texts=page_texts,
        accept=ACCEPT,
        max_bytes=request.app.state.runtime.service.attachment_limits.max_bytes,
    )
    return HTMLResponse(page)


@router.get("/static/{name}")
def static(name: str) -> Response:
    kinds = {"chat.js": "text/javascript", "chat.css": "text/css"}
    if name not in kinds:
        raise HTTPException(404, "No such file.")
    return Response((STATIC / name).read_bytes(), media_type=kinds[name], headers={"Cache-Control": "no-cache"})


@router.get("/api/people")
def people(request: Request) -> list[dict[str, str]]:
    chat = web_chat(request)
    return [
        {"id": p.id, "name": p.name, "title": p.title, "site": p.site or ""} for p in chat.assistant.directory.people
    ]


@router.post("/api/hello")
def hello(body: Hello, request: Request) -> dict[str, Any]:
    """The greeting, and the person's unread list: what was kept for them while they were away (requests waiting
    for them, decisions on theirs, reminders, escalations, digests, PO notices), unread until opened."""
    chat = web_chat(request)
    greeting = _call(chat.assistant.greet, body.person)  # refuses an unknown person before the inbox is read
    chat.notices(body.person)  # listed as unread below: the open stream need not show them again
    return {"replies": greeting["replies"], "unread": chat.unread(body.person)}


class MarkRead(Hello):
    ids: list[int] | None = Field(default=None, max_length=500)  # None: every unread item


@router.get("/api/unread")
def unread(request: Request, person: str = Query(min_length=1, max_length=80)) -> dict[str, Any]:
    chat = web_chat(request)
    _known(chat, person)
    return chat.unread(person)


@router.post("/api/unread/read")
def mark_read(body: MarkRead, request: Request) -> dict[str, Any]:
    """Mark some of the person's unread items read (or all); only their own. The list as it is now comes back."""
    chat = web_chat(request)
    _known(chat, body.person)
    inbox.mark_read(chat.runtime.engine, person_id=body.person, ids=body.ids, now=chat.runtime.service.clock())
    chat.hub.publish(UNREAD_CHANGED, only=body.person)  # the person's other tabs redraw their count
    return chat.unread(body.person)


def _known(chat: WebChat, person: str) -> None:
    if chat.assistant.directory.person(person) is None:
        raise HTTPException(404, f"There is nobody called {person!r} in the company directory.")


@router.post("/api/messages")
def message(body: Message, request: Request) -> dict[str, Any]:
    return _call(web_chat(request).assistant.handle_message, body.person, body.text)


@router.post("/api/actions")
def tap(body: Tap, request: Request) -> dict[str, Any]:
    return _call(web_chat(request).assistant.handle_action, body.person, body.action, body.value, body.text)


@router.get("/api/cards/{number}")
def card(number: str, request: Request, person: str = Query(min_length=1, max_length=80)) -> dict[str, Any]:
    chat = web_chat(request)
    try:
        rendered = chat.assistant.card_for(number, person)
    except (NotFound, UnknownPerson) as exc:
        raise HTTPException(404, exc.message) from exc
    return {"html": render_card(rendered), "number": rendered.number}


@router.post("/api/requisitions/{number}/attachments")
def attach(
    number: Annotated[str, PathParam(max_length=20)],
    request: Request,
    person: Annotated[str, Form(min_length=1, max_length=80)],
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    """Attach a file to a requisition the person may see (the card's Attach, or files picked before Submit). A
    refused file is told with the limit; the requisition goes on without it."""
    chat = web_chat(request)
    _known(chat, person)
    service = chat.runtime.service
    data = file.file.read(service.attachment_limits.max_bytes + 1)
    cmd = attach_command(actor=person, surface="web", number=number, filename=file.filename or "", data=data)
    try:
        with acting(_credential(person)):
            result = service.attach(cmd, data)
    except ValidationFailed as exc:
        raise HTTPException(422, " ".join(e.message for e in exc.errors)) from exc
    except NotFound as exc:
        raise HTTPException(404, exc.message) from exc
    return {"replies": [{"text": result.message, "html": None, "number": result.number}]}


@router.post("/api/suppliers/documents")
def hold_document(
    request: Request,
    person: Annotated[str, Form(min_length=1, max_length=80)],
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    """A new supplier's tax document, picked on the "Ask procurement to add it" form: checked as an attachment is
    and kept until the form is sent (which names it by its key); a refused file is told with the limit."""
    chat = web_chat(request)
    _known(chat, person)
    service = chat.runtime.service
    data = file.file.read(service.attachment_limits.max_bytes + 1)
    try:
        held = service.hold(file.filename or "", data)
    except ValidationFailed as exc:
        raise HTTPException(422, " ".join(e.message for e in exc.errors)) from exc
    return {"key": held.key, "filename": held.filename}


@router.get("/api/requisitions/{number}/attachments/{attachment_id}")
def download(
    number: Annotated[str, PathParam(max_length=20)],
    attachment_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    request: Request,
    person: str = Query(min_length=1, max_length=80),
) -> Response:
    """One attached file, for a person who may see its requisition (else the not-found answer); always a download."""
    chat = web_chat(request)
    _known(chat, person)
    try:
        row, data = chat.runtime.service.attachment(number, attachment_id, person)
    except NotFound as exc:
        raise HTTPException(404, exc.message) from exc
    return download_response(row, data)


@router.get("/api/events")
async def events(request: Request, person: str = Query(min_length=1, max_length=80)) -> StreamingResponse:
    """Server-sent events: which requisitions changed, the person's notices (kept in the inbox, by any process),
    and expired-draft notices, as they happen."""
    chat = await run_in_threadpool(web_chat, request)  # on first use it waits for the live updates' LISTEN
    _known(chat, person)
    queue = chat.hub.subscribe(person)
    polls_per_keepalive = max(1, round(KEEPALIVE_SECONDS / INBOX_POLL_SECONDS))

    async def from_inbox() -> AsyncIterator[str]:
        for notice in await run_in_threadpool(chat.notices, person):
            yield _sse({"type": "notice", **notice})

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        quiet = 0
        try:
            yield "retry: 2000\n: connected\n\n"
            # what was kept while the person was away is in their unread list (hello, and the page asks again when
            # it reconnects): it is marked shown, not pushed into the conversation as well
            await run_in_threadpool(chat.notices, person)
            look_at = loop.time() + INBOX_POLL_SECONDS
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=max(0.0, look_at - loop.time()))
                except asyncio.TimeoutError:
                    event = None
                # this process's notices are told at once; another replica's or a worker's are found by looking,
                # busy stream or not
                if event is None or event is LOOK_IN_INBOX or loop.time() >= look_at:
                    async for line in from_inbox():
                        yield line
                    look_at = loop.time() + INBOX_POLL_SECONDS
                if event is LOOK_IN_INBOX:
                    continue
                if event is RECONNECT:
                    yield _sse(event)
                    return  # the server is stopping: the browser connects again
                if event is not None:
                    yield _sse(event)
                    continue
                quiet += 1
                if quiet < polls_per_keepalive:
                    continue
                quiet = 0
                # the quiet moments are when abandoned drafts get their notice
                for who, reply in await run_in_threadpool(chat.assistant.expire_drafts):
                    chat.hub.publish({"type": "notice", "text": reply.text}, only=who)
                yield ": keepalive\n\n"
        finally:
            chat.hub.unsubscribe(queue)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


def _sse(event: dict[str, Any]) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
