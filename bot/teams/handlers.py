"""Activities in, assistant calls and Teams answers out. No SDK types: the adapter hands an `Inbound`.

* message (personal chat): the assistant's conversation; replies as messages with Adaptive Cards;
* invoke adaptiveCard/action: a card button (Action.Execute) or Teams asking to refresh a card;
  the answer is the card as it is now, with what happened on top;
* conversationUpdate / installationUpdate: the app was added; remember the chat and say hello.

Every activity first resolves the Teams user to a directory person (Entra object id, else the
e-mail or UPN from the roster) and refreshes the stored conversation reference, so cards can be
sent to them later. A platform retry of an activity already handled changes nothing.
"""

from __future__ import annotations

import html
import logging
import re
import time
from datetime import timedelta
from typing import Callable

from approvals.commands import DECISIONS
from approvals.credentials import Credential, acting
from approvals.directory import Person
from approvals.errors import NotFound
from bot.cards.model import Card
from bot.chat.dedupe import first_time
from bot.chat.identity import Addresses, Identities
from bot.http_errors import error_body
from bot.intake.assistant import Assistant, Reply, UnknownPerson
from bot.runtime import Runtime
from bot.settings.teams import TeamsSettings
from bot.teams import cards, texts
from bot.teams.activity import Inbound, Outcome
from bot.teams.files import attach_sent, link_for

log = logging.getLogger("procurebot.teams")
SURFACE = "teams"
CARD_ACTION = "adaptiveCard/action"
_MENTION = re.compile(r"<at>.*?</at>", re.S)
_TAGS = re.compile(r"<[^>]{1,200}>")
_MEMORY_SECONDS = 300.0  # how long a process trusts its own memory of who a Teams user is


class TeamsBot:
    """The Teams side of procurebot, called by the adapter for every authenticated activity."""

    def __init__(self, runtime: Runtime, settings: TeamsSettings, *, assistant: Assistant | None = None) -> None:
        service = runtime.service
        self.engine = runtime.engine
        self.directory = runtime.directory
        if assistant is None:
            assistant = Assistant(
                service,
                self.directory,
                surface=SURFACE,
                draft_ttl=timedelta(hours=runtime.settings.chat_draft_ttl_hours),
                calendars=runtime.scheduler.calendars,
                classifier=runtime.llm.categories.classifier if runtime.llm.categories else None,
                suggester=runtime.llm.suggester,  # LLM category suggestions, when a model is configured
                summaries=runtime.llm.summaries,  # approvers' notes
            )
        self.assistant = assistant
        self.clock = service.clock
        self.identities = Identities(self.engine, self.directory, clock=self.clock)
        self.addresses = Addresses(self.engine, clock=self.clock)
        self.secret = settings.card_key()
        self.service, self.settings, self.runtime = service, settings, runtime
        self._people: dict[tuple[str, str], tuple[str | None, float]] = {}
        self._addresses: dict[str, dict[str, str]] = {}

    # ------------------------------------------------------------------ entry

    def __call__(self, inbound: Inbound, email: Callable[[], str | None]) -> Outcome:
        try:
            return self._handle(inbound, email)
        except Exception:  # noqa: BLE001 - one bad turn must not take the bot down; the person is told
            log.exception("Teams %s activity failed", inbound.type)
            if inbound.type == "invoke":
                return Outcome(200, cards.invoke_error(texts.INTERNAL, status=500))
            return Outcome(500, error_body("internal", texts.INTERNAL))

    def _handle(self, inbound: Inbound, email: Callable[[], str | None]) -> Outcome:
        if inbound.type == "invoke" and inbound.name != CARD_ACTION:
            return Outcome(501, error_body("unknown_invoke", texts.UNKNOWN_INVOKE.format(name=inbound.name)))
        if inbound.type not in ("message", "invoke", "conversationUpdate", "installationUpdate"):
            return Outcome(200)  # typing, reactions, message edits: nothing to do
        person = self._person(inbound, email)
        if person is None:
            return self._stranger(inbound)
        # every action this turn takes is recorded under the Teams tenant and user that sent it
        credential = Credential(
            kind="teams",
            id=f"{inbound.tenant_id or '-'}:{inbound.aad_object_id or inbound.user_id}",
            name=inbound.user_name or person.name,
            person=person.id,
        )
        with acting(credential):
            return self._turn(inbound, person)

    def _turn(self, inbound: Inbound, person: Person) -> Outcome:
        personal = inbound.conversation_type in (None, "personal")
        if personal:
            self._remember(person.id, inbound.address())
        if inbound.type == "invoke":
            return self._invoke(inbound, person)
        if not first_time(self.engine, SURFACE, f"{inbound.conversation_id}|{inbound.id}", clock=self.clock):
            return Outcome(200)  # a platform retry: handled the first time
        if inbound.type == "message":
            if not personal:
                return Outcome(200, replies=[_message(texts.NOT_PERSONAL)])
            if inbound.files:  # files sent in the chat: attached to the request the message names
                said = attach_sent(self.assistant, self.settings, person.id, _plain_text(inbound.text), inbound.files)
                return Outcome(200, replies=self._activities(person, said, to=inbound.user_id))
            return Outcome(
                200,
                replies=self._activities(
                    person, self.assistant.handle_message(person.id, _plain_text(inbound.text)), to=inbound.user_id
                ),
            )
        # Teams sends both a conversationUpdate (members added) and an installationUpdate when the app
        # is added to a personal chat: the address is remembered from either, the greeting comes once
        if personal and inbound.type == "installationUpdate" and inbound.action == "add":
            return Outcome(200, replies=self._activities(person, self.assistant.greet(person.id)))
        return Outcome(200)

    def _person(self, inbound: Inbound, email: Callable[[], str | None]) -> Person | None:
        """The directory person behind the Teams user; a few minutes in memory saves a query per activity."""
        key = (inbound.tenant_id, inbound.aad_object_id or inbound.user_id)
        known = self._people.get(key)
        now = time.monotonic()
        if known is not None and now - known[1] < _MEMORY_SECONDS:
            return self.directory.person(known[0]) if known[0] else None
        person = self.identities.person_for(SURFACE, key[1], tenant=key[0], email=email)
        if len(self._people) > 10_000:
            self._people.clear()
        self._people[key] = (person.id if person else None, now)
        return person

    def _remember(self, person_id: str, address: dict[str, str]) -> None:
        """Store the conversation reference when it differs from the one this process stored last."""
        if self._addresses.get(person_id) != address:
            self.addresses.remember(SURFACE, person_id, address)
            self._addresses[person_id] = address

    def _stranger(self, inbound: Inbound) -> Outcome:
        text = texts.UNKNOWN_USER.format(who=inbound.user_name or "you")
        if inbound.type == "invoke":
            return Outcome(200, cards.invoke_message(text))
        if inbound.type == "message" and first_time(
            self.engine, SURFACE, f"{inbound.conversation_id}|{inbound.id}", clock=self.clock
        ):
            return Outcome(200, replies=[_message(text)])
        return Outcome(200)

    # ------------------------------------------------------------------ card buttons

    def _invoke(self, inbound: Inbound, person: Person) -> Outcome:
        action = inbound.value.get("action") if isinstance(inbound.value, dict) else None
        verb = action.get("verb") if isinstance(action, dict) else None
        if not isinstance(verb, str) or not verb:
            return Outcome(200, cards.invoke_error(texts.BAD_ACTIVITY.format(problem="value.action.verb is missing")))
        try:
            value, typed, number = cards.read_action(self.secret, verb, action.get("data"))  # type: ignore[union-attr]
        except cards.Tampered as exc:
            log.warning("Teams card data with a bad signature from %s (verb %r)", person.id, verb[:40])
            message = texts.TAMPERED.format(number=exc.number) if exc.number else texts.TAMPERED_NO_NUMBER
            return Outcome(200, cards.invoke_error(message))
        if verb == cards.REFRESH_VERB:
            return Outcome(200, self._card_response(person, value.get("number", ""), None))
        if not first_time(self.engine, SURFACE, f"{inbound.conversation_id}|{inbound.id}", clock=self.clock):
            return Outcome(200, self._card_response(person, number or "", None))  # a retry: show where it is now
        if verb == cards.FULL_VERB:
            return self._full(person, value.get("number", ""))
        if verb == cards.FILE_VERB:  # a download link for this person alone; the card stays as it is
            said, link = link_for(self.runtime, person.id, {**value, "number": number or ""})
            return Outcome(200, cards.invoke_message(said), replies=link)
        if verb not in _VERBS:
            return Outcome(200, cards.invoke_error(texts.UNKNOWN_VERB.format(verb=verb[:40])))
        replies = self.assistant.handle_action(person.id, verb, value, typed)
        return self._answer(inbound, person, number, replies)

    def _answer(self, inbound: Inbound, person: Person, number: str | None, replies: list[Reply]) -> Outcome:
        """The card to show in place of the tapped one (what happened on top); other cards go as messages."""
        with_card = [r for r in replies if r.card is not None]
        main = next(
            (r for r in with_card if number and r.card and r.card.number == number), with_card[0] if with_card else None
        )
        words = [r.text for r in replies if r.text and (r.card is None or r is main)]
        if main is None or main.card is None:
            if number:  # nothing changed: the same card again, with what to do on top
                return Outcome(200, self._card_response(person, number, " ".join(words) or None))
            return Outcome(200, cards.invoke_message("\n\n".join(words) or texts.RETRIED))
        body = cards.invoke_card(self._render(person, main.card, banner=" ".join(words) or None))
        return Outcome(
            200, body, replies=self._activities(person, [r for r in with_card if r is not main], to=inbound.user_id)
        )

    def _full(self, person: Person, number: str) -> Outcome:
        """*See the full requisition* on a card cut to fit: the whole of it, as that person may see it, in messages
        that each fit in Teams; the card stays as it is. Looking changes nothing."""
        try:
            card = self.assistant.card_for(number, person.id)
        except (NotFound, UnknownPerson) as exc:
            return Outcome(200, cards.invoke_message(exc.message))
        replies = [_message(text) for text in cards.full_text(card, FULL_MESSAGE_CHARS)]
        return Outcome(200, cards.invoke_message(texts.FULL_SENT.format(number=number)), replies=replies)

    def _card_response(self, person: Person, number: str, banner: str | None) -> dict:  # type: ignore[type-arg]
        try:
            card = self.assistant.card_for(number, person.id)
        except (NotFound, UnknownPerson) as exc:
            return cards.invoke_message(exc.message)
        return cards.invoke_card(self._render(person, card, banner=banner))

    # ------------------------------------------------------------------ rendering

    def _activities(self, person: Person, replies: list[Reply], to: str = "") -> list[dict]:  # type: ignore[type-arg]
        out = []
        for reply in replies:
            if reply.card is None:
                if reply.text:
                    out.append(_message(reply.text))
                continue
            activity = {"type": "message", "attachments": [cards.attachment(self._render(person, reply.card))]}
            if reply.text:
                activity["text"] = reply.text
            chips = _suggested(reply.card, to, self._typed_answer_goes_to(person, reply.card))
            if chips:
                activity["suggestedActions"] = chips
            out.append(activity)
        return out

    def _typed_answer_goes_to(self, person: Person, card: Card) -> str | None:
        """The field a typed reply answers now (the conversation's first open question), for a question card:
        a chip types its value, so it is offered only under the question that value answers."""
        if card.kind != "question":
            return None
        question = self.assistant.store.load(person.id).question or {}
        return question.get("field")

    def _render(self, person: Person, card: Card, *, banner: str | None = None, tone: str = "info") -> dict:  # type: ignore[type-arg]
        return cards.render(
            card,
            secret=self.secret,
            refresh_user_ids=self.refresh_users(card, person.id),
            banner=banner,
            banner_tone=tone,
        )

    def refresh_users(self, card: Card, viewer: str) -> list[str]:
        return refresh_users(self.addresses, self.assistant, card, viewer)


def refresh_users(addresses: Addresses, assistant: Assistant, card: Card, viewer: str) -> list[str]:
    """The Teams user ids that should see a requisition card refresh itself: its approvers now, and the viewer."""
    if not card.number:
        return []
    try:
        view = assistant.service.view(card.number)
    except NotFound:
        return []
    people = [viewer, *view.waiting_on]
    ids = []
    for person_id in dict.fromkeys(people):
        address = addresses.get(SURFACE, person_id)
        if address and address.get("user_id"):
            ids.append(address["user_id"])
    return ids


FULL_MESSAGE_CHARS = 30_000  # one message of the full requisition: 60 KB in UTF-16, under Teams' limit

_VERBS = {
    *DECISIONS,
    *("submit", "edit", "cancel", "confirm_amount", "change_category", "choose"),  # the draft's buttons
    *("status", "cancel_delegation", "erp.retry", "comment"),
    *("recurring.pause", "recurring.resume", "recurring.end"),  # a recurring requisition's releases
    *("supplier.request", "supplier.approve", "supplier.reject", "supplier.ask", "supplier.answer"),  # new suppliers
    "supplier.continue",
}


def _suggested(card: Card, to: str, asked: str | None) -> dict | None:  # type: ignore[type-arg]
    """Suggested actions under a question, for answers the conversation reads when typed (Teams shows three).

    Each chip sends the choice's value as the person's message (imBack), which the assistant reads as
    the answer to the question it asked; the card's buttons stay for the other choices.
    """
    if card.kind != "question" or not to:
        return None
    chips = [
        {"type": "imBack", "title": a.label[:40], "value": a.value["value"]}
        for a in card.actions
        if a.id == "choose"
        and a.value.get("field") in _TYPED_FIELDS
        and a.value.get("field") == asked
        and a.value.get("value")
    ]
    return {"to": [to], "actions": chips[:3]} if chips else None


# typed values the assistant understands as the answer to a question about these fields
_TYPED_FIELDS = {"supplier", "site", "price_kind", "site_or_cost_center", "cost_center", "item_choice"}


def _message(text: str) -> dict:  # type: ignore[type-arg]
    return {"type": "message", "text": text}


def _plain_text(text: str) -> str:
    """What the person typed: without the @mention of the bot and any formatting markup."""
    return html.unescape(_TAGS.sub("", _MENTION.sub("", text or ""))).strip()
