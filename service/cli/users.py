"""`broadband user …`: the people who sign in to the workspace, kept from the server's shell."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from service.auth import accounts
from service.auth.sessions import LOCAL_TIME, is_locked
from service.cli.output import console, fail
from service.core.errors import DomainError
from service.core.settings import Settings
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.layers import Role

user_app = typer.Typer(
    help="Users of the workspace (/redaktion): name, password, role.", no_args_is_help=True
)

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin"),
]
ACTOR = "cli"  # the users table has no change log; this only names the transaction
Name = Annotated[str, typer.Argument(help="The user's name; becomes the actor in the change log")]


def _password(from_stdin: bool) -> str:
    """Typed twice without echo, or piped in (for scripts); never an argument (shell history)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@user_app.command("create")
def user_create(
    name: Name,
    role: Annotated[Role, typer.Option(help="editor: areas, hamlets, schools; admin: all")] = (
        Role.EDITOR
    ),
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user who can sign in at /redaktion/anmelden (password: at least 10 characters)."""
    try:
        accounts.check_name(name)
        password = _password(password_stdin)
        with transaction(make_sessionmaker(make_engine(Settings())), ACTOR) as session:
            accounts.create_user(session, name, role, password)
    except DomainError as error:
        raise fail(error) from error
    console.print(f"user {name} ({role}) created")


@user_app.command("passwd")
def user_passwd(name: Name, password_stdin: PasswordStdin = False) -> None:
    """Set a new password; the user's open sessions end and a lock-out is lifted."""
    try:
        password = _password(password_stdin)
        with transaction(make_sessionmaker(make_engine(Settings())), ACTOR) as session:
            accounts.change_password(session, name, password, _now())
    except DomainError as error:
        raise fail(error) from error
    console.print(f"password of {name} changed; their sessions have ended")


@user_app.command("disable")
def user_disable(name: Name) -> None:
    """Stop a user from signing in; their open sessions end at once."""
    try:
        with transaction(make_sessionmaker(make_engine(Settings())), ACTOR) as session:
            accounts.disable(session, name, _now())
    except DomainError as error:
        raise fail(error) from error
    console.print(f"user {name} disabled")


@user_app.command("enable")
def user_enable(name: Name) -> None:
    """Let a disabled or locked-out user sign in again."""
    try:
        with transaction(make_sessionmaker(make_engine(Settings())), ACTOR) as session:
            accounts.enable(session, name)
    except DomainError as error:
        raise fail(error) from error
    console.print(f"user {name} enabled")


def _when(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")


@user_app.command("list")
def user_list() -> None:
    """List users with role, whether disabled, lock-out and last sign-in (German local time)."""
    try:
        with make_sessionmaker(make_engine(Settings()))() as session:
            found = accounts.listing(session)
    except DomainError as error:
        raise fail(error) from error
    table = Table("name", "role", "disabled", "locked until", "last sign-in", box=box.SIMPLE_HEAD)
    now = _now()
    for user in found:
        locked = _when(user.locked_until) if is_locked(user.locked_until, now) else ""
        table.add_row(
            user.name, user.role.value, _when(user.disabled_at), locked, _when(user.last_sign_in_at)
        )
    # One line per user even in a narrow terminal or a pipe, so the list can be grepped.
    needed = Measurement.get(console, console.options.update_width(1000), table).maximum
    Console(width=max(console.width, needed)).print(table)
