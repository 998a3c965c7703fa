"""What the Teams handlers see of an activity, and what they answer: plain data, no SDK types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Inbound:
    """One validated, authenticated activity, reduced to what procurebot uses."""

    type: str  # message | invoke | conversationUpdate | installationUpdate | ...
    id: str
    service_url: str
    conversation_id: str
    user_id: str  # the Teams user id ("29:...")
    bot_id: str
    tenant_id: str = ""
    conversation_type: str | None = None  # personal | groupChat | channel
    aad_object_id: str | None = None  # the Entra object id of the user
    user_name: str | None = None
    user_email: str | None = None  # when the activity carries it (from.email); else the roster is asked
    name: str | None = None  # an invoke's name ("adaptiveCard/action")
    text: str = ""
    value: Any = None
    action: str | None = None  # installationUpdate: add | remove
    members_added: tuple[str, ...] = ()
    # files sent in the personal chat (Teams' file.download.info attachments): name, download_url, file_type, id
    files: tuple[dict[str, str], ...] = ()

    def address(self) -> dict[str, str]:
        """The conversation reference procurebot keeps to message this person later."""
        return {
            "service_url": self.service_url,
            "conversation_id": self.conversation_id,
            "tenant_id": self.tenant_id,
            "bot_id": self.bot_id,
            "user_id": self.user_id,
            "aad_object_id": self.aad_object_id or "",
        }


@dataclass
class Outcome:
    """The HTTP answer to the activity, and messages to send into its conversation first."""

    status: int = 200
    body: Any = None
    replies: list[dict[str, Any]] = field(default_factory=list)  # message activities (Bot Framework JSON)
