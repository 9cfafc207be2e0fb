"""`fupin plan kindergartens`: kindergarten sites county by county (plan item 2).

Added to the `plan` group with `plan.add_command(kindergartens)`; the group turns FupinError into a
message. The command catches them itself as well, so it is safe on any click group.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import click

from common.errors import FupinError

from planning.kindergartens import METHODS, KindergartenScenario, ProvincePlan, plan_province, read_province
from planning.runs import run_folder
from planning.solve import SOLVERS

RUN_FILES = ("sites.csv", "assignments.csv", "summary.json", "report.pdf")
SITE_COLUMNS = ["county", "township", "village", "action", "places_added", "capacity", "central", "cost"]
ASSIGNMENT_COLUMNS = ["county", "village", "site", "distance_km", "children"]


def _csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def report_writer():
    """reports.kindergartens.write_kindergarten_report(province plan, path, lang), if reports/ is usable."""
    try:
        from reports.kindergartens import write_kindergarten_report
    except ImportError:
        return None
    return write_kindergarten_report


def write_kindergarten_run(plan: ProvincePlan, out_dir: str | Path, lang: str = "zh", report: bool = True) -> Path:
    """sites.csv, assignments.csv, summary.json, report.pdf into `out_dir`, all at once or not at all."""
    with run_folder(out_dir, RUN_FILES, "kindergarten run") as tmp:
        solved = plan.solved
        (tmp / "sites.csv").write_text(_csv([s for c in solved for s in c.sites], SITE_COLUMNS), encoding="utf-8")
        (tmp / "assignments.csv").write_text(
            _csv([r for c in solved for r in c.assignments], ASSIGNMENT_COLUMNS), encoding="utf-8")
        writer = report_writer() if report else None
        note = "not written: report writing is off" if not report else "not written: no report writer is installed"
        if writer:
            writer(plan, tmp / "report.pdf", lang)
            note = "report.pdf"
        (tmp / "summary.json").write_text(
            json.dumps({**plan.summary(), "report": note}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return Path(out_dir)


@click.command("kindergartens")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path),
              help="Folder holding townships.csv and villages.csv (and optionally counties.csv).")
@click.option("--scenario", "scenario", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML file overriding the defaults (see data/kindergartens/README.md).")
@click.option("--county", "county_codes", multiple=True, metavar="CODE",
              help="Plan only this county (repeat for several); default: every county.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Counties solved at once (processes); default: the number of cores.")
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
def kindergartens(data, scenario, county_codes, jobs, solver, time_limit, method, lang, no_report, out):
    """Kindergarten sites per county: new, expanded and attached kindergartens (plan item 2).

    Every village with enough young children is served by a kindergarten within reach, every
    township seat has a public central kindergarten and populous townships have two; the
    cheapest plan is chosen, then the one with the fewest children-km.

    \b
    Example:
        fupin plan kindergartens --data data/kindergartens --county WZS --county BT --out runs/kg
    """
    try:
        _run(data, scenario, county_codes, jobs, solver, time_limit, method, lang, no_report, out)
    except FupinError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or ''}: {exc.strerror}".strip(": ")) from None


def _run(data, scenario, county_codes, jobs, solver, time_limit, method, lang, no_report, out):
    sc = KindergartenScenario.from_yaml(scenario)
    counties = read_province(data)
    if county_codes:
        known = {c.code: c for c in counties}
        by_name = {c.name: c for c in counties}
        unknown = [c for c in county_codes if c not in known and c not in by_name]
        if unknown:
            raise FupinError(f"--county {', '.join(unknown)}: not in townships.csv; counties there: "
                             + ", ".join(sorted(known)))
        wanted = {(known.get(c) or by_name[c]).code for c in county_codes}
        counties = [c for c in counties if c.code in wanted]
    with click.progressbar(length=len(counties), label="counties", file=sys.stderr,
                           show_pos=True) as bar:
        plan = plan_province(counties, sc, solver, time_limit, jobs, progress=lambda _: bar.update(1),
                             method=method)
    if not plan.solved:
        raise FupinError("no county has a feasible plan; nothing was written:\n  "
                         + "\n  ".join(f"{c.county} {c.name}: {c.describe()}" for c in plan.failed))
    write_kindergarten_run(plan, out, lang, report=not no_report)
    total = plan.summary()["total"]
    for c in plan.counties:
        if c.has_solution:
            gap = "" if c.status == "optimal" else f", not proven optimal (gap {c.gap:.2%})" if c.gap is not None else ""
            gap += f" ({c.reason})" if c.reason else ""
            click.echo(f"{c.county} {c.name}: cost {c.cost:,} yuan, {c.children_km:,.1f} children-km, "
                       f"{c.seconds:.1f} s{gap}")
    for c in plan.failed:
        click.echo(f"warning: {c.county} {c.name}: no plan: {c.describe()}", err=True)
    click.echo(f"total: {total['counties_solved']}/{total['counties']} counties planned, cost {total['cost']:,} yuan, "
               f"{total['children_km']:,.1f} children-km, {total['wall_seconds']:.1f} s")
    click.echo(f"written: {out}/sites.csv, {out}/assignments.csv, {out}/summary.json"
               + (f", {out}/report.pdf" if (Path(out) / "report.pdf").exists() else ""))
