"""Everything the console says in sentences, in one place (labels and headings are in templates/). Refusals say
what to do instead."""

from __future__ import annotations

TITLE = "procurebot console"
SIGN_IN_HELP = (
    "Paste an admin or auditor API token. Create one with "
    "`procurebot token create --name you --role auditor`; in dev mode the admin token is in "
    "var/dev-admin-token."
)
BAD_TOKEN = "That token is not valid or has been revoked. Check it, or create a new one with `procurebot token create`."
TOO_MANY_TRIES = "Too many failed sign-ins from this address. Try again in {seconds} seconds."
WRONG_ROLE = (
    "A {role} token cannot sign in to the console; it needs an admin or auditor token "
    "(`procurebot token create --role auditor`)."
)
NO_SECRET = (
    "The console is off: set PROCUREBOT_SESSION_SECRET (32 or more random characters, the same on every "
    "server) so sessions can be signed."
)
SIGNED_OUT = "You are signed out."
SESSION_ENDED = "Your session has ended. Sign in again."
ADMIN_ONLY = (
    "Only an admin can do this. You are signed in as {name} ({role}); ask an admin, or sign in with an admin token."
)
MANAGER_ONLY_TEAM = (
    "{name}, as a manager you see your own team in the console: who is out, what waits on them, their delegations. "
    "This page is for administrators and auditors; open My team instead."
)
NOT_YOUR_TEAM = "{person} does not report to you: a manager acts only for their own team. Ask an administrator."
NO_TEAM_TOKEN = (
    "This session is an API token, not a person, so it has no team. Use Delegations and the requisition pages, "
    "or sign in with single sign-on."
)
BAD_CSRF = "This form is out of date (or came from another site). Reload the page and try again."
NOT_FOUND = "There is no requisition {number}. Check the number (it looks like PR-1042) or search for it."
NO_POLICY = "No policy is active yet. Upload one below, or run `procurebot policy activate FILE`."
UPLOAD_EMPTY = "Choose a policy file (YAML) to upload."
UPLOAD_TOO_LARGE = (
    "The file is larger than {limit:,} bytes; a policy file is much smaller. Check you chose the right file."
)
UPLOAD_NOT_TEXT = "The file is not UTF-8 text. Save it as UTF-8 and upload it again."
UPLOAD_ERRORS = "This policy cannot be activated: fix the errors below and upload it again. Nothing has changed."
UPLOAD_OK = (
    "This policy passes its checks. Below is what would change if it had routed the stored requisitions; "
    "nothing has changed yet. Activate it to route new requisitions with it."
)
ACTIVATED = "Policy {label} is now active for new requisitions; requisitions in flight keep their version."
ALREADY_ACTIVE = "Policy {label} was already the active version."
CHANGED_SINCE = "The uploaded text does not match what was checked. Upload the file again."
NO_MATCHES = "No requisition matches. Try a number like PR-1042, part of a title, or clear the filters."
EMPTY_WINDOW = "Nothing in this period yet."
NO_STEPS = "No approval steps."
NO_FINDINGS = "No findings: no gaps, shadowed rules or unknown names."
MORE_CHANGES = "… and {count:,} more."
CHAIN_INTACT = "The chain is intact: {events:,} events, every link checks."
CHAIN_BROKEN = "The chain is broken; each problem below names the event where it starts."
BAD_DATE = "Give the date as YYYY-MM-DD."
DELEGATED_SHARE = "{on_behalf:,} of {decided:,} decided steps were decided by a delegate."

# Single sign-on (bot/console/sso.py). Each refusal says what happened and what to do; none names a secret.
SIGN_IN_SSO = "Sign in with {provider}"
SIGN_IN_BREAK_GLASS = "For break-glass access when single sign-on is down:"
SSO_OFF = "Single sign-on is not set up on this server. Sign in with an API token."
SSO_FAILED_TITLE = "Sign-in refused"
SSO_CONTINUE = "You are signed in. Continue to the dashboard."
SSO_START_AGAIN = "Start again"
# by the refusal's reason (`oidc.Refused.reason`)
SSO_REFUSED = {
    "provider_error": "{provider} did not sign you in ({error}). Try again, or ask your IT team if it keeps happening.",
    "state_mismatch": (
        "This sign-in did not start here, or it took longer than ten minutes. Start again from the sign-in page."
    ),
    "code_rejected": "{provider} did not accept this sign-in (it was already used or has expired). Start again.",
    "provider_unavailable": (
        "{provider} could not be reached to finish signing you in. Try again in a minute, or sign in with an API token."
    ),
    "bad_signature": "The answer from {provider} is not signed by its keys, so it was not trusted. Start again.",
    "wrong_issuer": "The answer did not come from the sign-in service this console trusts. Start again.",
    "wrong_audience": "The answer from {provider} was meant for another application. Start again.",
    "expired": "The answer from {provider} has expired (or the clocks disagree). Start again.",
    "wrong_nonce": "The answer from {provider} belongs to another sign-in. Start again from the sign-in page.",
    "bad_claims": "The answer from {provider} lacks what the console needs to know who you are. Start again.",
    "tenant_not_allowed": (
        "Accounts of your organization cannot sign in to this console. Sign in with your work account, or ask an "
        "admin to add your tenant to OIDC_ALLOWED_TENANTS."
    ),
    "unknown_user": (
        "You are signed in to {provider} as {account}, but the company directory has no one with that account, so "
        "the console cannot let you in. Ask an admin to add you to the directory (your e-mail, or your Entra object "
        "id as teams_object_id)."
    ),
    "no_console_role": (
        "You are signed in as {name}, but the console is for admins and auditors and the directory makes you "
        "neither. Ask an admin to add one of your roles or groups to OIDC_ADMINS or OIDC_AUDITORS."
    ),
}
RISK_INTRO = (
    "Pending approval steps with a {threshold} or higher chance of missing their SLA, from each approver's own "
    "history, queue and absences. Their approvers were reminded early and their requesters told."
)
RISK_COMPUTED = "Estimated {at}; the scheduler estimates again every 30 minutes."
RISK_NONE = "No pending step is likely to miss its SLA."
TEAM_DELEGATED = "away: {delegate} approves for them until {until}"
TEAM_OUT_NOBODY = "automatic replies on until {until}: nobody approves for them yet"
TEAM_FURTHER_NOTICE = "further notice"
TEAM_MYSELF = "{name} (me)"
SUPPLIERS_INTRO = (
    "Requests to add a supplier, the newest first. An approved supplier is created in the ERP and added to the "
    "directory as new and not contracted; the requests waiting on it go on."
)
SUPPLIERS_BUYERS_DECIDE = "Buyers decide, signed in with single sign-on (name the buyers in OIDC_AUDITORS)."
SUPPLIERS_NONE = "Nobody has asked to add a supplier."
