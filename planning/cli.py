"""`fupin plan`: allocation scenarios for special-post teachers and targeted students."""

from __future__ import annotations

from pathlib import Path

import click

from procure.errors import FupinError

from . import compare as compare_mod
from .graduates import TargetedStudentModel
from .inputs import Scenario
from .output import ReportWriter, write_run
from .solve import SOLVERS
from .teachers import SpecialPostModel


class PlanGroup(click.Group):
    """Domain and file errors become one message and exit status 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FupinError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"{exc.filename or ''}: {exc.strerror}".strip(": ")) from None


def report_writer() -> ReportWriter | None:
    """reports.planning.write_plan_report(view_model, path) once reports/ provides it."""
    try:
        from reports.planning import write_plan_report
    except ImportError:
        return None
    return write_plan_report


def _solve_options(f):
    f = click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
                     help="Folder for allocation.csv, summary.json, report.pdf (replaced as a whole).")(f)
    f = click.option("--time-limit", default=60.0, show_default=True, type=click.FloatRange(min=0.1),
                     help="Seconds the whole run (all solves) may take.")(f)
    f = click.option("--solver", type=click.Choice(SOLVERS), default="highs", show_default=True)(f)
    f = click.option("--scenario", "scenario", type=click.Path(dir_okay=False, path_type=Path),
                     help="YAML file overriding the defaults (see data/planning/scenario_*.yaml).")(f)
    f = click.option("--data", "data", required=True, type=click.Path(path_type=Path),
                     help="Folder holding the input CSV files.")(f)
    return f


def _finish(plan, out: Path) -> None:
    if not plan.has_solution:
        raise FupinError(f"no allocation: {plan.describe()}. Nothing was written.")
    write_run(plan, out, report_writer())
    s = plan.summary()
    click.echo(f"status: {s['status']} ({s['status_text']})")
    click.echo(f"objective ({s['objective_name']}): {s['objective']}")
    click.echo(f"solver: {s['solver']}, {s['seconds']} s")
    if s["status"] != "optimal":
        click.echo("warning: this allocation is not proven optimal; allow a longer --time-limit", err=True)
    click.echo(f"written: {out}/allocation.csv, {out}/summary.json")


@click.group("plan", cls=PlanGroup)
def plan():
    """Allocation scenarios: special-post teachers and targeted free-training students.

    \b
    Example:
        fupin plan teachers --data data/planning --out runs/teachers-base
    """


@plan.command("teachers")
@_solve_options
def teachers(data, scenario, solver, time_limit, out):
    """Special-post teacher posts (特岗教师) per county and school stage.

    Reads counties.csv and teacher_needs.csv from --data. Minimises the weighted
    unmet shortage, then the largest unmet share of any county.

    \b
    Example:
        fupin plan teachers --data data/planning \\
            --scenario data/planning/scenario_floor.yaml --out runs/teachers-floor
    """
    model = SpecialPostModel.from_files(data, Scenario.from_yaml(scenario))
    _finish(model.solve(solver, time_limit), out)


@plan.command("graduates")
@_solve_options
def graduates(data, scenario, solver, time_limit, out):
    """Targeted free-training student intake (定向免培生) per county, programme and year.

    Reads counties.csv, graduate_needs.csv and applicants.csv from --data.
    Minimises weighted unmet vacancies at graduation plus a penalty on surplus graduates.

    \b
    Example:
        fupin plan graduates --data data/planning --solver cbc --out runs/graduates-base
    """
    model = TargetedStudentModel.from_files(data, Scenario.from_yaml(scenario))
    _finish(model.solve(solver, time_limit), out)


@plan.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.option("--changed-only", is_flag=True, help="List only counties whose figures changed.")
def compare(run_a, run_b, fmt, changed_only):
    """What changed county by county between two runs of the same kind (B minus A).

    \b
    Example:
        fupin plan compare runs/teachers-base runs/teachers-floor --changed-only
    """
    view = compare_mod.compare_runs(run_a, run_b)
    click.echo(compare_mod.to_table(view, changed_only) if fmt == "table" else compare_mod.to_csv(view), nl=fmt == "table")
