"""The finance offices' pages: closing months, issuing and downloading reports, the audit trail."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import login_required
from sqlalchemy import select

from accounts.access import Access, visible_institutions
from common.cells import month_label
from common.errors import FupinError
from db.models import Institution, MonthClose, ReportIssue
from procure import services
from procure.rules import DEFAULT_RULE
from reports import services as report_services

from .context import me, require, uow
from .forms import EmptyForm, ReasonForm, ReportForm
from .i18n import TEXT
from .ledger import month_label_of

bp = Blueprint("finance", __name__)


@bp.route("/months")
@login_required
def months():
    require(me().closes_months)
    today = dt.date.today().replace(day=1)
    recent = []
    day = today
    for _ in range(12):
        recent.append(month_label(day))
        day = (day - dt.timedelta(days=1)).replace(day=1)
    with uow() as unit:
        states = {m.month: m for m in unit.session.scalars(select(MonthClose))}
    labels = sorted(set(recent) | set(states), reverse=True)
    rows = [{"month": m, "closed": bool(states.get(m) and states[m].closed),
             "by": states[m].changed_by if m in states else "", "at": states[m].changed_at if m in states else None}
            for m in labels]
    return render_template("months.html", rows=rows, close_form=EmptyForm(), reopen_form=ReasonForm())


@bp.route("/months/<month>/close", methods=["POST"])
@login_required
def close(month: str):
    require(me().closes_months)
    if not EmptyForm().validate_on_submit():
        abort(400)
    label = month_label_of(month)
    try:
        with uow(write=True) as unit:
            services.close_month(unit, label, me().name)
        flash(TEXT[g.lang]["closed_msg"].format(m=label), "ok")
    except FupinError as exc:
        flash(str(exc), "error")
    return redirect(url_for("finance.months"))


@bp.route("/months/<month>/reopen", methods=["POST"])
@login_required
def reopen(month: str):
    require(me().closes_months)
    form = ReasonForm()
    label = month_label_of(month)
    if not form.validate_on_submit():
        flash(TEXT[g.lang]["needs_reason"], "error")
        return redirect(url_for("finance.months"))
    try:
        with uow(write=True) as unit:
            services.reopen_month(unit, label, form.reason.data, me().name)
        flash(TEXT[g.lang]["reopened_msg"].format(m=label), "ok")
    except FupinError as exc:
        flash(str(exc), "error")
    return redirect(url_for("finance.months"))


def may_report_on(access: Access, scope: str, session) -> bool:
    """A report of an institution is theirs when the institution is; the province's, when they see it all."""
    if not access.issues_reports:
        return False
    if scope == "province":
        return access.province_wide
    found = session.scalar(select(Institution.id).where(Institution.code == scope))
    return found is not None and access.sees_institution(found)


def issue_report(access: Access, month_text: str, scope: str, fmt: str, lang: str) -> ReportIssue:
    """Issue a report into the web's own store (files named by chance, served by database id)."""
    label = month_label_of(month_text)
    stored_as = f"{secrets.token_hex(16)}.{fmt}"
    with uow(write=True) as unit:
        if not may_report_on(access, scope, unit.session):
            abort(403)
        issued = report_services.issue_compliance_reports(
            unit, [label], DEFAULT_RULE, lang, Path(current_app.instance_path) / "reports" / stored_as, access.name,
            institution=None if scope == "province" else scope, fmt=fmt, jobs=1)
    with uow(write=True) as unit:
        row = unit.session.get(ReportIssue, issued[0].issue_no)
        row.stored_as = stored_as
        unit.commit()
        return row


@bp.route("/reports", methods=["GET", "POST"])
@login_required
def reports():
    access = me()
    require(access.issues_reports)
    form = ReportForm()
    with uow() as unit:
        scopes = [(i.code, f"{i.code} {i.name}") for i in visible_institutions(unit.session, access)]
    if access.province_wide:
        scopes.insert(0, ("province", TEXT[g.lang]["province"]))
    form.institution.choices = scopes
    if request.method == "GET":
        form.month.data = form.month.data or month_label(dt.date.today())
        form.lang.data = g.lang
    if form.validate_on_submit():
        if form.institution.data not in {code for code, _ in scopes}:
            abort(403)
        try:
            row = issue_report(access, form.month.data, form.institution.data, form.format.data, form.lang.data)
            flash(TEXT[g.lang]["issued"].format(n=row.id), "ok")
            return redirect(url_for("finance.reports"))
        except FupinError as exc:
            flash(str(exc), "error")
    with uow() as unit:
        rows = [r for r in unit.session.scalars(select(ReportIssue).order_by(ReportIssue.id.desc()).limit(200))
                if may_report_on(access, r.scope, unit.session)]
    return render_template("reports.html", form=form, rows=rows)


@bp.route("/reports/<int:report_id>/download")
@login_required
def download(report_id: int):
    with uow() as unit:
        row = unit.session.get(ReportIssue, report_id)
        if row is None or not may_report_on(me(), row.scope, unit.session):
            abort(404)
        stored_as, fmt, scope, period = row.stored_as, row.file_format, row.scope, row.period_from
    if not stored_as:
        abort(404, "this report was issued from the command line; its file is where it was written")
    path = Path(current_app.instance_path) / "reports" / stored_as
    if not path.is_file():
        abort(404)
    mimetype = "application/pdf" if fmt == "pdf" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return send_file(path, mimetype=mimetype, as_attachment=True,
                     download_name=f"compliance-{scope}-{period}-no{report_id}.{fmt}")


@bp.route("/audit")
@login_required
def audit():
    require(me().reads_audit)
    with uow() as unit:
        events = services.audit_trail(unit, limit=300, entity=request.args.get("entity") or None,
                                      key=request.args.get("key") or None)
    return render_template("audit.html", events=events)
