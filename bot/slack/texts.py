"""Everything the Slack app says in its own words (the conversation's words live in bot/intake/texts.py)."""

from __future__ import annotations

UNKNOWN_PERSON = (
    "Hi! I can't find you in the company directory, so I can't raise or approve purchases "
    "for you yet. Ask your procurement team to add your work e-mail ({email}) to the directory."
)
UNKNOWN_PERSON_NO_EMAIL = (
    "Hi! I can't find you in the company directory, so I can't raise or approve purchases "
    "for you yet. Ask your procurement team to add you (with your work e-mail)."
)
FORM_FAILED = "Slack could not open the form just now; tap the button again."
CARD_CHANGED = "This card has changed; here it is as it is now."
SLOW = "Still working on that; I'll reply here as soon as it's done."
FAILED = (
    "Something went wrong on my side and nothing was changed. Try again in a minute; "
    "if it keeps happening, tell your procurement team."
)
REPLIED_IN_DM = "I've answered in our direct messages."
TRUNCATED = "Cut short to fit in Slack."
SEE_ALL = "See the full requisition"
SEE_ALL_HINT = "Tap *See the full requisition* below for everything."
FULL_CLOSE = "Close"
MORE_LINES = "{count} more line(s) not shown."
CARD_DONE = "Done: {what}"
UNKNOWN_ACTION = (
    "Sorry, I don't know that button (it may be from an older version of me). "
    "Type `help` in our messages to see what I can do."
)

# modals
MODAL_SUBMIT = "Send"
MODAL_CANCEL = "Cancel"
REQUEST_TITLE = "Purchase request"
REQUEST_SUBMIT = "Review"
FIELD_DESCRIPTION = "What do you need?"
FIELD_DESCRIPTION_HINT = "For example: stretch wrap, 18 inch, 80 gauge"
FIELD_QUANTITY = "Quantity"
FIELD_UNIT_PRICE = "Price per unit"
FIELD_SUPPLIER = "Supplier"
FIELD_SITE = "Site"
FIELD_NEED_BY = "Needed by"
SEARCH_PLACEHOLDER = "Type a few letters to search {count:,}"
FIELD_JUSTIFICATION = "Why (optional)"
ERR_REQUIRED = "Please fill this in."
ERR_QUANTITY = "Enter a whole or decimal number above zero, like 40 or 2.5."
ERR_PRICE = "Enter an amount above zero, like 32 or 32.50 (no currency sign needed)."
ERR_DATE_PAST = "Pick today or a later date."
ERR_TOO_LONG = "Keep this under {limit} characters."
ERR_DELEGATE_SELF = "Pick someone other than yourself."
ERR_DATE_ORDER = "The last day must be on or after the first day."
REASON_TITLES = {
    "reject": "Reject {number}",
    "request_info": "Ask about {number}",
    "answer_info": "Answer on {number}",
    "withdraw": "Withdraw {number}",
    "comment": "Comment on {number}",
    "supplier.reject": "Reject the supplier",
    "supplier.ask": "Ask the requester",
    "supplier.answer": "Answer procurement",
}
REASON_SUBMITS = {
    "reject": "Reject",
    "request_info": "Ask",
    "answer_info": "Send answer",
    "withdraw": "Withdraw",
    "comment": "Comment",
    "supplier.reject": "Reject",
    "supplier.ask": "Ask",
    "supplier.answer": "Send answer",
}
SUPPLIER_TITLE = "Add a supplier"
SUPPLIER_SUBMIT = "Ask procurement"
SUPPLIER_NAME = "Supplier name"
SUPPLIER_EMAIL = "Contact e-mail"
SUPPLIER_EMAIL_HINT = "Someone at the supplier a buyer can write to, like sales@acme.com"
SUPPLIER_WEBSITE = "Website"
SUPPLIER_TAX_ID = "Tax id"
SUPPLIER_TAX_DOCUMENT = "Tax document (a W-9, say)"
MESSAGE_SHORTCUT_PREFILL = "From a message by {author}:"

# App Home
HOME_TITLE = "Purchasing"
HOME_INTRO = (
    "Ask me for anything you need to buy in a direct message, or use `/purchase`. "
    "Approvals waiting for you show up here and in our messages."
)
HOME_NEW = "New purchase request"
HOME_PENDING = "Waiting for your approval"
HOME_PENDING_NONE = "Nothing is waiting for your approval."
HOME_MINE = "Your open requests"
HOME_MINE_NONE = "You have no open requests."
HOME_DELEGATION = "Out of office"
HOME_DELEGATION_NONE = "Nobody approves for you right now. Set someone below before you go away."
HOME_DELEGATION_ROW = "*{delegate}* approves for you from {start} until {end}."
HOME_DELEGATION_FOR = "You approve for *{delegator}* until {end}."
HOME_DELEGATE_WHO = "Who approves for you"
HOME_DELEGATE_FROM = "First day away"
HOME_DELEGATE_TO = "Last day away"
HOME_DELEGATE_SAVE = "Set delegation"
HOME_DELEGATE_END = "End delegation"
HOME_DELEGATE_MISSING = "Pick who approves for you and both dates, then tap Set delegation."
HOME_ACTIVITY = "Recent activity"
HOME_ACTIVITY_NONE = "Nothing yet."
HOME_MORE = "{count} more not shown; type `pending` in our messages to see them all."
HOME_UNKNOWN = UNKNOWN_PERSON_NO_EMAIL

COMMAND_HELP = (
    "*/purchase* what you need, e.g. "
    "`/purchase 40 rolls of stretch wrap for Dallas from Uline, $32 a roll`\n"
    "`/purchase status PR-1042` · `/purchase pending` · `/purchase mine` · "
    "`/purchase delegate to Priya from Dec 20 to Jan 3` · `/purchase help`"
)

OAUTH_DONE = "procurebot is installed. Open Slack and send it a direct message to raise your first request."
OAUTH_FAILED = "The installation did not complete ({reason}). Start again from the install page."
CHAIN = "Approval chain"
COMMENTS = "Comments"
FILES = "Files"
DOWNLOAD = "Download"
DOWNLOAD_WHICH = "Download a file"
DOWNLOAD_LINK = (
    "{name} ({size}): <{url}|download it>. The link is yours alone and works for {minutes} minutes; "
    "tap the file on the card again for a new one."
)

# files shared with the bot (bot/slack/files.py)
FILE_WHERE = (
    "To attach {names}, share it in the thread of the request's card (each request has one), so I know which "
    "request it is for. The request goes on without it meanwhile."
)
FILE_TOO_BIG = (
    "{name} is {size}, too big to attach: attachments may be {limit}. Send a smaller file (a PDF export, or a photo "
    "at a lower resolution); the request goes on without it."
)
FILE_UNREADABLE = (
    "I couldn't read {name} from Slack, so it is not attached. Share it again; if it keeps failing, ask your Slack "
    "admin to reinstall procurebot so it has the files:read permission."
)
