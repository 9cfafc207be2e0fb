"""`fupin plan`: allocation scenarios for special-post teachers and targeted students."""

from __future__ import annotations

from pathlib import Path

import click

from commands.messages import MessageGroup
from commands.plan_kindergartens import echo_messages, kindergartens
from common.languages import LANGS
from planning import compare as compare_mod
from planning import services
from planning.options import SOLVERS
from planning.runs import ReportWriter


def report_writer() -> ReportWriter | None:
    """Writes report.pdf from the plan's view model (tests replace it)."""
    # Imported here (as pandas is, in planning.services): WeasyPrint and matplotlib are seconds of
    # start-up that `fupin plan --help` and `fupin plan compare` need not wait for.
    from reports.planning import write_plan_report

    return write_plan_report


def _solve_options(f):
    f = click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
                     help="Folder for allocation.csv, summary.json, report.pdf (replaced as a whole).")(f)
    f = click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True,
                     help="Language of report.pdf.")(f)
    f = click.option("--time-limit", default=60.0, show_default=True, type=click.FloatRange(min=0.1),
                     help="Seconds the whole run (all solves) may take.")(f)
    f = click.option("--solver", type=click.Choice(SOLVERS), default="highs", show_default=True)(f)
    f = click.option("--scenario", "scenario", type=click.Path(dir_okay=False, path_type=Path),
                     help="YAML file overriding the defaults (see data/planning/scenario_*.yaml).")(f)
    f = click.option("--data", "data", required=True, type=click.Path(path_type=Path),
                     help="Folder holding the input CSV files.")(f)
    return f


@click.group("plan", cls=MessageGroup)
def plan():
    """Allocation scenarios: special-post teachers, targeted free-training students, kindergarten sites.

    \b
    Example:
        fupin plan teachers --data data/planning --out runs/teachers-base
    """


@plan.command("teachers")
@_solve_options
def teachers(data, scenario, solver, time_limit, lang, out):
    """Special-post teacher posts (特岗教师) per county and school stage.

    Reads counties.csv and teacher_needs.csv from --data. Minimises the weighted
    unmet shortage, then the largest unmet share of any county.

    \b
    Example:
        fupin plan teachers --data data/planning \\
            --scenario data/planning/scenario_floor.yaml --out runs/teachers-floor
    """
    echo_messages(services.plan_teachers(data, scenario, solver, time_limit, lang, out, report_writer()))


@plan.command("graduates")
@_solve_options
def graduates(data, scenario, solver, time_limit, lang, out):
    """Targeted free-training student intake (定向免培生) per county, programme and year.

    Reads counties.csv, graduate_needs.csv and applicants.csv from --data.
    Minimises weighted unmet vacancies at graduation plus a penalty on surplus graduates.

    \b
    Example:
        fupin plan graduates --data data/planning --solver cbc --out runs/graduates-base
    """
    echo_messages(services.plan_graduates(data, scenario, solver, time_limit, lang, out, report_writer()))


@plan.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.option("--changed-only", is_flag=True, help="List only counties whose figures changed.")
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the comparison (every county, and a chart) to this PDF file.")
@click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True, help="Language of the PDF.")
def compare(run_a, run_b, fmt, changed_only, pdf, lang):
    """What changed county by county between two runs of the same kind (B minus A).

    \b
    Example:
        fupin plan compare runs/teachers-base runs/teachers-floor --changed-only
        fupin plan compare runs/teachers-base runs/teachers-floor --pdf floor-vs-base.pdf
    """
    view = compare_mod.compare_runs(run_a, run_b)
    if pdf is not None:
        from reports.planning import write_compare_report

        write_compare_report(view, pdf, lang)
    click.echo(compare_mod.to_table(view, changed_only) if fmt == "table" else compare_mod.to_csv(view), nl=fmt == "table")
    if pdf is not None:
        click.echo(f"written: {pdf}", err=True)


plan.add_command(kindergartens)
