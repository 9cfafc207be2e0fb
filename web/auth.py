"""Signing in and out, and changing one's password."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from accounts import services as accounts
from common.errors import FupinError

from .context import WebUser, me, uow
from .forms import EmptyForm, LoginForm, PasswordForm
from .i18n import TEXT

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never another host (an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("ledger.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    t = TEXT[g.lang]
    if form.validate_on_submit():
        settings = current_app.config["FUPIN_SETTINGS"]
        try:
            with uow(write=True) as unit:
                signed = accounts.sign_in(unit, form.username.data, form.password.data, request.remote_addr or "",
                                          settings)
        except accounts.TooManyFailures:
            abort(429)
        if signed is None:
            flash(t["bad_login"], "error")
            return render_template("login.html", form=form), 401
        user, session_id = signed
        with uow() as unit:
            access = accounts.access_for(unit, user.name)
        lang = session.get("lang")
        session.clear()  # a new session at sign-in: nothing from before it carries over
        session["sid"] = session_id
        if lang:
            session["lang"] = lang
        login_user(WebUser(access))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    sid = session.get("sid")
    if sid:
        with uow(write=True) as unit:
            accounts.sign_out(unit, sid, everywhere=True)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    t = TEXT[g.lang]
    if form.validate_on_submit():
        if form.new.data != form.repeat.data:
            flash(t["passwords_differ"], "error")
            return render_template("password.html", form=form), 422
        try:
            with uow(write=True) as unit:
                if accounts.verify_password(unit, current_user.name, form.current.data,
                                            request.remote_addr or "") is None:
                    flash(t["bad_login"], "error")
                    return render_template("password.html", form=form), 422
            with uow(write=True) as unit:
                accounts.set_password(unit, me().name, form.new.data, me().name, keep_session=session.get("sid"))
        except accounts.TooManyFailures:
            abort(429)
        except FupinError as exc:
            flash(str(exc), "error")
            return render_template("password.html", form=form), 422
        flash(t["password_changed"], "ok")
        return redirect(url_for("ledger.home"))
    return render_template("password.html", form=form)
