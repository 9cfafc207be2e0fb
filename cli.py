"""The `fupin` command: the root group; each group lives in commands/ and calls the services."""

from __future__ import annotations

import importlib
import sys

import click

from commands.app import App
from commands.messages import MessageGroup


class FupinGroup(MessageGroup):
    """Errors become messages (MessageGroup); `lazy` subcommands ("module:attribute", short help)
    are imported only when used: the planning and report stacks (PuLP, pandas, WeasyPrint,
    matplotlib) take seconds to import, which a canteen manager logging one purchase, or anyone
    asking for `--help`, should not wait for.
    """

    def __init__(self, *args, lazy: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx, name):
        if name in self.lazy and name not in self.commands:
            module, attribute = self.lazy[name][0].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        commands = []
        for name in self.list_commands(ctx):
            if name in self.lazy and name not in self.commands:
                commands.append((name, click.Command(name, help=self.lazy[name][1])))  # stands in; nothing imported
            elif (command := self.get_command(ctx, name)) is not None and not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)  # as click's own
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in commands])



@click.group(cls=FupinGroup, lazy={
    # Each command's first docstring line, for `fupin --help` (a test keeps them equal).
    "db": ("commands.db:dbcmd", "The database schema."),
    "procure": ("commands.procure:procure",
                "Canteen purchases and the monthly 20% poverty-alleviation quota (plan item 19)."),
    "plan": ("commands.plan:plan",
             "Allocation scenarios: special-post teachers, targeted free-training students, kindergarten sites."),
    "report": ("commands.report:report",
               "PDF and XLSX reports for finance offices, registered with a fingerprint of their ledger rows."),
    "user": ("commands.user:user", "Accounts of the web application: managers, finance offices, planners, admins."),
    "web": ("commands.web:web", "Serve the web application (and its JSON API) on this database."),
    "worker": ("commands.worker:worker", "Run queued planning jobs: teachers, graduates, kindergartens, one at a time."),
})
@click.option("--db", "url", metavar="URL", help="Database URL (default: FUPIN_DB, else sqlite:///fupin.db).")
@click.option("--user", help="Who is acting, for the audit trail (default: FUPIN_USER, else the login name).")
@click.version_option(package_name="fupin")
@click.pass_context
def cli(ctx, url, user):
    """fupin (扶贫): Hainan's education poverty-alleviation plan as software.

    \b
    Example:
        fupin --db sqlite:///fupin.db procure compliance --month 2025-03
    """
    ctx.obj = App(url, user)


def main() -> None:
    cli(prog_name="fupin")


if __name__ == "__main__":
    sys.exit(main())
