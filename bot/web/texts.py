"""What the web chat page itself says (the assistant's words are in bot/intake/texts.py)."""

from __future__ import annotations

TITLE = "procurebot — web chat"
OFF_TITLE = "procurebot"
DEV_NOTE = (
    "Local web chat (dev mode): pick anyone in the sample company. Slack and Teams show the same bot and the "
    "same cards."
)
ATTACH = "Attach"
ATTACH_HINT = "Attach files (a quote, a spec, a photo) to the request you are asking for"
EXAMPLE = "e.g. need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday"

# the unread list: reminders, escalations, digests, notices and what Slack/Teams users learn from cards and threads
UNREAD_SHOWN = 50  # items listed (the count says how many there are)
UNREAD_TITLE = "Unread"
UNREAD_NONE = "Nothing unread."
UNREAD_OTHER = "Notice"
UNREAD_KINDS = {
    "approval": "Waiting for you",
    "decision": "Your request",
    "question": "Question for you",
    "answer": "Answer",
    "reminder": "Reminder",
    "escalated": "Escalation",
    "sla_risk": "Likely late",
    "digest": "Digest",
    "weekly_summary": "Weekly summary",
    "informed": "For your information",
    "delegation_started": "Delegation",
    "delegation_ended": "Delegation",
    "info_expired": "Question expired",
    "draft_expired": "Draft expired",
    "po_created": "Purchase order",
    "po_received": "Goods received",
    "erp_failed": "ERP problem",
    "po_files_missing": "File not in the ERP",
    "supplier_continued": "Ready to submit",
    "mention": "Mention",
    "comment": "Comment",
}
