"""What `procurebot serve` (and `worker`, `db upgrade`) says when it cannot start: one line on stderr, naming what
is wrong and what to do. Every such sentence is here, so they read alike; bot/cli/startup.py picks one."""

from __future__ import annotations

PREFIX = "procurebot: "
HELP_DEBUG = "On a start-up failure, show the traceback as well (so does PROCUREBOT_LOG_LEVEL=debug)."

PORT_IN_USE = (
    "port {port} on {host} is in use: another process is listening; set PROCUREBOT_PORT (or --port) to a "
    "free port, or stop that process"
)
PORT_FORBIDDEN = (
    "not allowed to listen on port {port} on {host} ({reason}); set PROCUREBOT_PORT (or --port) to a port above 1023"
)
ADDRESS_UNUSABLE = (
    "cannot listen on {host} port {port} ({reason}); set PROCUREBOT_HOST (or --host) to an address of "
    "this machine, e.g. 127.0.0.1 or 0.0.0.0"
)

SETTING_INVALID = "{name}{value} is not valid: {problem}; fix it, or unset it for the default"
SETTINGS_CONFLICT = "the settings do not fit together: {problem}"
SETTING_ALSO = " (and {count} more: {names})"

DATABASE_UNREACHABLE = (
    "cannot use the database at {url}: {reason}; check that it is running and that DATABASE_URL is right"
)
DATABASE_URL_INVALID = (
    "DATABASE_URL {url} is not a database procurebot can use ({reason}); give a sqlite:/// or postgresql:// URL"
)

POLICY_INVALID = (
    "the policy file cannot be used: {problem}; see `procurebot policy check {path}`, or set "
    "PROCUREBOT_POLICY_FILE to another file"
)
POLICY_ALSO = " (and {count} more)"
DIRECTORY_INVALID = (
    "the company directory {path} cannot be used: {problem}; fix it, or set PROCUREBOT_DIRECTORY_FILE to another file"
)
DIRECTORY_ALSO = " (and {count} more)"

FILE_UNUSABLE = "cannot use {path}: {reason}; check that it exists and that this user may read and write there"
STARTUP_FAILED = "could not start: {problem}; run again with --debug to see where it failed"

SERVING = "procurebot on http://{host}:{port}  (API docs at /docs; database {database})"
