"""fupin's web application: the ledger for canteen managers and finance offices, in a browser.

An application factory (as Flask's tutorial does), one blueprint per area, the same service
functions as the command line (procure.services, reports.services, accounts.services); a page
only parses, calls one service and renders.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, g, request, session
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

import db
from accounts.services import SETTINGS, WebSettings
from planners.settings import instance_folder

from .context import language, load_user
from .errors import register_errors
from .i18n import TEXT


def _secret_key(instance: Path) -> str:
    """FUPIN_WEB_SECRET, else a random key kept in the instance folder (made once, private)."""
    if os.environ.get("FUPIN_WEB_SECRET"):
        return os.environ["FUPIN_WEB_SECRET"]
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(db_url: str | None = None, instance_path: str | Path | None = None,
               settings: WebSettings = SETTINGS, testing: bool = False) -> Flask:
    instance = instance_folder(instance_path)
    app = Flask(__name__, instance_path=str(instance))
    app.config.update(
        SECRET_KEY=_secret_key(instance),
        TESTING=testing,
        MAX_CONTENT_LENGTH=settings.upload_max_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("FUPIN_WEB_TLS") == "1",
        SESSION_COOKIE_NAME="fupin_session",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (server-side) session
        FUPIN_SETTINGS=settings,
    )
    (instance / "uploads").mkdir(parents=True, exist_ok=True)
    for folder in ("reports", "datasets", "runs"):
        (instance / folder).mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(db.database_url(db_url))
    db.ensure_schema(engine)
    app.extensions["fupin_engine"] = engine

    CSRFProtect(app)
    login = LoginManager(app)
    login.login_view = "auth.login"
    login.user_loader(load_user)
    login.session_protection = None  # our own server-side sessions end on logout, password change, idle

    from . import admin, api, auth, finance, ledger, plans

    for blueprint in (auth.bp, ledger.bp, finance.bp, admin.bp, api.bp, plans.bp):
        app.register_blueprint(blueprint)
    app.extensions["csrf"].exempt(api.bp)  # token-authenticated JSON; forms keep their CSRF check
    register_errors(app)

    @app.before_request
    def _language():
        g.lang = language()

    @app.context_processor
    def _words():
        return {"t": TEXT[g.get("lang", "zh")], "lang": g.get("lang", "zh")}

    @app.after_request
    def _headers(response):
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.path.startswith("/api/") or session.get("sid"):
            response.headers["Cache-Control"] = "no-store"
        return response

    return app
