"""The accounts' use cases: each takes an open unit of work and commits its own writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from common.cells import check_text, clean_text
from common.errors import FupinError
from db import UnitOfWork
from db.models import Canteen, Institution, LoginFailure, User, UserScope, WebSession, as_utc, utcnow
from procure import audit

from .access import Access, Role, access_of

_HASHER = PasswordHasher()  # argon2id with the library's recommended cost
# Checked against when the name is unknown, so an unknown name costs the same work as a known one.
_DUMMY = _HASHER.hash("fupin-no-such-user")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class WebSettings:
    """The web application's defaults; the app factory may override them (tests do)."""

    idle_minutes: int = 30
    absolute_hours: int = 12
    failures_allowed: int = 10  # the next failure within the window answers 429
    failure_window_minutes: int = 15
    upload_max_bytes: int = 10 * 1024 * 1024


SETTINGS = WebSettings()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_password(password: str, name: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise FupinError(f"the password needs at least {MIN_PASSWORD} characters")
    if password.strip().lower() == name.lower():
        raise FupinError("the password may not be the user name")


def _user(uow: UnitOfWork, name: str) -> User:
    user = uow.session.scalar(select(User).where(User.name == name))
    if user is None:
        raise FupinError(f"no user '{name}': see `fupin user list`")
    return user


def add_user(uow: UnitOfWork, name: str, role: str, password: str, canteens: list[str], institutions: list[str],
             actor: str) -> User:
    """A new user with a role and, for managers and finance, the canteens or institutions that are theirs."""
    try:
        name = check_text(clean_text(name), 64)
    except ValueError as exc:
        raise FupinError(f"user name {exc}") from None
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise FupinError(f"user name '{name}': use letters, digits, '-', '_' or '.'")
    role = Role(role)
    if uow.session.scalar(select(User.id).where(User.name == name)) is not None:
        raise FupinError(f"user '{name}' exists already")
    if role == Role.MANAGER and not (canteens or institutions):
        raise FupinError("a manager needs --canteen CODE or --institution CODE (what is theirs)")
    if role == Role.FINANCE and canteens:
        raise FupinError("finance sees institutions (--institution CODE) or, with none, the province")
    if role in (Role.PLANNER, Role.ADMIN) and (canteens or institutions):
        raise FupinError(f"a {role} has no canteen or institution scope")
    _check_password(password, name)
    user = User(name=name, role=role.value, password_hash=_HASHER.hash(password), disabled=False)
    for code in canteens:
        cid = uow.session.scalar(select(Canteen.id).where(Canteen.code == code))
        if cid is None:
            raise FupinError(f"unknown canteen '{code}': see `fupin procure list canteens`")
        user.scopes.append(UserScope(canteen_id=cid))
    for code in institutions:
        iid = uow.session.scalar(select(Institution.id).where(Institution.code == code))
        if iid is None:
            raise FupinError(f"unknown institution '{code}': see `fupin procure list institutions`")
        user.scopes.append(UserScope(institution_id=iid))
    uow.session.add(user)
    uow.session.flush()
    audit.record(uow.session, actor, "add", "user", name,
                 {"role": role.value, "canteens": canteens, "institutions": institutions})
    uow.commit()
    return user


@dataclass(frozen=True)
class UserLine:
    name: str
    role: str
    scope: str
    disabled: bool
    has_token: bool


def list_users(uow: UnitOfWork) -> list[UserLine]:
    out = []
    for user in uow.session.scalars(select(User).order_by(User.name)):
        codes = [uow.session.get(Canteen, s.canteen_id).code if s.canteen_id else
                 uow.session.get(Institution, s.institution_id).code + " (all canteens)" for s in user.scopes]
        scope = ", ".join(codes) or ("province" if user.role in ("finance", "admin") else "—")
        out.append(UserLine(user.name, user.role, scope, user.disabled, user.token_hash is not None))
    return out


def disable_user(uow: UnitOfWork, name: str, actor: str) -> None:
    """The user's sessions and token stop working at once."""
    user = _user(uow, name)
    user.disabled = True
    user.token_hash = None
    uow.session.execute(update(WebSession).where(WebSession.user_id == user.id).values(ended=True))
    audit.record(uow.session, actor, "disable", "user", name)
    uow.commit()


def set_password(uow: UnitOfWork, name: str, password: str, actor: str, keep_session: str | None = None) -> None:
    """A new password ends every session of the user but the one given (the browser that changed it)."""
    user = _user(uow, name)
    _check_password(password, name)
    user.password_hash = _HASHER.hash(password)
    q = update(WebSession).where(WebSession.user_id == user.id)
    if keep_session:
        q = q.where(WebSession.id_hash != _digest(keep_session))
    uow.session.execute(q.values(ended=True))
    audit.record(uow.session, actor, "password", "user", name)
    uow.commit()


def new_token(uow: UnitOfWork, name: str, actor: str) -> str:
    """A new API token (returned once; only its hash is kept); any earlier token stops working."""
    user = _user(uow, name)
    if user.disabled:
        raise FupinError(f"user '{name}' is disabled")
    token = "fpn_" + secrets.token_urlsafe(32)
    user.token_hash = _digest(token)
    audit.record(uow.session, actor, "token", "user", name)
    uow.commit()
    return token


def revoke_token(uow: UnitOfWork, name: str, actor: str) -> None:
    user = _user(uow, name)
    user.token_hash = None
    audit.record(uow.session, actor, "revoke_token", "user", name)
    uow.commit()


class TooManyFailures(FupinError):
    """Sign-in refused before the password is looked at: too many recent failures."""


def verify_password(uow: UnitOfWork, name: str, password: str, address: str,
                    settings: WebSettings = SETTINGS) -> User | None:
    """The user, for the right password of an active user; None (and the failure counted) otherwise.
    Raises TooManyFailures, before looking at the password, after too many recent failures."""
    since = utcnow() - dt.timedelta(minutes=settings.failure_window_minutes)
    name = clean_text(name)[:64]
    address = (address or "unknown")[:64]
    for column, value in ((LoginFailure.name, name), (LoginFailure.address, address)):
        failures = uow.session.scalar(select(func.count(LoginFailure.id)).where(column == value, LoginFailure.at >= since))
        if failures >= settings.failures_allowed:
            raise TooManyFailures(f"too many failed sign-ins; try again in {settings.failure_window_minutes} minutes")
    user = uow.session.scalar(select(User).where(User.name == name))
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY, password)
        ok = user is not None and not user.disabled
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        uow.session.add(LoginFailure(name=name, address=address))
        uow.commit()
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return user


def sign_in(uow: UnitOfWork, name: str, password: str, address: str,
            settings: WebSettings = SETTINGS) -> tuple[User, str] | None:
    """(user, new session id) for the right password; None (and the failure counted) otherwise."""
    user = verify_password(uow, name, password, address, settings)
    if user is None:
        return None
    session_id = secrets.token_urlsafe(32)
    uow.session.add(WebSession(id_hash=_digest(session_id), user_id=user.id))
    since = utcnow() - dt.timedelta(minutes=settings.failure_window_minutes)
    uow.session.execute(delete(LoginFailure).where(LoginFailure.at < since))  # failures past the window count no more
    uow.commit()
    return user, session_id


def session_user(uow: UnitOfWork, session_id: str, settings: WebSettings = SETTINGS) -> Access | None:
    """The signed-in user of a browser session, unless it ended, idled out, aged out or the user is disabled.

    Called on every page, so it reads in a plain (not a writer's) transaction and notes the visit only
    every few minutes, best effort: a page must not wait for a long import to finish writing."""
    row = uow.session.scalar(select(WebSession).where(WebSession.id_hash == _digest(session_id)))
    if row is None or row.ended:
        return None
    now = utcnow()
    created, seen = as_utc(row.created_at), as_utc(row.last_seen)
    user = uow.session.get(User, row.user_id)
    if (user is None or user.disabled or now - seen > dt.timedelta(minutes=settings.idle_minutes)
            or now - created > dt.timedelta(hours=settings.absolute_hours)):
        _note(uow, row, ended=True)
        return None
    access = access_of(uow.session, user)
    if now - seen > dt.timedelta(minutes=TOUCH_MINUTES):
        _note(uow, row, last_seen=now)
    return access


TOUCH_MINUTES = 2


def _note(uow: UnitOfWork, row: WebSession, **values) -> None:
    """Record a session's end or last visit if the database lets us now; the checks above do not depend on it."""
    try:
        for key, value in values.items():
            setattr(row, key, value)
        uow.commit()
    except SQLAlchemyError:
        uow.session.rollback()


def sign_out(uow: UnitOfWork, session_id: str, everywhere: bool = True) -> None:
    """End this browser's session and, by default, the user's other sessions too."""
    row = uow.session.scalar(select(WebSession).where(WebSession.id_hash == _digest(session_id)))
    if row is None:
        return
    q = update(WebSession).where(WebSession.user_id == row.user_id) if everywhere else \
        update(WebSession).where(WebSession.id == row.id)
    uow.session.execute(q.values(ended=True))
    uow.commit()


def token_user(uow: UnitOfWork, token: str) -> Access | None:
    """The user of an API token; None for an unknown token or a disabled user."""
    if not token:
        return None
    user = uow.session.scalar(select(User).where(User.token_hash == _digest(token)))
    if user is None or user.disabled:
        return None
    return access_of(uow.session, user)


def access_for(uow: UnitOfWork, name: str) -> Access:
    return access_of(uow.session, _user(uow, name))
