"""`fupin plan kindergartens`: kindergarten sites county by county (plan item 2).

Added to the `plan` group with `plan.add_command(kindergartens)`; the group turns FupinError into a
message. The command catches them itself as well, so it is safe on any click group.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import click

from common.errors import FupinError
from planning.options import METHODS, SOLVERS
from planning.services import RunOutcome, plan_kindergartens

if TYPE_CHECKING:
    from planning.kindergartens import CountyPlan

def report_writer():
    """reports.kindergartens.write_kindergarten_report(province plan, path, lang, synthetic), if reports/ is usable."""
    try:
        from reports.kindergartens import write_kindergarten_report
    except ImportError:
        return None
    return write_kindergarten_report


def echo_messages(outcome: RunOutcome) -> None:
    """A run's messages, each to stdout or stderr as the run says."""
    for line, to_stderr in outcome.messages:
        click.echo(line, err=to_stderr)


@contextmanager
def progress_bar(total: int) -> Iterator[Callable[["CountyPlan"], None]]:
    """A bar on stderr that moves one step per county solved."""
    with click.progressbar(length=total, label="counties", file=sys.stderr, show_pos=True) as bar:
        yield lambda _county: bar.update(1)


@click.command("kindergartens")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path),
              help="Folder holding townships.csv and villages.csv (and optionally counties.csv).")
@click.option("--scenario", "scenario", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML file overriding the defaults (see data/kindergartens/README.md).")
@click.option("--county", "county_codes", multiple=True, metavar="CODE",
              help="Plan only this county (repeat for several); default: every county.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Counties solved at once (processes); default: the number of cores. Not with --scheduler.")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Solve the counties on the Dask cluster whose scheduler is at ADDRESS (e.g. "
                   "tcp://10.0.0.5:8786) instead of this machine's processes; its workers need fupin "
                   "installed, the same version. Default: this machine.")
@click.option("--solver", type=click.Choice(SOLVERS), default="highs", show_default=True)
@click.option("--time-limit", default=30.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds each county's solves may take; a county stopped there reports its gap.")
@click.option("--method", type=click.Choice(METHODS), default="columns", show_default=True,
              help="columns: column generation, exact and fast on counties of a few hundred villages "
                   "(the compact model finishes what it cannot); compact: the compact model alone.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Report language.")
@click.option("--no-report", is_flag=True, help="Skip report.pdf (faster).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for sites.csv, assignments.csv, summary.json, report.pdf (replaced as a whole).")
def kindergartens(data, scenario, county_codes, jobs, scheduler, solver, time_limit, method, lang, no_report, out):
    """Kindergarten sites per county: new, expanded and attached kindergartens (plan item 2).

    Every village with enough young children is served by a kindergarten within reach, every
    township seat has a public central kindergarten and populous townships have two; the
    cheapest plan is chosen, then the one with the fewest children-km.

    \b
    Example:
        fupin plan kindergartens --data data/kindergartens --county WZS --county BT --out runs/kg
        fupin plan kindergartens --data data/kindergartens --scheduler tcp://10.0.0.5:8786 --out runs/kg-all
    """
    try:
        outcome = plan_kindergartens(data, scenario, county_codes, jobs, solver, time_limit, method, lang, out,
                                     writer=None if no_report else report_writer(), report=not no_report,
                                     progress=progress_bar, scheduler=scheduler)
    except FupinError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or ''}: {exc.strerror}".strip(": ")) from None
    echo_messages(outcome)
