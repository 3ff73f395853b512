"""``picsha users`` and ``picsha accounts``: people and tenants, for the server's operator."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from engine import Engine
from engine.accounts.models import UserCreate
from engine.accounts.passwords import generated_password
from engine.auth.keys import Role
from engine.errors import PicshaError

users_app = typer.Typer(help="Manage the users who log in (owner account unless --account).", no_args_is_help=True)
accounts_app = typer.Typer(help="Manage accounts (tenants) for hosted use; accounts never see each other.",
                           no_args_is_help=True)
console = Console()
T = TypeVar("T")

ACCOUNT = typer.Option("--account", help="The account (acct_...); default: the owner account.")
PASSWORD_STDIN = typer.Option("--password-stdin", help="Read the password from standard input instead of generating one.")


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password given on stdin, or a generated one (which is then printed once)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return generated_password(), True


def _run(work: Callable[[Engine], Awaitable[T]]) -> T:
    from picsha_mcp.cli import run_with_engine  # the command module imports this one

    try:
        return run_with_engine(work)
    except PicshaError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from error


async def first_admin_password(engine: Engine) -> str | None:
    """On a new install, a password for the owner account's admin (printed once); None when one can log in."""
    users = engine.accounts.users
    if await users.admin_can_log_in(engine.owner_account_id):
        return None
    password = generated_password()
    await users.set_password(engine.owner_account_id, engine.accounts.owner_user_id, password)
    return password


async def create_user(engine: Engine, account_id: str, username: str, password: str, role: Role) -> str:
    """A new user; the new install's admin without a password is given this one instead of a second admin."""
    users = engine.accounts.users
    found = await users.find(username)
    if found is not None and not found[1] and found[0].account_id == account_id and found[0].role is role:
        await users.set_password(account_id, found[0].id, password)
        return found[0].id
    return (await users.create(account_id, UserCreate(username=username, password=password, role=role))).id


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option("--username", help="The login name.")] = "admin",
    admin: Annotated[bool, typer.Option("--admin", help="Make an admin (default: a user).")] = False,
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
    account: Annotated[str | None, ACCOUNT] = None,
) -> None:
    """Create a user and print their password once (unless read with --password-stdin)."""
    password, show = _password(password_stdin)
    role = Role.ADMIN if admin else Role.USER
    user_id = _run(lambda engine: create_user(engine, account or engine.owner_account_id, username, password, role))
    console.print(f"created {role.value} {username} ({user_id})")
    if show:
        console.print(f"password (shown once): {password}", soft_wrap=True)


@users_app.command("list")
def users_list(account: Annotated[str | None, ACCOUNT] = None) -> None:
    found = _run(lambda engine: engine.accounts.users.list(account or engine.owner_account_id))
    table = Table("id", "username", "role", "team")
    for user in found:
        table.add_row(user.id, user.username, user.role.value, user.team_id or "")
    console.print(table)


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument(help="The user's login name.")],
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
) -> None:
    """Give a user a new password (their sessions end); printed once unless read from stdin."""
    password, show = _password(password_stdin)

    async def work(engine: Engine) -> None:
        found = await engine.accounts.users.find(username)
        if found is None:
            raise PicshaError(f"No user {username!r}.", code="user_not_found", status=404)
        await engine.accounts.users.set_password(found[0].account_id, found[0].id, password)

    _run(work)
    console.print(f"password of {username} set" + (f" (shown once): {password}" if show else ""), soft_wrap=True)


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Option("--name", help="The account's name.")],
    admin_username: Annotated[str, typer.Option("--admin-username", help="Its first admin's login name.")],
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
) -> None:
    """A new account with its first admin (password printed once unless read from stdin)."""
    password, show = _password(password_stdin)

    async def work(engine: Engine) -> tuple[str, str]:
        if await engine.accounts.users.find(admin_username) is not None:  # before the account: none half made
            raise PicshaError(f"The username {admin_username!r} is taken.", code="username_taken", status=409)
        account_id = await engine.keys.create_account(name)
        return account_id, await create_user(engine, account_id, admin_username, password, Role.ADMIN)

    account_id, user_id = _run(work)
    console.print(f"created account {account_id} ({name}) with admin {admin_username} ({user_id})")
    if show:
        console.print(f"password (shown once): {password}", soft_wrap=True)


@accounts_app.command("list")
def accounts_list() -> None:
    found = _run(lambda engine: engine.keys.list_accounts())
    table = Table("id", "name", "owner", "created")
    for account in found:
        table.add_row(account.id, account.name, "yes" if account.is_owner else "",
                      account.created_at.isoformat(timespec="seconds"))
    console.print(table)
