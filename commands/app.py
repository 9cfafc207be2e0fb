"""What every command needs: the database (opened on first use) and who is acting."""

from __future__ import annotations

import getpass
import os

import click

from db.url import database_url

def current_user(explicit: str | None = None) -> str:
    """--user beats FUPIN_USER beats the login name."""
    if explicit:
        return explicit
    if os.environ.get("FUPIN_USER"):
        return os.environ["FUPIN_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class App:
    """The database is opened, and SQLAlchemy imported, only by the commands that use it: `fupin plan`
    and `--help` do without."""

    def __init__(self, url: str | None, user: str | None):
        self.url = database_url(url)
        self.user = current_user(user)
        self._engine = None

    def engine(self, check_schema: bool = True):
        import db

        if self._engine is None:
            self._engine = db.make_engine(self.url)
            if check_schema:
                db.ensure_schema(self._engine)
        return self._engine

    def uow(self, write: bool = False):
        """A unit of work on the database; a service commits it."""
        import db

        return db.unit_of_work(self.engine(), write=write)


pass_app = click.make_pass_decorator(App)


def current_app() -> App:
    """The `fupin` context object, for a group that may also be run on its own (as the tests do)."""
    ctx = click.get_current_context()
    while ctx is not None:
        if isinstance(ctx.obj, App):
            return ctx.obj
        ctx = ctx.parent
    raise click.ClickException("this command needs the fupin database: run it as `fupin [--db URL] ...`")
