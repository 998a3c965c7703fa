"""Policy commands that use the database: `simulate` (what-if replay, writes nothing) and `activate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from approvals.clock import utcnow
from approvals.db import make_engine, transaction
from approvals.directory import Directory
from approvals.errors import PolicyInvalid
from approvals.master_data import ErpSupplierRecord
from approvals.models import Requisition
from approvals.policy.checker import check_policy
from approvals.policy.loader import load_policy
from approvals.policy.simulate import StoredRoute, replay_requests, simulate
from approvals.policy_store import install_policy
from bot.cli.database import database_engine
from bot.cli.policy import (
    DEFAULT_DIRECTORY,
    HELP_DELEGATIONS,
    HELP_DIRECTORY,
    HOW_FLAG,
    HOW_SAMPLE,
    MSG_DIRECTORY_USED,
    _directory,
    _policy,
    app,
    read_delegations,
)
from bot.settings import get_settings

MSG_NO_TABLES = (
    "the database {url} has no requisitions table yet: run `procurebot db upgrade` (or start the server once) "
    "and try again"
)
MSG_DB_UNREADABLE = "cannot read the database {url}: {problem}"


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as the settings gave it, minus nothing to hide
        return url


def database_problem(url: str, exc: Exception) -> str:
    """One line for a database that cannot be read: an unmigrated one says what to run."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return MSG_NO_TABLES.format(url=_shown(url))
    return MSG_DB_UNREADABLE.format(url=_shown(url), problem=text)


def _settings_directory(given: Optional[Path]) -> Directory:
    """--directory, else the configured directory (PROCUREBOT_DIRECTORY_FILE or .env), said on the first line."""
    if given is not None:
        used, how = given, HOW_FLAG
    else:
        try:
            used = get_settings().directory_file
        except Exception:  # settings that do not load: the policy commands' own default applies
            used = DEFAULT_DIRECTORY
        same = Path(used).resolve() == DEFAULT_DIRECTORY.resolve()
        how = HOW_SAMPLE if same else "from the settings (PROCUREBOT_DIRECTORY_FILE or .env)"
    typer.echo(MSG_DIRECTORY_USED.format(path=used, how=how), err=True)
    return _directory(used)


def load_history(url: str, limit: int) -> list[StoredRoute]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(Requisition)
                .where(Requisition.submitted_at != None)  # noqa: E711
                .order_by(Requisition.id.desc())
                .limit(limit)
            ).all()  # type: ignore[union-attr]
            return [StoredRoute(r.number or "", r.state, dict(r.facts), dict(r.route)) for r in rows if r.route]
    finally:
        engine.dispose()


@app.command("simulate")
def simulate_command(
    new_file: Path = typer.Argument(..., help="The candidate policy YAML"),
    limit: int = typer.Option(10_000, help="How many recent requisitions to replay"),
    show: int = typer.Option(20, help="How many changed routes to list"),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON"),
    directory_file: Optional[Path] = typer.Option(None, "--directory", "-d", help=HELP_DIRECTORY),
    delegations: Optional[Path] = typer.Option(None, "--delegations", help=HELP_DELEGATIONS),
    requests: Optional[Path] = typer.Option(
        None, "--requests", help="JSONL, one requisition per line: replay these instead of the database"
    ),
    before: Optional[Path] = typer.Option(
        None, "--before", help="With --requests: the policy to compare with (default: the configured policy file)"
    ),
) -> None:
    """What-if: route stored requisitions under NEW_FILE and report what would change. Nothing is written."""
    directory = _settings_directory(directory_file)
    windows = read_delegations(delegations)
    settings = get_settings()
    try:
        policy = load_policy(new_file)
    except PolicyInvalid as exc:
        for issue in exc.issues:
            typer.echo(issue.render(), err=True)
        raise typer.Exit(2)
    if requests is not None:
        old = _policy(before or settings.policy_file)
        try:
            text = requests.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            typer.echo(f"cannot read requests {requests}: {exc}", err=True)
            raise typer.Exit(2) from None
        history, problems = replay_requests(text.splitlines()[:limit], old, policy, directory, utcnow())
        for problem in problems:
            typer.echo(f"{requests}: {problem}", err=True)
    else:
        try:
            history = load_history(settings.connect_url, limit)
        except SQLAlchemyError as exc:
            typer.echo(database_problem(settings.connect_url, exc), err=True)
            raise typer.Exit(2) from None
    report = simulate(history, policy, directory, utcnow(), windows)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    typer.echo(
        f"Replayed {report.total} {'stored requisitions' if requests is None else f'requests from {requests}'} "
        f"(routed under {', '.join(report.old_versions) or '-'}) "
        f"under {report.new_version}."
    )
    typer.echo(f"Routes changed: {len(report.changed)} of {report.total}")
    typer.echo(
        f"Touchless rate: {report.rate(report.touchless_before):.1%} -> {report.rate(report.touchless_after):.1%}"
    )
    typer.echo(f"Stopped:        {report.stopped_before} -> {report.stopped_after}")
    for change in report.changed[:show]:
        typer.echo(f"  {change.number}: {change.before}\n  {' ' * len(change.number)}  now {change.after}")
    if len(report.changed) > show:
        typer.echo(f"  ... and {len(report.changed) - show} more (use --json for all)")
    typer.echo("Approver load (steps before -> after):")
    people = sorted(
        set(report.load_before) | set(report.load_after), key=lambda p: -(report.load_after[p] - report.load_before[p])
    )
    for person in people:
        b, a = report.load_before[person], report.load_after[person]
        if a != b:
            typer.echo(f"  {person:<20} {b:>5} -> {a:<5} ({a - b:+d})")
    typer.echo("Nothing was changed: requisitions in flight stay on the version they were routed with.")


@app.command("activate")
def activate_command(
    file: Path = typer.Argument(..., help="The policy YAML to make active"),
    actor: str = typer.Option("admin", help="Who is activating it (recorded in the audit trail)"),
    directory_file: Optional[Path] = typer.Option(None, "--directory", "-d", help=HELP_DIRECTORY),
) -> None:
    """Check FILE and make it the active policy for new requisitions; ones in flight keep their version."""
    directory = _settings_directory(directory_file)
    settings = get_settings()
    try:
        policy = load_policy(file)
    except PolicyInvalid as exc:
        for issue in exc.issues:
            typer.echo(issue.render(), err=True)
        raise typer.Exit(2)
    errors = [i for i in check_policy(policy, directory) if i.severity == "error"]
    if errors:
        for issue in errors:
            typer.echo(issue.render(), err=True)
        typer.echo("not activated: fix the errors above (see `procurebot policy check`)", err=True)
        raise typer.Exit(2)
    try:
        engine = database_engine()  # migrated, and the activation's audit event keyed
        try:
            with transaction(engine) as session:
                # the ERP's vendor master is in the database: a currency it bills in needs a rate too
                erp_suppliers = session.exec(select(ErpSupplierRecord)).all()
                known = {policy.currency, *policy.spec.rates}
                if any((r.currency or "").upper() not in known for r in erp_suppliers if r.currency):
                    errors = [i for i in check_policy(policy, directory, erp_suppliers) if i.severity == "error"]
                if not errors:
                    _, changed = install_policy(session, policy, at=utcnow(), actor=actor, surface="cli")
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError) as exc:
        typer.echo(database_problem(settings.connect_url, exc) + "; not activated", err=True)
        raise typer.Exit(2) from None
    if errors:
        for issue in errors:
            typer.echo(issue.render(), err=True)
        typer.echo("not activated: fix the errors above (see `procurebot policy check`)", err=True)
        raise typer.Exit(2)
    typer.echo(f"policy {policy.label} {'is now active' if changed else 'was already active'}")
