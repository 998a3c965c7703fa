"""`procurebot token create|list|revoke`: API tokens for clients (shown once, stored hashed)."""

from __future__ import annotations

import typer

from bot.cli.database import database_engine
from bot.tokens import ROLES, act_as_text, create_token, list_tokens, revoke_token

app = typer.Typer(help="API tokens.", no_args_is_help=True)


def _names(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@app.command("create")
def create(
    name: str = typer.Option(..., help="who or what uses it, e.g. erp-sync"),
    role: str = typer.Option("service", help="admin, auditor or service"),
    person: str | None = typer.Option(None, help="the person this token is (a directory id); it acts as them"),
    act_as: bool = typer.Option(
        False, "--act-as", help="may name other people as the actor (a portal acting for its users); audited"
    ),
    act_as_sites: str | None = typer.Option(
        None, help="with --act-as: only on requisitions at these sites, e.g. DAL,CHI"
    ),
    act_as_people: str | None = typer.Option(
        None, help="with --act-as: only as these people, e.g. jake.miller,maria.lopez"
    ),
) -> None:
    """Create a token and print it once; only its hash is stored."""
    if role not in ROLES:
        typer.echo(f"role must be one of: {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    if (act_as_sites or act_as_people) and not act_as:
        typer.echo("--act-as-sites and --act-as-people limit --act-as; add --act-as", err=True)
        raise typer.Exit(2)
    token = create_token(
        database_engine(),
        name=name,
        role=role,
        person=person,
        act_as=act_as,
        act_as_sites=_names(act_as_sites),
        act_as_people=_names(act_as_people),
    )
    typer.echo(token)


@app.command("list")
def list_() -> None:
    """Tokens with their role, person, act-as permission and state (never the token itself)."""
    for t in list_tokens(database_engine()):
        state = "revoked" if t.revoked_at else "active"
        who = f"person {t.person}" if t.person else "no person"
        typer.echo(
            f"{t.id}\t{t.name}\t{t.role}\t{who}\t{act_as_text(t)}\t{state}\tlast used {t.last_used_at or 'never'}"
        )


@app.command("revoke")
def revoke(token_id: int) -> None:
    """Revoke a token by its id (see `token list`)."""
    if not revoke_token(database_engine(), token_id):
        typer.echo(f"no active token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"token {token_id} revoked")
