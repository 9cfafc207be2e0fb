"""`fupin report`: parsing and messages only; the work is in reports.compliance and reports.issue."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

import db
from common.errors import FupinError
from commands.messages import MessageGroup
from db.models import Institution, utcnow
from procure.rules import DEFAULT_RULE, Basis

from reports.compliance import build, parse_period
from reports.i18n import LANGS
from reports.issue import FORMATS, issuing


def _app():
    """The `fupin` context object (anything with .engine() and .user), found without importing cli."""
    ctx = click.get_current_context()
    while ctx is not None:
        obj = ctx.obj
        if callable(getattr(obj, "engine", None)) and hasattr(obj, "user"):
            return obj
        ctx = ctx.parent
    raise click.ClickException("`report` needs the fupin database: run it as `fupin [--db URL] report ...`")


@click.group("report", cls=MessageGroup)
def report():
    """PDF and XLSX reports for finance offices, registered with a fingerprint of their ledger rows.

    \b
    Example:
        fupin report compliance --month 2025-03 --institution HNU-S -o HNU-S-2025-03.pdf
    """


@report.command("compliance")
@click.option("--month", help="One month, YYYY-MM.")
@click.option("--period", help="Several months, YYYY-MM..YYYY-MM (a quarter, a year).")
@click.option("--institution", help="One institution (code); without it, the province summary.")
@click.option("--every-institution", is_flag=True,
              help="One report per institution, written into the folder given by -o (fast: one pass).")
@click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="pdf or xlsx (default: from the -o file's extension, else pdf).")
@click.option("--basis", type=click.Choice([b.value for b in Basis]), help="Decide status on quantity or amount.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="PDFs rendered at once, in separate processes (default: one per CPU core).")
@click.option("-o", "--output", "out", required=True, type=click.Path(), help="The file to write (a folder with --every-institution).")
def compliance(month, period, institution, every_institution, lang, fmt, basis, jobs, out):
    """The quota-compliance report of a month (or a period) for a finance office.

    Every report is registered as issued (who, when, data fingerprint, file hash). A report
    built again after the month's ledger changed is marked as an amendment and lists the changes.

    \b
    Example:
        fupin report compliance --month 2025-03 --institution HNU-S -o HNU-S-2025-03.pdf
        fupin report compliance --month 2025-03 --institution HNU-S --lang en -o HNU-S-2025-03-en.pdf
        fupin report compliance --period 2025-01..2025-03 -o province-2025Q1.pdf
        fupin report compliance --month 2025-03 --format xlsx -o province-2025-03.xlsx
        fupin report compliance --month 2025-03 --every-institution -o out/2025-03/
        fupin report compliance --month 2025-03 --every-institution --jobs 1 -o out/2025-03/
    """
    months = parse_period(month, period)
    rule = DEFAULT_RULE.with_overrides(basis=basis)
    app = _app()
    target = Path(out)
    if every_institution and institution:
        raise FupinError("--every-institution and --institution exclude each other")
    if every_institution:
        if not target.is_dir():
            raise FupinError(f"-o {out}: with --every-institution, -o is an existing folder")
        fmt = fmt or "pdf"
    else:
        suffix = target.suffix.lower().lstrip(".")
        fmt = fmt or (suffix if suffix in FORMATS else "pdf")
        if suffix != fmt:
            raise FupinError(f"-o {out}: a {fmt} report needs a file name ending in .{fmt}")
    now = utcnow()
    with db.unit_of_work(app.engine(), write=True) as uow:
        if every_institution:
            codes = list(uow.session.scalars(select(Institution.code).order_by(Institution.code)))
            if not codes:
                raise FupinError("no institutions yet: fupin procure import-master --kind institutions FILE")
            label = months[0] if len(months) == 1 else f"{months[0]}_{months[-1]}"
            reports = [(build(uow.session, months, c, rule, lang, now), target / f"{c}-{label}-{lang}.{fmt}")
                       for c in codes]
        else:
            reports = [(build(uow.session, months, institution, rule, lang, now), target)]
        # Files are rendered to temporaries, registered and committed, then moved into place.
        with issuing(uow.session, reports, fmt, app.user, now, processes=jobs) as rows:
            uow.commit()
    for row, (view, path) in zip(rows, reports):
        note = (f", amends no. {view.previous_no} ({len(view.changes)} change(s))" if view.amendment
                else f", same figures as no. {view.previous_no}" if view.previous_no else "")
        click.echo(f"wrote {path}: report no. {row.id}, fingerprint {view.fingerprint[:16]}{note}")
