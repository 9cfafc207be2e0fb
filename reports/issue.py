"""Issuing reports: render every file of a batch, register them (who, when, fingerprint, file hash),
commit, and only then put the files in place: all of a batch or nothing."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.files import require_folder, stage
from db.models import ReportIssue
from procure import audit

from .charts import share_chart
from .compliance import ReportView, describe_changes
from .render import SCHEME, default_processes, find_cjk_font, jinja_env, render_batch
from .xlsx import workbook_bytes

FORMATS = ("pdf", "xlsx")


def register(session: Session, view: ReportView, target: Path, fmt: str, actor: str, now: dt.datetime) -> ReportIssue:
    """Record the issue (its number goes into the file) and link it to the previous issue of the same report."""
    previous = session.scalars(select(ReportIssue).where(ReportIssue.report_key == view.report_key)
                               .order_by(ReportIssue.id.desc()).limit(1)).first()
    if previous is not None:
        view.previous_no = previous.id
        view.amendment = previous.fingerprint != view.fingerprint
        if view.amendment:
            view.changes = describe_changes(view, json.loads(previous.snapshot), previous.issued_at, session)
    row = ReportIssue(report_key=view.report_key, kind="compliance", scope=view.scope, period_from=view.months[0],
                      period_to=view.months[-1], lang=view.lang, file_format=fmt, file_name=target.name,
                      fingerprint=view.fingerprint, issued_by=actor, issued_at=now, previous_id=view.previous_no,
                      amendment=view.amendment, changes=json.dumps(view.changes, ensure_ascii=False),
                      snapshot=json.dumps(view.snapshot, ensure_ascii=False, sort_keys=True),
                      entries=len(view.entry_ids), chain_head=view.chain_head or None)
    session.add(row)
    session.flush()
    view.issue_no = row.id
    return row


CHART_ASSET = "charts/share.png"


def html(view: ReportView, font) -> tuple[str, dict]:
    """The document, and its chart picture as a callable the renderer draws (in whichever process renders it)."""
    t = view.t
    chart = functools.partial(share_chart, view.chart.months, view.chart.series, view.chart.threshold,
                              {"threshold": t["threshold"], "share": t["share"]}, font)
    page = jinja_env().get_template("compliance.html").render(view=view, chart_url=SCHEME + CHART_ASSET)
    return page, {CHART_ASSET: chart}


@contextmanager
def issuing(session: Session, jobs: list[tuple[ReportView, Path]], fmt: str, actor: str, now: dt.datetime,
            processes: int | None = None) -> Iterator[list[ReportIssue]]:
    """Register and render every report of a batch into temporary files; yields the registrations.

    The caller commits inside the `with` block. When the block ends normally the files move into
    place; on any failure (rendering, writing, committing) every temporary file is removed, and
    without a commit nothing is registered. PDFs share one font and are rendered by up to
    `processes` processes (default: one per core).
    """
    for _, target in jobs:
        require_folder(target)
    rows = [register(session, view, Path(target), fmt, actor, now) for view, target in jobs]
    staged: list[tuple[Path, Path]] = []
    try:
        if fmt == "pdf":
            font = find_cjk_font()
            blobs = render_batch([html(view, font) for view, _ in jobs], font,
                                 default_processes() if processes is None else processes)
        else:
            blobs = [workbook_bytes(view) for view, _ in jobs]
        for row, (view, target), blob in zip(rows, jobs, blobs):
            staged.append((stage(Path(target), blob), Path(target)))
            row.file_sha256 = hashlib.sha256(blob).hexdigest()
            audit.record(session, actor, "issue", "report", row.id,
                         {"key": view.report_key, "file": Path(target).name, "sha256": row.file_sha256,
                          "fingerprint": view.fingerprint, "amends": view.previous_no if view.amendment else None})
        session.flush()
        yield rows
        for tmp, target in staged:
            os.replace(tmp, target)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
