"""What the `fupin plan` commands do, one function each: read and check, solve, write the run, say so.

The commands (commands/plan.py, commands/plan_kindergartens.py) parse their options, call one of
these functions and print its messages. The report writers live in reports/, which planning/
does not import: the commands pass them in (None: no report.pdf).

pandas is imported only by the teacher and graduate models, when they are used: `fupin plan
--help` does without it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from common.errors import FupinError

from .inputs import FILES, Scenario

if TYPE_CHECKING:  # the models load PuLP: imported where a run needs them, not by `fupin plan compare`
    from .kindergartens import CountyPlan, KindergartenCounty, ProvincePlan
from .runs import (
    KindergartenReportWriter,
    ReportWriter,
    write_kindergarten_run,
    write_run,
)
from .status import SolveStatus, gap_words

SAMPLES = Path(__file__).resolve().parents[1] / "data"
PLANNING_SAMPLE = SAMPLES / "planning"
KINDERGARTEN_SAMPLE = SAMPLES / "kindergartens"
# The input files of each kind of run (names as in planning.inputs.FILES).
INPUTS = {"teachers": ("counties", "teacher_needs"), "graduates": ("counties", "graduate_needs", "applicants")}
KINDERGARTEN_INPUTS = ("townships.csv", "villages.csv", "counties.csv")  # counties.csv is optional

# Given the number of counties, a context whose value is called once per county solved.
Progress = Callable[[int], AbstractContextManager[Callable[["CountyPlan"], None]]]


@dataclass
class RunOutcome:
    """What a run did: its folder, its summary (as in summary.json), and what to tell the user."""

    out: Path
    summary: dict
    messages: list[tuple[str, bool]] = field(default_factory=list)  # (line, to stderr)


# ---------------------------------------------------------------------------------------------
# Is this the synthetic sample?


def is_sample(data: str | Path, files: Iterable[str], sample: Path) -> bool:
    """True when every one of `files` is in `data` byte for byte as in `sample` (or absent from both)."""
    files = list(files)
    try:
        return bool(files) and all(_contents(Path(data) / f) == _contents(sample / f) for f in files)
    except OSError:
        return False


def _contents(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def is_planning_sample(data: str | Path, kind: str) -> bool:
    """The inputs of a `kind` run are the synthetic sample of data/planning, wherever they lie."""
    return is_sample(data, [FILES[name] for name in INPUTS.get(kind, ())], PLANNING_SAMPLE)


def is_kindergarten_sample(data: str | Path) -> bool:
    """The kindergarten inputs are the synthetic sample of data/kindergartens, wherever they lie."""
    return is_sample(data, KINDERGARTEN_INPUTS, KINDERGARTEN_SAMPLE)


# ---------------------------------------------------------------------------------------------
# Special-post teachers and targeted students


def plan_teachers(data: str | Path, scenario_file: str | Path | None, solver: str, time_limit: float,
                  lang: str, out: str | Path, writer: ReportWriter | None = None) -> RunOutcome:
    """`fupin plan teachers`: special-post posts per county and stage, written into `out`."""
    from .teachers import SpecialPostModel

    model = SpecialPostModel.from_files(data, Scenario.from_yaml(scenario_file))
    return write_allocation_run(model.solve(solver, time_limit), data, lang, out, writer)


def plan_graduates(data: str | Path, scenario_file: str | Path | None, solver: str, time_limit: float,
                   lang: str, out: str | Path, writer: ReportWriter | None = None) -> RunOutcome:
    """`fupin plan graduates`: targeted students' intake per county, programme and year, written into `out`."""
    from .graduates import TargetedStudentModel

    model = TargetedStudentModel.from_files(data, Scenario.from_yaml(scenario_file))
    return write_allocation_run(model.solve(solver, time_limit), data, lang, out, writer)


def write_allocation_run(plan, data: str | Path, lang: str, out: str | Path,
                         writer: ReportWriter | None = None) -> RunOutcome:
    """Write a solved teacher or graduate plan into `out` (nothing without an allocation).

    The report writer gets the plan's view model plus what only the run knows: the language, whether
    the inputs are the synthetic sample, and the gap.
    """
    report = None
    if writer is not None:
        def report(view: dict, path: Path) -> None:
            writer({**view, "lang": lang, "synthetic": is_planning_sample(data, plan.kind),
                    "gap": plan.summary()["gap"]}, path)
    write_run(plan, out, report)
    summary = plan.summary()
    written = ["allocation.csv", "summary.json"] + (["report.pdf"] if report else [])
    return RunOutcome(Path(out), summary, allocation_messages(summary, out, written))


def allocation_messages(summary: dict, out: str | Path, written: list[str]) -> list[tuple[str, bool]]:
    """Status, objective, solver, a warning when not proven optimal, and the files written."""
    messages = [(f"status: {summary['status']} ({summary['status_text']})", False),
                (f"objective ({summary['objective_name']}): {summary['objective']}", False),
                (f"solver: {summary['solver']}, {summary['seconds']} s", False)]
    if summary["status"] != SolveStatus.OPTIMAL:
        messages.append(("warning: this allocation is not proven optimal; allow a longer --time-limit", True))
    messages.append(("written: " + ", ".join(f"{out}/{name}" for name in written), False))
    return messages


# ---------------------------------------------------------------------------------------------
# Kindergartens


def plan_kindergartens(data: str | Path, scenario_file: str | Path | None, county_codes: Iterable[str],
                       jobs: int | None, solver: str, time_limit: float, method: str, lang: str, out: str | Path,
                       writer: KindergartenReportWriter | None = None, report: bool = True,
                       progress: Progress | None = None, scheduler: str | None = None) -> RunOutcome:
    """`fupin plan kindergartens`: read the province, plan the chosen counties, write the run into `out`.

    Nothing is written when no county has a plan. `progress(number of counties)` gives the callback
    told of each county as it is solved (it may raise to stop the run: nothing is written then).
    `scheduler`: the address of a Dask scheduler whose workers solve the counties, instead of `jobs`
    processes on this machine; the two do not go together.
    """
    from .kindergartens import KindergartenScenario, plan_province, read_province

    if scheduler is not None and jobs is not None:
        raise FupinError("--jobs and --scheduler do not go together: with --scheduler the cluster's workers "
                         "solve the counties, as many at once as they have threads (`dask worker ... "
                         "--nworkers N --nthreads 1`); leave out --jobs")
    scenario = KindergartenScenario.from_yaml(scenario_file)
    counties = select_counties(read_province(data), county_codes)
    with progress(len(counties)) if progress else nullcontext(None) as tick:
        plan = plan_province(counties, scenario, solver, time_limit, jobs, progress=tick, method=method,
                             scheduler=scheduler)
    if not plan.solved:
        raise FupinError("no county has a feasible plan; nothing was written:\n  "
                         + "\n  ".join(f"{c.county} {c.name}: {c.describe()}" for c in plan.failed))
    written = write_kindergarten_run(plan, out, writer, lang, is_kindergarten_sample(data), report)
    return RunOutcome(Path(out), plan.summary(), kindergarten_messages(plan, out, written))


def select_counties(counties: list[KindergartenCounty], wanted: Iterable[str]) -> list[KindergartenCounty]:
    """The counties named in `wanted` by code or name (every county when it is empty), in their order."""
    wanted = list(wanted)
    if not wanted:
        return counties
    by_code = {c.code: c for c in counties}
    by_name = {c.name: c for c in counties}
    unknown = [c for c in wanted if c not in by_code and c not in by_name]
    if unknown:
        raise FupinError(f"--county {', '.join(unknown)}: not in townships.csv; counties there: "
                         + ", ".join(sorted(by_code)))
    codes = {(by_code.get(c) or by_name[c]).code for c in wanted}
    return [c for c in counties if c.code in codes]


def kindergarten_messages(plan: ProvincePlan, out: str | Path, report_written: bool) -> list[tuple[str, bool]]:
    """A line per county planned (with its gap when not proven optimal), a warning per county
    without a plan, the province's totals, and the files written."""
    messages = []
    for c in plan.solved:
        notes = "" if c.status == SolveStatus.OPTIMAL else f", not proven optimal ({gap_words(c.gap)})"
        notes += f" ({c.reason})" if c.reason else ""
        messages.append((f"{c.county} {c.name}: cost {c.cost:,} yuan, {c.children_km:,.1f} children-km, "
                         f"{c.seconds:.1f} s{notes}", False))
    messages += [(f"warning: {c.county} {c.name}: no plan: {c.describe()}", True) for c in plan.failed]
    total = plan.summary()["total"]
    messages.append((f"total: {total['counties_solved']}/{total['counties']} counties planned, cost "
                     f"{total['cost']:,} yuan, {total['children_km']:,.1f} children-km, "
                     f"{total['wall_seconds']:.1f} s", False))
    messages.append((f"written: {out}/sites.csv, {out}/assignments.csv, {out}/summary.json"
                     + (f", {out}/report.pdf" if report_written else ""), False))
    return messages
