"""The JSON API, /api/v1: a bearer token instead of a session (so no CSRF token), the same services
and the same scope as the pages. Figures are strings, exactly as in the CSV."""

from __future__ import annotations

import datetime as dt
from functools import wraps
from pathlib import Path

from flask import Blueprint, abort, current_app, g, jsonify, request, send_file

from accounts import services as accounts
from accounts.access import Access, visible_canteens
from common.errors import FupinError, InputFileError
from db.models import Canteen
from procure import ledger, services
from procure.formats import csv_rows
from procure.rules import DEFAULT_RULE
from procure.units import kg, yuan

from .context import uow
from .finance import issue_report
from .ledger import month_label_of

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_LINES = 10_000
FIELDS = ledger.PURCHASE_FIELD_NAMES


def _problem_json(exc: InputFileError) -> list[dict]:
    return [{"row": p.row, "column": p.column or "", "message": p.reason} for p in exc.problems]


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        access = None
        if scheme.lower() == "bearer" and token.strip():
            with uow() as unit:
                access = accounts.token_user(unit, token.strip())
        if access is None:
            response = jsonify({"error": "no valid API token: send Authorization: Bearer TOKEN "
                                         "(fupin user token NAME prints one)"})
            response.headers["WWW-Authenticate"] = 'Bearer realm="fupin"'
            return response, 401
        g.access = access
        return view(*args, **kwargs)
    return wrapper


def _access() -> Access:
    return g.access


def _forbid(allowed: bool, why: str) -> None:
    if not allowed:
        abort(403, why)


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(422, "the body must be a JSON object")
    return body


@bp.route("/compliance")
@token_required
def compliance():
    access = _access()
    _forbid(access.reads_ledger, "your role does not read the ledger")
    month = month_label_of(request.args.get("month", ""))
    institution = request.args.get("institution") or None
    with uow() as unit:
        mine = {c.code for c in visible_canteens(unit.session, access)}
        if institution:
            found = unit.session.query(Canteen).join(Canteen.institution).filter_by(code=institution).first()
            if found is None:
                abort(404, f"unknown institution '{institution}'")
        result = services.month_compliance(unit, month, DEFAULT_RULE, institution, dt.date.today())
    rows = [row for row, c in zip(csv_rows(result), result.canteens) if c.canteen in mine]
    if institution and not rows:
        abort(403, f"institution {institution} has none of your canteens")
    return jsonify({"month": month, "rows": rows})


@bp.route("/purchases", methods=["POST"])
@token_required
def add_purchases():
    access = _access()
    _forbid(access.writes_purchases, "your role does not enter purchases")
    body = _json_body()
    lines, dry_run = body.get("lines"), body.get("dry_run", False)
    if not isinstance(lines, list) or not lines or not all(isinstance(x, dict) for x in lines):
        abort(422, "'lines' must be a non-empty list of objects")
    unknown = [{"row": i, "column": key, "message": f"unknown field; the fields are {', '.join(FIELDS)}"}
               for i, line in enumerate(lines, 1) for key in line if key not in FIELDS]
    if unknown:
        return jsonify({"errors": unknown}), 422
    if len(lines) > MAX_LINES:
        abort(413, f"at most {MAX_LINES:,} lines in one request")
    if not isinstance(dry_run, bool):
        abort(422, "'dry_run' must be true or false")
    errors = [{"row": i, "column": key, "message": "is not a text or a number"}
              for i, line in enumerate(lines, 1) for key, value in line.items()
              if isinstance(value, bool) or (value is not None and not isinstance(value, (str, int, float)))]
    if errors:
        return jsonify({"errors": errors}), 422
    try:
        with uow(write=True) as unit:
            result = services.add_lines(unit, lines, access.name, dry_run=dry_run, allowed_canteens=access.canteen_ids,
                                        source=f"API ({access.name})")
    except services.OutOfScope as exc:
        return jsonify({"error": "lines for canteens that are not yours; nothing was written",
                        "errors": _problem_json(exc)}), 403
    except InputFileError as exc:
        return jsonify({"errors": _problem_json(exc)}), 422
    body = {"added": result.lines_added, "already_present": result.lines_present, "ids": list(result.ids),
            "dry_run": dry_run}
    return jsonify(body), 200 if dry_run or not result.lines_added else 201


@bp.route("/purchases")
@token_required
def list_purchases():
    access = _access()
    _forbid(access.reads_ledger, "your role does not read the ledger")
    month = month_label_of(request.args.get("month", ""))
    code = request.args.get("canteen", "")
    with uow() as unit:
        canteen = unit.session.query(Canteen).filter(Canteen.code == code).one_or_none()
        if canteen is None or not access.sees_canteen(canteen.id):
            abort(404, f"no canteen '{code}' among yours")
        entries = services.month_entries(unit, month, code)
    return jsonify({"month": month, "canteen": code, "entries": [
        {"id": e.id, "date": e.date.isoformat(), "canteen": e.canteen, "supplier": e.supplier, "category": e.category,
         "product": e.product, "quantity": e.quantity, "unit": e.unit, "kg": kg(e.qty_mg),
         "amount": yuan(e.amount_fen), "ref": e.ref, "line": e.line, "poverty_alleviation": e.is_pa,
         "voids": e.reverses_id} for e in entries]})


@bp.route("/entries/<int:entry_id>/void", methods=["POST"])
@token_required
def void(entry_id: int):
    access = _access()
    _forbid(access.writes_purchases, "your role does not void entries")
    reason = _json_body().get("reason")
    if not isinstance(reason, str) or not reason.strip():
        abort(422, "a void needs a 'reason'")
    try:
        with uow(write=True) as unit:
            reversal = services.void_entry(unit, entry_id, reason, access.name, access.canteen_ids)
    except services.NotYours:
        abort(404, f"no ledger entry #{entry_id} among your canteens")
    except FupinError as exc:
        abort(409, str(exc))
    return jsonify({"voided": entry_id, "reversal": reversal})


@bp.route("/months/<month>/<action>", methods=["POST"])
@token_required
def month_state(month: str, action: str):
    access = _access()
    if action not in ("close", "reopen"):
        abort(404)
    _forbid(access.closes_months, "only province-wide finance and admins close and reopen months")
    label = month_label_of(month)
    body = request.get_json(silent=True) or {}
    try:
        with uow(write=True) as unit:
            if action == "close":
                services.close_month(unit, label, access.name)
            else:
                reason = body.get("reason") if isinstance(body, dict) else None
                if not isinstance(reason, str) or not reason.strip():
                    abort(422, "reopening a month needs a 'reason'")
                services.reopen_month(unit, label, reason, access.name)
    except FupinError as exc:
        abort(409, str(exc))
    return jsonify({"month": label, "closed": action == "close"})


@bp.route("/reports/compliance")
@token_required
def report():
    access = _access()
    fmt = request.args.get("format", "pdf")
    if fmt not in ("pdf", "xlsx"):
        abort(422, "format is pdf or xlsx")
    scope = request.args.get("institution") or "province"
    lang = request.args.get("lang", "zh")
    if lang not in ("zh", "en"):
        abort(422, "lang is zh or en")
    try:
        row = issue_report(access, request.args.get("month", ""), scope, fmt, lang)
    except FupinError as exc:
        abort(409, str(exc))
    path = Path(current_app.instance_path) / "reports" / row.stored_as
    response = send_file(path, as_attachment=True, download_name=f"compliance-{scope}-{row.period_from}.{fmt}",
                         mimetype="application/pdf" if fmt == "pdf" else
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["X-Fupin-Report-No"] = str(row.id)
    response.headers["X-Fupin-Fingerprint"] = row.fingerprint
    return response
