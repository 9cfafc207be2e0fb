"""`fupin db`: the database schema."""

from __future__ import annotations

import click

from db import upgrade

from .app import App, pass_app
from .messages import MessageGroup


@click.group("db", cls=MessageGroup)
def dbcmd():
    """The database schema.

    \b
    Example:
        fupin --db postgresql://postgres@127.0.0.1/fupin db upgrade
    """



@dbcmd.command("upgrade")
@pass_app
def db_upgrade(app: App):
    """Migrate the database to this fupin's schema (a new database is created).

    \b
    Example:
        fupin db upgrade
    """
    before, after = upgrade(app.engine(check_schema=False))
    click.echo(f"schema already at {after}" if before == after else f"schema upgraded from {before or 'empty'} to {after}")
