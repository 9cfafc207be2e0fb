"""`fupin user`: accounts for the web application and its API."""

from __future__ import annotations

import sys

import click

from common.errors import FupinError
from common.terminal import format_table

from .app import App, pass_app
from .messages import MessageGroup

ROLES = ("manager", "finance", "planner", "admin")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise FupinError("--password-stdin: no password on standard input")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


@click.group("user", cls=MessageGroup)
def user():
    """Accounts of the web application: managers, finance offices, planners, admins.

    \b
    Example:
        fupin user add wang --role manager --canteen C01
    """


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user does.")
@click.option("--canteen", "canteens", multiple=True, metavar="CODE", help="A canteen that is theirs (repeat).")
@click.option("--institution", "institutions", multiple=True, metavar="CODE",
              help="An institution that is theirs: all its canteens (repeat). Finance without one: the province.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@pass_app
def add(app: App, name, role, canteens, institutions, password_stdin):
    """Add a user; without --password-stdin the password is asked for twice.

    \b
    Example:
        fupin user add wang --role manager --canteen C01
        fupin user add hnu-finance --role finance --institution HNU-S
        echo 'a long passphrase' | fupin user add admin --role admin --password-stdin
    """
    from accounts import services

    password = _password(password_stdin)
    with app.uow(write=True) as uow:
        services.add_user(uow, name, role, password, list(canteens), list(institutions), app.user)
    click.echo(f"user {name} added ({role})")


@user.command("list")
@pass_app
def list_(app: App):
    """List the users, their roles and scopes.

    \b
    Example:
        fupin user list
    """
    from accounts import services

    with app.uow() as uow:
        users = services.list_users(uow)
    if not users:
        click.echo("no users yet: fupin user add NAME --role ...")
        return
    click.echo(format_table(["name", "role", "scope", "state", "API token"],
                            [[u.name, u.role, u.scope, "disabled" if u.disabled else "active",
                              "yes" if u.has_token else ""] for u in users], right=set()))


@user.command("disable")
@click.argument("name")
@pass_app
def disable(app: App, name):
    """Disable a user: their sessions and API token stop working at once.

    \b
    Example:
        fupin user disable wang
    """
    from accounts import services

    with app.uow(write=True) as uow:
        services.disable_user(uow, name, app.user)
    click.echo(f"user {name} disabled")


@user.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (one line).")
@pass_app
def password(app: App, name, password_stdin):
    """Set a user's password; their signed-in browsers are signed out.

    \b
    Example:
        fupin user password wang
    """
    from accounts import services

    new = _password(password_stdin)
    with app.uow(write=True) as uow:
        services.set_password(uow, name, new, app.user)
    click.echo(f"password of {name} changed")


@user.command("token")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="Revoke the user's token instead.")
@pass_app
def token(app: App, name, revoke):
    """Print a new API token for a user (the last line of the output); only its hash is kept.

    \b
    Example:
        fupin user token wang
        fupin user token wang --revoke
    """
    from accounts import services

    with app.uow(write=True) as uow:
        if revoke:
            services.revoke_token(uow, name, app.user)
            click.echo(f"token of {name} revoked")
            return
        new = services.new_token(uow, name, app.user)
    click.echo(f"new API token of {name} (shown once; an earlier token no longer works):")
    click.echo(new)
