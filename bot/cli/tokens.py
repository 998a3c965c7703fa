"""`procurebot token create|list|revoke`: API tokens for clients (shown once, stored hashed)."""

from __future__ import annotations

import typer

from bot.cli.database import database_engine
from bot.tokens import ROLES, create_token, list_tokens, revoke_token

app = typer.Typer(help="API tokens.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Option(..., help="who or what uses it, e.g. erp-sync"),
    role: str = typer.Option("service", help="admin, auditor or service"),
) -> None:
    """Create a token and print it once; only its hash is stored."""
    if role not in ROLES:
        typer.echo(f"role must be one of: {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    typer.echo(create_token(database_engine(), name=name, role=role))


@app.command("list")
def list_() -> None:
    """Tokens with their role and state (never the token itself)."""
    for t in list_tokens(database_engine()):
        state = "revoked" if t.revoked_at else "active"
        typer.echo(f"{t.id}\t{t.name}\t{t.role}\t{state}\tlast used {t.last_used_at or 'never'}")


@app.command("revoke")
def revoke(token_id: int) -> None:
    """Revoke a token by its id (see `token list`)."""
    if not revoke_token(database_engine(), token_id):
        typer.echo(f"no active token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"token {token_id} revoked")
