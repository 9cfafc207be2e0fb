"""The one place where errors become what a user reads: a message and exit status 1."""

from __future__ import annotations

import sys

import click

from common.errors import FupinError


class MessageGroup(click.Group):
    """A click group whose commands' domain, database and file errors become one clear message.

    Every `fupin` group uses it, so a group run on its own (as the tests do) behaves the same.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FupinError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"{exc.filename or ''}: {exc.strerror}".strip(": ")) from None
        except Exception as exc:
            # SQLAlchemy is imported only by the commands that use the database (not `plan compare`).
            sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
            if sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.SQLAlchemyError):
                reason = getattr(exc, "orig", None) or exc
                raise click.ClickException(f"database error: {reason}; nothing was written") from None
            raise
