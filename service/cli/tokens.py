"""API tokens for writes: create (the secret is shown once), revoke, list."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from service.auth import queries as token_store
from service.cli.output import console, errors, fail
from service.core.errors import DomainError
from service.core.settings import Settings
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.layers import Role

token_app = typer.Typer(
    help="API tokens for writes (the secret is shown once).", no_args_is_help=True
)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who holds it; becomes the actor in the change log")],
    role: Annotated[Role, typer.Option(help="editor: areas, hamlets, schools; admin: all")] = (
        Role.EDITOR
    ),
) -> None:
    """Create a token and print its secret once; only a hash is stored."""
    try:
        with transaction(make_sessionmaker(make_engine(Settings())), "cli") as session:
            secret = token_store.create(session, name, role)
    except DomainError as error:
        raise fail(error) from error
    errors.print(f"token [bold]{name}[/] ({role}) created; keep the secret, it is not shown again:")
    print(secret)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="The token's name")]) -> None:
    """Revoke a token; requests with it are refused from now on."""
    try:
        with transaction(make_sessionmaker(make_engine(Settings())), "cli") as session:
            token_store.revoke(session, name)
    except DomainError as error:
        raise fail(error) from error
    console.print(f"token {name} revoked")


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    try:
        with make_sessionmaker(make_engine(Settings()))() as session:
            found = token_store.listing(session)
    except DomainError as error:
        raise fail(error) from error
    table = Table("name", "role", "created", "revoked", box=box.SIMPLE_HEAD)
    for info in found:
        revoked = info.revoked_at.isoformat(timespec="seconds") if info.revoked_at else ""
        table.add_row(info.name, info.role, info.created_at.isoformat(timespec="seconds"), revoked)
    console.print(table)
