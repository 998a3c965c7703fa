"""What the core says to people, and the one port it says it through.

The scheduler (reminders, escalations, delegation windows, digests) and the ERP outbox (PO created,
goods received, ERP refused) hand a `Notice` to a `Notifier`. The core does not know Slack, Teams or the
web chat: the edges implement the port (bot/notify.py, bot/chat/delivery.py, bot/erp_dispatcher.py) and
return the platform's message reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Notice:
    """One message to one person. ``key`` is unique per message, so a surface can drop a duplicate."""

    # reminder, escalated, delegation_started, delegation_ended, info_expired, draft_expired, digest, sla_risk
    # (scheduler);
    # po_created, po_received, erp_failed (ERP outbox)
    kind: str
    text: str
    key: str
    number: str | None = None  # the requisition it is about, when there is one
    numbers: tuple[str, ...] = field(default=())  # several (a digest, a delegation)
    # buttons, e.g. {"id": "erp.retry", "label": "Retry", "value": "PR-1042"}
    actions: tuple[dict[str, str], ...] = field(default=())
    # the one surface it is for (a reply to what the person did there, e.g. their draft's "web"); None: every surface
    # that reaches them
    surface: str | None = None
    # a card an edge drew for it (bot/cards/model.Card as JSON): opaque here, the core never makes or reads one
    card: dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        """The notice as a job's JSON payload (`from_payload` reads it back)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "text": self.text,
            "key": self.key,
            "number": self.number,
            "actions": list(self.actions),
        }
        if self.numbers:
            out["numbers"] = list(self.numbers)
        if self.surface:
            out["surface"] = self.surface
        if self.card:
            out["card"] = self.card
        return out

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> Notice:
        """A notice from a job's payload; keys it does not know (the addressee, a request id) are ignored."""
        return cls(
            p["kind"],
            p["text"],
            p["key"],
            p.get("number"),
            tuple(p.get("numbers") or ()),
            tuple(p.get("actions") or ()),
            p.get("surface"),
            p.get("card"),
        )


class Notifier(Protocol):
    def send(self, person_id: str, notice: Notice) -> str:
        """Deliver the notice; return the platform's message reference. Raise on failure (it is retried)."""
        ...
