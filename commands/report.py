"""`fupin report`: parsing, one service call (reports.services), messages."""

from __future__ import annotations

import click

from procure.rules import DEFAULT_RULE, Basis
from reports import services
from reports.compliance import parse_period
from reports.i18n import LANGS
from reports.issue import FORMATS

from .app import current_app
from .messages import MessageGroup


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
    app = current_app()
    with app.uow(write=True) as uow:
        issued = services.issue_compliance_reports(uow, months, rule, lang, out, app.user, institution=institution,
                                                   every_institution=every_institution, fmt=fmt, jobs=jobs)
    for r in issued:
        note = (f", amends no. {r.previous_no} ({r.changes} change(s))" if r.amendment
                else f", same figures as no. {r.previous_no}" if r.previous_no else "")
        click.echo(f"wrote {r.path}: report no. {r.issue_no}, fingerprint {r.fingerprint[:16]}{note}")
