"""Issuing reports: register each one (who, when, fingerprint, file hash), then write the files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from procure import audit

from .charts import share_chart
from .compliance import ReportView, describe_changes
from .models import ReportIssue
from .render import SCHEME, Renderer, atomic_write, find_cjk_font, jinja_env
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
                      entries=len(view.entry_ids))
    session.add(row)
    session.flush()
    view.issue_no = row.id
    return row


CHART_ASSET = "charts/share.png"


def html(view: ReportView, font) -> tuple[str, dict[str, bytes]]:
    """The document, and the in-memory chart picture for the fetcher to serve with it."""
    t = view.t
    chart = share_chart(view.chart.months, view.chart.series, view.chart.threshold,
                        {"threshold": t["threshold"], "share": t["share"], "title": t["chart_title"]}, font)
    page = jinja_env().get_template("compliance.html").render(view=view, chart_url=SCHEME + CHART_ASSET)
    return page, {CHART_ASSET: chart}


def issue_reports(session: Session, jobs: list[tuple[ReportView, Path]], fmt: str, actor: str,
                  now: dt.datetime) -> list[ReportIssue]:
    """Register and write every report of a batch; PDFs share one font subset (see render.py).

    The caller commits: if any file fails, nothing is registered.
    """
    rows = [register(session, view, Path(target), fmt, actor, now) for view, target in jobs]
    if fmt == "pdf":
        font = find_cjk_font()
        documents = [html(view, font) for view, _ in jobs]
        renderer = Renderer([doc for doc, _ in documents], font)
        blobs = [renderer.pdf(doc, assets) for doc, assets in documents]
    else:
        blobs = [workbook_bytes(view) for view, _ in jobs]
    for row, (view, target), blob in zip(rows, jobs, blobs):
        row.file_sha256 = atomic_write(target, blob)
        audit.record(session, actor, "issue", "report", row.id,
                     {"key": view.report_key, "file": Path(target).name, "sha256": row.file_sha256,
                      "fingerprint": view.fingerprint, "amends": view.previous_no if view.amendment else None})
    session.flush()
    return rows
