"""What the web chat page itself says (the assistant's words are in bot/intake/texts.py)."""

from __future__ import annotations

TITLE = "procurebot — web chat"
OFF_TITLE = "procurebot"
DEV_NOTE = (
    "Local web chat (dev mode): pick anyone in the sample company. Slack and Teams show the same bot and the "
    "same cards."
)
EXAMPLE = "e.g. need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday"
