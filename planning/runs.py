"""Writing a run folder (allocation.csv, summary.json, report.pdf) all at once or not at all."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from common.errors import FupinError

RUN_FILES = ("allocation.csv", "summary.json", "report.pdf")
TEACHER_COLUMNS = ["county", "stage", "shortage", "allocated", "unmet"]
GRADUATE_COLUMNS = ["county", "programme", "intake_year", "intake", "graduation_year", "vacancies", "unmet", "surplus"]

# (view model, path of report.pdf to write) -> None; reports/ supplies it.
ReportWriter = Callable[[dict, Path], None]


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
    columns = TEACHER_COLUMNS if plan.kind == "teachers" else GRADUATE_COLUMNS
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(plan.allocation_rows())
    return buf.getvalue()


def summary_json(plan, report_note: str) -> str:
    return json.dumps({**plan.summary(), "report": report_note}, ensure_ascii=False, indent=2) + "\n"


@contextmanager
def run_folder(out_dir: str | Path, files: tuple[str, ...], what: str) -> Iterator[Path]:
    """A temporary folder to write a run into; it replaces `out_dir` only if the block succeeds.

    `out_dir` may hold an earlier run (only `files`), never anything else.
    """
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise FupinError(f"{out}: exists and is not a folder; choose another --out")
        foreign = sorted(p.name for p in out.iterdir() if p.name not in files)
        if foreign:
            raise FupinError(f"{out}: holds files that are not from a {what} ({', '.join(foreign[:5])}); "
                             "choose an empty or new folder for --out")
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    # mkdtemp makes the folder private (0700); a run folder is meant to be shared like any other.
    os.chmod(tmp, 0o777 & ~umask)
    try:
        yield tmp
        if out.exists():
            # Two renames: a crash between them leaves the old run beside the new one, never a mixture.
            old = parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_run(plan, out_dir: str | Path, report: ReportWriter | None = None) -> Path:
    """Write the run into `out_dir`, replacing an earlier run there; on any error nothing changes."""
    if not plan.has_solution:
        raise FupinError(f"no allocation to write: {plan.describe()}")
    with run_folder(out_dir, RUN_FILES, "planning run") as tmp:
        (tmp / "allocation.csv").write_text(allocation_csv(plan), encoding="utf-8")
        note = "report.pdf" if report else "not written: no report writer is installed"
        if report:
            report(plan.view_model(), tmp / "report.pdf")
        (tmp / "summary.json").write_text(summary_json(plan, note), encoding="utf-8")
    return Path(out_dir)
