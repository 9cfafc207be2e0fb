"""Writing a run folder all at once or not at all.

An allocation run (teachers, graduates): allocation.csv, summary.json, report.pdf.
A kindergarten run: sites.csv, assignments.csv, summary.json, report.pdf.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from common.errors import FupinError
from common.files import run_folder
from common.tables import csv_text

RUN_FILES = ("allocation.csv", "summary.json", "report.pdf")
TEACHER_COLUMNS = ["county", "stage", "shortage", "allocated", "unmet"]
GRADUATE_COLUMNS = ["county", "programme", "intake_year", "intake", "graduation_year", "vacancies", "unmet", "surplus"]

KINDERGARTEN_RUN_FILES = ("sites.csv", "assignments.csv", "summary.json", "report.pdf")
SITE_COLUMNS = ["county", "township", "village", "action", "places_added", "capacity", "central", "cost"]
ASSIGNMENT_COLUMNS = ["county", "village", "site", "distance_km", "children"]

# (view model, path of report.pdf to write) -> None; reports/ supplies it.
ReportWriter = Callable[[dict, Path], None]
# (province plan, path of report.pdf, lang, synthetic) -> anything; reports/ supplies it.
KindergartenReportWriter = Callable[..., object]


def run_view_model(plan, summary: dict, kind: str, title: str) -> dict:
    """What a run's report needs: headline figures, one row per county, the allocation rows."""
    return {
        "kind": kind, "title": title, "scenario": summary["scenario"], "status": summary["status"],
        "status_text": summary["status_text"], "solver": plan.solver, "objective": summary["objective"],
        "objective_name": summary["objective_name"], "totals": summary["totals"],
        "marginal_method": summary["marginal_values"]["method"],
        "counties": [{"code": c, **v} for c, v in summary["counties"].items()],
        "rows": plan.allocation_rows(),
    }


def allocation_csv(plan) -> str:
    return csv_text(TEACHER_COLUMNS if plan.kind == "teachers" else GRADUATE_COLUMNS, plan.allocation_rows())


def summary_json(plan, report_note: str) -> str:
    return summary_text(plan.summary(), report_note)


def write_run(plan, out_dir: str | Path, report: ReportWriter | None = None) -> Path:
    """Write the run into `out_dir`, replacing an earlier run there; on any error nothing changes."""
    if not plan.has_solution:
        raise FupinError(f"no allocation: {plan.describe()}. Nothing was written.")
    with run_folder(out_dir, RUN_FILES, "planning run") as tmp:
        (tmp / "allocation.csv").write_text(allocation_csv(plan), encoding="utf-8")
        note = "report.pdf" if report else "not written: no report writer is installed"
        if report:
            report(plan.view_model(), tmp / "report.pdf")
        (tmp / "summary.json").write_text(summary_json(plan, note), encoding="utf-8")
    return Path(out_dir)


def summary_text(summary: dict, report_note: str) -> str:
    """summary.json's text: the summary and what became of report.pdf."""
    return json.dumps({**summary, "report": report_note}, ensure_ascii=False, indent=2) + "\n"


def write_kindergarten_run(plan, out_dir: str | Path, writer: KindergartenReportWriter | None = None,
                           lang: str = "zh", synthetic: bool = False, report: bool = True) -> bool:
    """sites.csv, assignments.csv, summary.json and report.pdf into `out_dir`, all at once or not at all.

    `plan` is a planning.kindergartens.ProvincePlan; report.pdf is written by `writer` unless
    `report` is off (or no writer is given). True when report.pdf was written.
    """
    with run_folder(out_dir, KINDERGARTEN_RUN_FILES, "kindergarten run") as tmp:
        solved = plan.solved
        (tmp / "sites.csv").write_text(csv_text(SITE_COLUMNS, [s for c in solved for s in c.sites]), encoding="utf-8")
        (tmp / "assignments.csv").write_text(
            csv_text(ASSIGNMENT_COLUMNS, [r for c in solved for r in c.assignments]), encoding="utf-8")
        note = "not written: report writing is off" if not report else "not written: no report writer is installed"
        written = bool(report and writer)
        if written:
            writer(plan, tmp / "report.pdf", lang, synthetic)
            note = "report.pdf"
        (tmp / "summary.json").write_text(summary_text(plan.summary(), note), encoding="utf-8")
    return written
