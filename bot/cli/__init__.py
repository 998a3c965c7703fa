"""The `procurebot` command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from bot.cli import (  # noqa: F401  (policy_db adds simulate/activate to `policy`)
    audit as audit_commands,
    demo,
    directory,
    erp,
    intake,
    llm,
    policy as policy_commands,
    policy_db,
    scheduler,
    server,
    tokens,
)
from bot.teams import cli as teams_cli

app = typer.Typer(
    help="procurebot: chat-based purchase approvals with a governed policy core.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _fresh_settings() -> None:
    """Each command reads the environment it is started in (in one process, a test runs many commands)."""
    from bot.settings import get_settings

    get_settings.cache_clear()


app.command("serve")(server.serve)
app.command("worker")(server.worker)
app.add_typer(server.db_app, name="db")
app.add_typer(policy_commands.app, name="policy")
app.add_typer(audit_commands.app, name="audit")
app.add_typer(tokens.app, name="token")
app.add_typer(erp.app, name="erp")
app.add_typer(scheduler.app, name="scheduler")
app.add_typer(teams_cli.app, name="teams")
app.add_typer(llm.app, name="llm")
app.add_typer(intake.app, name="intake")
app.add_typer(directory.app, name="directory")
app.add_typer(demo.app, name="demo")


def main() -> None:
    app()
