"""The canteen managers' pages: the month at a glance, a canteen's month, purchases, imports."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
import zipfile
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

from accounts.access import visible_canteens, visible_institutions
from common.cells import month_label, parse_date, parse_month
from common.errors import FupinError, InputFileError
from db.models import Canteen, Upload
from procure import services
from procure.formats import tally_figures
from procure.rules import DEFAULT_RULE
from procure.units import kg, percent, yuan
from procure.wording import STATUS

from .context import me, require, uow
from .forms import EmptyForm, PurchaseForm, ReasonForm, UploadForm
from .i18n import TEXT

bp = Blueprint("ledger", __name__)
PAGE = 200


def month_label_of(text: str) -> str:
    """YYYY-MM from what the page or API was given, or 400 saying how to write it."""
    try:
        return month_label(parse_month(text))
    except ValueError as exc:
        abort(400, f"month {exc}")


def _month() -> str:
    return month_label_of(request.args.get("month") or month_label(dt.date.today()))


def figures(tally, short_mg, short_fen, status, lang: str) -> dict:
    return {**tally_figures(tally), "share_qty_pct": percent(tally.share_qty), "share_amount_pct":
            percent(tally.share_amount), "shortfall_kg": kg(short_mg), "shortfall_yuan": yuan(short_fen),
            "status": status.value if status else "", "status_text": STATUS[lang][status] if status else ""}


@bp.route("/")
@login_required
def home():
    access = me()
    month = _month()
    if not access.reads_ledger:  # planners
        return redirect(url_for("plans.home"))
    with uow() as unit:
        result = services.month_compliance(unit, month, DEFAULT_RULE, today=dt.date.today())
        mine = {c.code for c in visible_canteens(unit.session, access)}
        institutions = {i.code for i in visible_institutions(unit.session, access)}
    canteens = [{"code": c.canteen, "name": c.canteen_name, "institution": c.institution,
                 **figures(c.tally, c.shortfall_mg, c.shortfall_fen, c.status, g.lang)}
                for c in result.canteens if c.canteen in mine]
    rollups = [] if access.role == "manager" else [
        {"code": r.code, "name": r.name, "ok": r.compliant, "of": r.canteens,
         **figures(r.tally, r.shortfall_mg, r.shortfall_fen, None, g.lang)}
        for r in result.institutions if r.code in institutions]
    p = result.province
    province = ({"ok": p.compliant, "of": p.canteens, **figures(p.tally, p.shortfall_mg, p.shortfall_fen, None, g.lang)}
                if access.province_wide else None)
    return render_template("home.html", month=month, canteens=canteens, institutions=rollups, province=province,
                           threshold=percent(DEFAULT_RULE.threshold))


def _canteen(unit, code: str) -> Canteen:
    """A canteen of the user's, else 404 (whether it exists is not the user's business)."""
    canteen = unit.session.query(Canteen).filter(Canteen.code == code).one_or_none()
    if canteen is None or not me().sees_canteen(canteen.id):
        abort(404)
    return canteen


@bp.route("/canteens/<code>")
@login_required
def canteen(code: str):
    require(me().reads_ledger)
    month = _month()
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        abort(400, "page is a number")
    with uow() as unit:
        found = _canteen(unit, code)
        institution = found.institution.code
        result = services.month_compliance(unit, month, DEFAULT_RULE, institution, dt.date.today())
        # Newest first, a page at a time: a busy canteen has thousands of lines a month.
        entries = services.month_entries(unit, month, code, newest_first=True, limit=PAGE, offset=(page - 1) * PAGE)
        total = services.count_entries(unit, month, found.id)
        voided = services.voided_among(unit, [e.id for e in entries])
    line = next(c for c in result.canteens if c.canteen == code)
    t = TEXT[g.lang]
    projection = None
    if line.projection:
        pr = line.projection
        projection = t["projection_text"].format(day=pr.days_elapsed, days=pr.days_in_month,
                                                 total=kg(pr.projected_total_mg), pa=kg(pr.projected_pa_mg),
                                                 need=kg(pr.pa_mg_still_needed))
    cats = [{"code": k.code, "name": k.name, "counts": k.counts_toward_quota,
             **figures(k.tally, 0, 0, None, g.lang)} for k in line.categories]
    rows = [{"id": e.id, "date": e.date, "supplier": e.supplier, "category": e.category, "product": e.product,
             "quantity": f"{e.quantity} {e.unit}", "kg": kg(e.qty_mg), "yuan": yuan(e.amount_fen),
             "ref": f"{e.ref}/{e.line}", "pa": e.is_pa, "reverses": e.reverses_id,
             "can_void": me().writes_purchases and not e.reverses_id and e.id not in voided} for e in entries]
    pages = max(1, -(-total // PAGE))
    return render_template("canteen.html", month=month, canteen=line, categories=cats, entries=rows,
                           page=page, pages=pages, total=total,
                           projection=projection, threshold=percent(DEFAULT_RULE.threshold),
                           f=figures(line.tally, line.shortfall_mg, line.shortfall_fen, line.status, g.lang),
                           void_form=ReasonForm())


@bp.route("/entries/<int:entry_id>/void", methods=["POST"])
@login_required
def void(entry_id: int):
    require(me().writes_purchases)
    form = ReasonForm()
    t = TEXT[g.lang]
    back = request.form.get("back") or ""
    back = back if back.startswith("/") and not back.startswith("//") else url_for("ledger.home")
    if not form.validate_on_submit():
        flash(t["needs_reason"], "error")
        return redirect(back)
    try:
        with uow(write=True) as unit:
            reversal = services.void_entry(unit, entry_id, form.reason.data, me().name, me().canteen_ids)
    except services.NotYours:
        abort(404)
    except FupinError as exc:
        flash(str(exc), "error")
        return redirect(back)
    flash(t["voided"].format(n=entry_id, m=reversal), "ok")
    return redirect(back)


@bp.route("/purchases/new", methods=["GET", "POST"])
@login_required
def new_purchase():
    require(me().writes_purchases)
    form = PurchaseForm()
    with uow() as unit:
        form.canteen.choices = [(c.code, f"{c.code} {c.name}") for c in visible_canteens(unit.session, me())]
    t = TEXT[g.lang]
    problems = []
    if form.validate_on_submit():
        fields = {name: getattr(form, name).data for name in ("date", "canteen", "supplier", "category", "product",
                                                               "quantity", "unit", "amount", "ref", "line", "note")}
        fields["line"] = fields["line"] or "1"
        try:
            with uow(write=True) as unit:
                result = services.log_purchase(unit, me().name, allowed_canteens=me().canteen_ids, **fields)
        except InputFileError as exc:
            problems = exc.problems
        except FupinError as exc:
            flash(str(exc), "error")
        else:
            month = month_label(parse_date(fields["date"]))  # it parsed, or the service had refused it
            if result.already_present:
                flash(t["already"].format(n=result.already_present[0][1]), "ok")
            else:
                flash(t["added"].format(n=result.ids[0]), "ok")
                for notice in result.notices:
                    flash(notice.reason, "note")
            return redirect(url_for("ledger.canteen", code=fields["canteen"], month=month))
    status = 422 if problems or (request.method == "POST" and form.errors) else 200
    return render_template("purchase.html", form=form, problems=problems), status


@bp.route("/template.xlsx")
@login_required
def template():
    from procure.template import write_template

    path = Path(current_app.instance_path) / f"template-{secrets.token_hex(8)}.xlsx"
    write_template(path)
    data = path.read_bytes()
    path.unlink()
    return send_file(io.BytesIO(data), download_name="采购明细.xlsx", as_attachment=True,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _format_of(data: bytes) -> str:
    """The upload's real kind, from its content: an XLSX is a zip holding a workbook, a CSV is text."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if "xl/workbook.xml" in z.namelist():
                    return "xlsx"
        except zipfile.BadZipFile:
            pass
        abort(400, "the file is a zip archive but not an Excel workbook: save it as .xlsx or CSV")
    if b"\x00" in data:
        abort(400, "the file is not text: upload a CSV (UTF-8 or GBK) or an .xlsx workbook")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            data.decode(encoding)
            return "csv"
        except UnicodeDecodeError:
            continue
    abort(400, "the file is neither UTF-8 nor GBK text: save it as CSV UTF-8 or .xlsx")


def _stored(upload: Upload) -> Path:
    return Path(current_app.instance_path) / "uploads" / upload.stored_as


@bp.route("/import", methods=["GET", "POST"])
@login_required
def upload():
    require(me().writes_purchases)
    form = UploadForm()
    if form.validate_on_submit():
        data = form.file.data.read()
        fmt = _format_of(data)
        stored_as = f"{secrets.token_hex(16)}.{fmt}"
        (Path(current_app.instance_path) / "uploads" / stored_as).write_bytes(data)
        with uow(write=True) as unit:
            row = Upload(user_id=me().user_id, stored_as=stored_as, file_format=fmt,
                         original_name=(form.file.data.filename or "")[:255], size=len(data),
                         sha256=hashlib.sha256(data).hexdigest())
            unit.session.add(row)
            unit.commit()
            upload_id = row.id
        return redirect(url_for("ledger.check_upload", upload_id=upload_id))
    status = 422 if request.method == "POST" else 200
    return render_template("import.html", form=form), status


def _upload(unit, upload_id: int) -> Upload:
    row = unit.session.get(Upload, upload_id)
    if row is None or row.user_id != me().user_id:
        abort(404)
    return row


@bp.route("/import/<int:upload_id>")
@login_required
def check_upload(upload_id: int):
    require(me().writes_purchases)
    with uow() as unit:
        row = _upload(unit, upload_id)
        earlier = services.previous_import(unit, row.sha256)
        try:
            result = services.import_purchases(unit, _stored(row), me().name, dry_run=True,
                                               allowed_canteens=me().canteen_ids)
        except services.OutOfScope as exc:
            return render_template("import_check.html", upload=row, problems=exc.problems, result=None,
                                   earlier=earlier, form=EmptyForm()), 403
        except InputFileError as exc:
            return render_template("import_check.html", upload=row, problems=exc.problems, result=None,
                                   earlier=earlier, form=EmptyForm()), 422
        except FupinError as exc:
            return render_template("import_check.html", upload=row, problems=[str(exc)], result=None,
                                   earlier=earlier, form=EmptyForm()), 422
    summary = {"n": result.lines_added, "kg": kg(result.added_mg), "yuan": yuan(result.added_fen),
               "old": result.lines_present}
    return render_template("import_check.html", upload=row, problems=[], result=summary, notices=result.notices,
                           earlier=earlier, form=EmptyForm())


@bp.route("/import/<int:upload_id>/confirm", methods=["POST"])
@login_required
def confirm_upload(upload_id: int):
    require(me().writes_purchases)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    t = TEXT[g.lang]
    try:
        with uow(write=True) as unit:
            row = _upload(unit, upload_id)
            result = services.import_purchases(unit, _stored(row), me().name, allowed_canteens=me().canteen_ids)
        if result.batch_id:
            with uow(write=True) as unit:
                _upload(unit, upload_id).imported_batch_id = result.batch_id
                unit.commit()
    except InputFileError:
        return redirect(url_for("ledger.check_upload", upload_id=upload_id))
    if result.lines_added:
        flash(t["imported"].format(n=result.lines_added, batch=result.batch_id, old=result.lines_present), "ok")
    else:
        flash(t["nothing_new"].format(n=result.lines_present), "ok")
    return redirect(url_for("ledger.home"))
