"""The administrator's pages: users and master data."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import login_required

from accounts import services as accounts
from common.errors import FupinError, InputFileError
from procure import services

from .context import me, require, uow
from .forms import EmptyForm, MasterForm, UserForm
from .i18n import TEXT
from .ledger import _format_of

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _codes(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").replace("，", ",").split(",") if c.strip()]


@bp.route("/users", methods=["GET", "POST"])
@login_required
def users():
    require(me().administers)
    form = UserForm()
    if form.validate_on_submit():
        try:
            with uow(write=True) as unit:
                accounts.add_user(unit, form.name.data, form.role.data, form.password.data,
                                  _codes(form.canteens.data), _codes(form.institutions.data), me().name)
            return redirect(url_for("admin.users"))
        except (FupinError, ValueError) as exc:
            flash(str(exc), "error")
    with uow() as unit:
        rows = accounts.list_users(unit)
    status = 422 if request.method == "POST" else 200
    return render_template("users.html", form=form, rows=rows, disable_form=EmptyForm()), status


@bp.route("/users/<name>/disable", methods=["POST"])
@login_required
def disable(name: str):
    require(me().administers)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with uow(write=True) as unit:
            accounts.disable_user(unit, name, me().name)
    except FupinError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.users"))


@bp.route("/master", methods=["GET", "POST"])
@login_required
def master():
    require(me().administers)
    form = MasterForm()
    problems = []
    if form.validate_on_submit():
        data = form.file.data.read()
        fmt = _format_of(data)
        path = Path(current_app.instance_path) / "uploads" / f"{secrets.token_hex(16)}.{fmt}"
        path.write_bytes(data)
        try:
            with uow(write=True) as unit:
                result = services.import_master(unit, form.kind.data, path, me().name)
            flash(TEXT[g.lang]["master_loaded"].format(kind=form.kind.data, a=result.added, u=result.updated,
                                                       n=result.unchanged), "ok")
            return redirect(url_for("admin.master"))
        except InputFileError as exc:
            problems = exc.problems
        except FupinError as exc:
            flash(str(exc), "error")
    status = 422 if request.method == "POST" else 200
    return render_template("master.html", form=form, problems=problems), status
