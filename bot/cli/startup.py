"""Starting a server process: its port taken before any start-up work, and a failed start told in one line.

`StartupGuard` wraps what a command does before it serves. Whatever fails there (a setting, the port, the
database, the policy or directory file, anything else) ends as one line on stderr from bot/cli/texts.py and exit
code 1; the traceback is shown only with --debug or PROCUREBOT_LOG_LEVEL=debug. A database URL is never shown with
its password.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import sys
import traceback
from types import TracebackType
from typing import Any

import typer
from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings

from bot.cli import texts
from bot.settings import Settings

EXIT_FAILED = 1


class PortUnavailable(Exception):
    """The server cannot listen where it was asked to."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {error}")
        self.host, self.port, self.error = host, port, error


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A socket listening on host:port, made before the start-up work: uvicorn would bind only after it, and a
    second server on the same port fails here at once. Same options as uvicorn's own socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise PortUnavailable(host, port, exc) from exc
    sock.set_inheritable(True)
    return sock


def read_settings() -> Settings:
    """The server's settings, every section (ERP, LLM, Slack, Teams) read with them, so a malformed one is told
    before any start-up work."""
    from bot.settings import get_settings

    return get_settings()


def masked_url(url: str) -> str:
    """The database URL as it may be shown: the password as ***."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not parseable: hide whatever sits between "user:" and "@"
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


class StartupGuard:
    """`with StartupGuard(debug) as guard:` around a command's start-up; set `guard.settings` once they are read
    and `guard.started = True` once the process serves (later failures are not start-up failures)."""

    def __init__(self, debug: bool = False) -> None:
        self.debug = debug
        self.settings: Any = None
        self.started = False

    def __enter__(self) -> "StartupGuard":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        if exc is None or self.started or not isinstance(exc, Exception) or isinstance(exc, typer.Exit):
            return False
        if self._debugging():
            traceback.print_exception(exc, file=sys.stderr)
        typer.echo(texts.PREFIX + self.explain(exc), err=True)
        raise typer.Exit(EXIT_FAILED) from None

    def _debugging(self) -> bool:
        level = getattr(self.settings, "log_level", None) or os.environ.get("PROCUREBOT_LOG_LEVEL", "")
        return self.debug or level.strip().lower() == "debug"

    def explain(self, exc: BaseException) -> str:
        """The one line for `exc`, with the database password hidden wherever it might appear."""
        line = " ".join(_explain(exc, self.settings).split())
        url = getattr(self.settings, "database_url", None) or os.environ.get("DATABASE_URL") or ""
        password = _password(url)
        # the masked URL already hides it; this catches a driver's message that repeats it (a very short one
        # would match ordinary words, and is left alone)
        return line.replace(password, "***") if password and len(password) >= 4 else line


def _explain(exc: BaseException, settings: Any) -> str:
    from sqlalchemy import exc as db

    from approvals.errors import DirectoryInvalid, PolicyInvalid

    if isinstance(exc, PortUnavailable):
        code = exc.error.errno
        fields = {"host": exc.host, "port": exc.port, "reason": _reason(exc.error)}
        if code == errno.EADDRINUSE:
            return texts.PORT_IN_USE.format(**fields)
        if code == errno.EACCES:
            return texts.PORT_FORBIDDEN.format(**fields)
        return texts.ADDRESS_UNUSABLE.format(**fields)
    if isinstance(exc, ValidationError) and (model := _settings_model(exc.title)) is not None:
        return _settings_line(exc, model)
    url = getattr(settings, "database_url", None) or os.environ.get("DATABASE_URL") or ""
    if isinstance(exc, (db.OperationalError, db.InterfaceError)):
        return texts.DATABASE_UNREACHABLE.format(url=masked_url(url), reason=_database_reason(exc))
    if isinstance(exc, db.ArgumentError):  # also NoSuchModuleError: an unknown dialect or driver
        return texts.DATABASE_URL_INVALID.format(url=masked_url(url), reason=_first_line(exc))
    if isinstance(exc, PolicyInvalid):
        first = exc.issues[0].render().splitlines()[0] if exc.issues else _first_line(exc)
        more = texts.POLICY_ALSO.format(count=len(exc.issues) - 1) if len(exc.issues) > 1 else ""
        return texts.POLICY_INVALID.format(problem=first + more, path=getattr(settings, "policy_file", "FILE"))
    directory = getattr(settings, "directory_file", None)
    if isinstance(exc, DirectoryInvalid):
        return texts.DIRECTORY_INVALID.format(path=directory, problem=_directory_problem(exc))
    if isinstance(exc, OSError) and exc.filename is not None:
        if directory is not None and str(exc.filename) == str(directory):
            return texts.DIRECTORY_INVALID.format(path=directory, problem=_reason(exc))
        return texts.FILE_UNUSABLE.format(path=exc.filename, reason=_reason(exc))
    return texts.STARTUP_FAILED.format(problem=f"{type(exc).__name__}: {_first_line(exc)}")


def _directory_problem(exc: Any) -> str:
    """The first thing wrong with the directory file, where it is, and how many more there are."""
    cause = exc.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        problems = cause.errors(include_url=False)
        first = f"{'.'.join(str(part) for part in problems[0]['loc']) or 'file'}: {problems[0]['msg']}"
    else:
        problems = list(exc.problems) or [_first_line(exc)]
        first = str(problems[0]).splitlines()[0]
    return first + (texts.DIRECTORY_ALSO.format(count=len(problems) - 1) if len(problems) > 1 else "")


def _settings_model(title: str) -> type[BaseSettings] | None:
    """The settings class a validation error came from (every group of settings is a BaseSettings)."""
    seen, todo = set(), list(BaseSettings.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if cls.__name__ == title:
            return cls
        todo.extend(cls.__subclasses__())
    return None


def _settings_line(exc: ValidationError, model: type[BaseSettings]) -> str:
    problems = exc.errors(include_url=False)
    if not problems:
        return texts.STARTUP_FAILED.format(problem=_first_line(exc))
    first = problems[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if not first["loc"]:  # a check across several settings: its message names them
        return texts.SETTINGS_CONFLICT.format(problem=message)
    field = str(first["loc"][0])
    name = env_name(model, field)
    value = first.get("input")
    shown = ""
    if isinstance(value, str) and "url" in field.lower():
        shown = f"={masked_url(value)!r}"
    elif isinstance(value, (str, int, float)) and not _secret(model, field):
        shown = f"={value!r}"
    line = texts.SETTING_INVALID.format(name=name, value=shown, problem=message)
    others = sorted({env_name(model, str(p["loc"][0])) if p["loc"] else "settings" for p in problems[1:]} - {name})
    if others:
        line += texts.SETTING_ALSO.format(count=len(others), names=", ".join(others))
    return line


def env_name(model: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from (its alias, or the class's prefix and its name)."""
    info = model.model_fields.get(field)
    if info is None:  # the error names the alias it was read by
        return field.upper()
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        first = next((c for c in alias.choices if isinstance(c, str)), None)
        if first:
            return first.upper()
    if isinstance(alias, str):
        return alias.upper()
    return (str(model.model_config.get("env_prefix") or "") + field).upper()


def _secret(model: type[BaseSettings], field: str) -> bool:
    info = model.model_fields.get(field)
    words = ("secret", "token", "password", "key")
    return any(w in field.lower() for w in words) or (info is not None and "Secret" in repr(info.annotation))


def _database_reason(exc: BaseException) -> str:
    """What the driver said, without the wrapping: e.g. 'Connection refused', 'password authentication failed ...'."""
    reason = _first_line(getattr(exc, "orig", None) or exc)
    reason = reason.rsplit("failed: ", 1)[-1] if "connection" in reason and "failed: " in reason else reason
    return re.sub(r"^(FATAL|ERROR):\s*", "", reason.strip()) or type(exc).__name__


def _reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _password(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).password or None  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 - not parseable: take what sits between "user:" and "@"
        found = re.search(r"://[^:/@]*:([^@]*)@", url)
        return found.group(1) if found and found.group(1) else None
