"""What a request needs: a unit of work, the signed-in user and what is theirs, the language."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import abort, current_app, request, session
from flask_login import UserMixin, current_user

import db
from accounts import services as accounts
from accounts.access import Access


class WebUser(UserMixin):
    def __init__(self, access: Access):
        self.access = access
        self.id = str(access.user_id)
        self.name = access.name


@contextmanager
def uow(write: bool = False) -> Iterator[db.UnitOfWork]:
    with db.unit_of_work(current_app.extensions["fupin_engine"], write=write) as unit:
        yield unit


def load_user(user_id: str) -> WebUser | None:
    """Flask-Login's loader: only a live server-side session of that user counts."""
    sid = session.get("sid")
    if not sid:
        return None
    with uow() as unit:  # a reader's transaction: pages never queue behind a long import
        access = accounts.session_user(unit, sid, current_app.config["FUPIN_SETTINGS"])
    if access is None or str(access.user_id) != user_id:
        session.clear()
        return None
    return WebUser(access)


def me() -> Access:
    return current_user.access


def require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def language() -> str:
    chosen = request.args.get("lang")
    if chosen in ("zh", "en"):
        session["lang"] = chosen
        return chosen
    return session.get("lang", "zh")
