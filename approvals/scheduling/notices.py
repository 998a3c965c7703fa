"""What the scheduler says to people, and the port it says it through.

The core does not know Slack, Teams or the web console: it hands a `Notice` to a `Notifier`,
which an edge implements (bot/notify.py) and which returns the platform's message reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Notice:
    """One message to one person. ``key`` is unique per message, so a surface can drop a duplicate."""

    kind: str  # reminder, escalated, delegation_started, delegation_ended, info_expired, draft_expired, digest
    text: str
    key: str
    number: str | None = None  # the requisition it is about, when there is one
    numbers: tuple[str, ...] = field(default=())  # several (a digest, a delegation)


class Notifier(Protocol):
    def send(self, person_id: str, notice: Notice) -> str:
        """Deliver the notice; return the platform's message reference. Raise on failure (it is retried)."""
        ...
