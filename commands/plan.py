"""`fupin plan`: allocation scenarios for special-post teachers and targeted students."""

from __future__ import annotations

from pathlib import Path

import click

from common.errors import FupinError
from commands.messages import MessageGroup
from reports.i18n import LANGS

from planning import compare as compare_mod
from planning.inputs import FILES, Scenario
from commands.plan_kindergartens import kindergartens
from planning.runs import ReportWriter, write_run
from planning.solve import SOLVERS


SAMPLE_DATA = Path(__file__).resolve().parents[1] / "data" / "planning"
INPUTS = {"teachers": ("counties", "teacher_needs"), "graduates": ("counties", "graduate_needs", "applicants")}


def report_writer() -> ReportWriter | None:
    """Writes report.pdf from the plan's view model (tests replace it)."""
    # Imported here, as the models below: WeasyPrint, matplotlib, pandas and PuLP are seconds of
    # start-up that `fupin plan --help` and `fupin plan compare` need not wait for.
    from reports.planning import write_plan_report

    return write_plan_report


def is_sample(data: Path, kind: str) -> bool:
    """True when the inputs are byte for byte the synthetic sample in data/planning, wherever they lie."""
    try:
        names = INPUTS.get(kind, ())
        return bool(names) and all((data / FILES[n]).read_bytes() == (SAMPLE_DATA / FILES[n]).read_bytes()
                                   for n in names)
    except OSError:
        return False


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


def _finish(plan, out: Path, lang: str, data: Path) -> None:
    if not plan.has_solution:
        raise FupinError(f"no allocation: {plan.describe()}. Nothing was written.")
    writer = report_writer()
    report = None
    if writer is not None:
        # The view model lacks what only the command knows: language, the sample's origin, the gap.
        extra = {"lang": lang, "synthetic": is_sample(data, plan.kind), "gap": plan.summary()["gap"]}

        def report(view: dict, path: Path) -> None:
            writer({**view, **extra}, path)
    write_run(plan, out, report)
    s = plan.summary()
    click.echo(f"status: {s['status']} ({s['status_text']})")
    click.echo(f"objective ({s['objective_name']}): {s['objective']}")
    click.echo(f"solver: {s['solver']}, {s['seconds']} s")
    if s["status"] != "optimal":
        click.echo("warning: this allocation is not proven optimal; allow a longer --time-limit", err=True)
    written = ["allocation.csv", "summary.json"] + (["report.pdf"] if report else [])
    click.echo("written: " + ", ".join(f"{out}/{name}" for name in written))


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
    from planning.teachers import SpecialPostModel

    model = SpecialPostModel.from_files(data, Scenario.from_yaml(scenario))
    _finish(model.solve(solver, time_limit), out, lang, data)


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
    from planning.graduates import TargetedStudentModel

    model = TargetedStudentModel.from_files(data, Scenario.from_yaml(scenario))
    _finish(model.solve(solver, time_limit), out, lang, data)


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
