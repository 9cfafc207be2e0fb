"""Every error becomes a page (or, under /api, JSON) with the right status; no traceback reaches a user."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .i18n import TEXT

log = logging.getLogger("fupin.web")
_TITLES = {400: "bad_request", 403: "forbidden", 404: "not_found", 413: "too_large", 429: "too_many"}


def _answer(status: int, message: str):
    if request.path.startswith("/api/"):
        return jsonify({"error": message}), status
    t = TEXT[g.get("lang", "zh")]
    return render_template("error.html", title=t.get(_TITLES.get(status, "error"), t["error"]),
                           message=message), status


def register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return _answer(400, TEXT[g.get("lang", "zh")]["csrf"])

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        t = TEXT[g.get("lang", "zh")]
        words = {403: t["forbidden_text"], 404: t["not_found_text"], 413: t["too_large"], 429: t["too_many"]}
        own = exc.description if exc.description and exc.description != type(exc).description else None
        if request.path.startswith("/api/"):
            message = own or exc.description or exc.name
        else:
            message = own if own and exc.code in (400, 409, 422) else words.get(exc.code, own or exc.name)
        return _answer(exc.code or 500, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _answer(500, TEXT[g.get("lang", "zh")]["error"])
