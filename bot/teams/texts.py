"""Everything the Teams app says in its own words (the conversation itself speaks bot/intake/texts)."""

from __future__ import annotations

UNKNOWN_USER = (
    "I can't find {who} in the company directory, so I can't act for you. Ask your procurement "
    "administrator to add you (with the e-mail address you use in Teams), then message me again."
)
UNAVAILABLE = "procurebot cannot check Bot Framework tokens right now (the signing keys are unreachable); retry later."
BAD_ACTIVITY = "This is not a Bot Framework activity procurebot can read: {problem}."
NOT_JSON = "The request body must be one Bot Framework activity as a JSON object."
UNAUTHORIZED = "The request has no valid Bot Framework token for this bot."
SERVICE_URL_REFUSED = "The activity's serviceUrl is not a Microsoft Teams connector this bot talks to."
TENANT_REFUSED = "This procurebot serves one Microsoft 365 organization, and this activity comes from another."
UNKNOWN_INVOKE = (
    "procurebot does not handle the {name!r} invoke; it answers Adaptive Card actions (adaptiveCard/action) only."
)
UNKNOWN_VERB = 'This card button ({verb!r}) is not one procurebot knows; type "help" to see what I can do.'
TAMPERED = (
    "This card's data does not match what procurebot sent, so nothing was done. Type "
    '"status {number}" for a fresh card.'
)
TAMPERED_NO_NUMBER = 'This card\'s data does not match what procurebot sent, so nothing was done. Type "help".'
NEED_TEXT = "Write this first, then press {button}."
NEED_FIELD = "Fill in {field} first."
NOT_PERSONAL = "I work in a personal chat: open procurebot from the Apps bar and message me there."
INTERNAL = "Something went wrong on our side and nothing was changed; try again in a minute."
REFRESH = "Refresh"
FOOTER_WHY = "Why you: {why}"
CHAIN = "Approval chain"
COMMENTS = "Comments"
FILES = "Files"
DOWNLOAD = "Download {name}"
DOWNLOAD_LINK = (
    "{name} ({size}). This link is yours alone and works for {minutes} minutes; press the file on the card again "
    "for a new one."
)
DOWNLOAD_SENT = "The download link for {name} is in the message below."
RETRIED = "Already handled."
SEE_ALL = "See the full requisition"
FILES_CUT = "… and {count} more files, cut to fit in Teams: press See the full requisition."
LINES_CUT = "… and {count} more lines, cut to fit in Teams: press See the full requisition."
FULL_SENT = "The full requisition {number} is in the messages below."

# files sent to the bot (bot/teams/files.py)
FILE_WHICH = (
    "Which request is {names} for? Send it again with the request's number in the message, like "
    "'quote for PR-1042'. The request goes on without it meanwhile."
)
FILE_UNREADABLE = "I couldn't read {name} from Teams, so it is not attached. Send it again."
