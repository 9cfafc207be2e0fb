"""The web application as an attacker tries it: CSRF, sessions, throttling, headers, uploads, escaping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select, text, update

import db
from accounts import services as accounts
from db.models import AuditEvent, Upload, User, WebSession
from tests.web.conftest import PASSWORD, csrf, sign_in
from web import create_app

M = "?month=2025-03"


def test_a_form_post_without_its_csrf_token_is_refused(app, signed_in):
    client = app.test_client()
    assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 400
    admin = signed_in("admin")
    assert admin.post("/logout").status_code == 400
    assert admin.post("/entries/1/void", data={"reason": "x"}).status_code == 400
    assert admin.post("/months/2025-03/close").status_code == 400
    assert admin.get("/").status_code == 200  # still signed in: nothing happened


def test_session_cookie_flags_and_a_new_session_at_sign_in(app, engine):
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("fupin_session").value
    response = sign_in(client, "mgr-c01")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get_cookie("fupin_session").value != before
    other = app.test_client()
    sign_in(other, "mgr-c01")
    with db.unit_of_work(engine) as uow:
        assert len(list(uow.session.scalars(select(WebSession.id_hash)))) == 2  # one per sign-in


def test_secure_cookie_over_tls(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("FUPIN_WEB_TLS", "1")
    flask_app = create_app(engine.url.render_as_string(hide_password=False), instance_path=tmp_path / "tls")
    assert flask_app.config["SESSION_COOKIE_SECURE"] is True
    flask_app.extensions["fupin_engine"].dispose()


def test_sign_out_ends_the_users_other_sessions(app, signed_in):
    first, second = signed_in("fin-all"), signed_in("fin-all")
    page = first.get("/").text
    assert first.post("/logout", data={"csrf_token": csrf(page)}).status_code == 302
    for client in (first, second):
        response = client.get("/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_password_change_ends_the_other_sessions_but_not_this_one(app, signed_in):
    here, elsewhere = signed_in("mgr-hnu"), signed_in("mgr-hnu")
    page = here.get("/password").text
    new = "a new long passphrase"
    response = here.post("/password", data={"current": PASSWORD, "new": new, "repeat": new,
                                            "csrf_token": csrf(page)})
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert sign_in(app.test_client(), "mgr-hnu", new).status_code == 302
    assert sign_in(app.test_client(), "mgr-hnu", PASSWORD).status_code == 401


def test_idle_and_absolute_timeouts(app, signed_in, engine):
    idle, old = signed_in("admin"), signed_in("fin-all")
    now = dt.datetime.now(dt.UTC)
    with db.unit_of_work(engine, write=True) as uow:
        admin = uow.session.scalar(select(User.id).where(User.name == "admin"))
        uow.session.execute(update(WebSession).where(WebSession.user_id == admin)
                            .values(last_seen=now - dt.timedelta(minutes=31)))
        uow.session.execute(update(WebSession).where(WebSession.user_id != admin)
                            .values(created_at=now - dt.timedelta(hours=13)))
        uow.commit()
    assert idle.get("/").status_code == 302 and old.get("/").status_code == 302


def test_the_eleventh_failure_in_15_minutes_answers_429_in_every_process(app, engine, tmp_path):
    client = app.test_client()
    for _ in range(10):
        assert sign_in(client, "fin-hnu", "wrong password!").status_code == 401
    assert sign_in(client, "fin-hnu", PASSWORD).status_code == 429  # even with the right password
    # Another server process on the same database sees the same count.
    other = create_app(engine.url.render_as_string(hide_password=False), instance_path=tmp_path / "second")
    assert sign_in(other.test_client(), "fin-hnu", PASSWORD).status_code == 429
    other.extensions["fupin_engine"].dispose()


def test_failures_are_counted_per_address_too(app):
    client = app.test_client()
    for i in range(10):
        assert sign_in(client, f"nobody{i}", "wrong password!").status_code == 401
    assert sign_in(client, "admin", PASSWORD).status_code == 429


def test_passwords_are_argon2id_and_an_unknown_name_costs_the_same_work(app, engine, monkeypatch):
    with db.unit_of_work(engine) as uow:
        assert uow.session.scalar(select(User.password_hash).where(User.name == "admin")).startswith("$argon2id$")
    checked = []
    real = accounts._HASHER

    class Spy:
        def verify(self, digest, password):
            checked.append(digest)
            return real.verify(digest, password)

    monkeypatch.setattr(accounts, "_HASHER", Spy())
    assert sign_in(app.test_client(), "no-such-user", "whatever pass").status_code == 401
    assert checked == [accounts._DUMMY]


def test_a_disabled_users_session_and_token_stop_at_once(app, signed_in, token, engine):
    client, secret = signed_in("mgr-c01"), token("mgr-c01")
    with db.unit_of_work(engine, write=True) as uow:
        accounts.disable_user(uow, "mgr-c01", "admin")
    assert client.get("/").status_code == 302
    assert app.test_client().get("/api/v1/compliance" + M,
                                 headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_headers_forbid_framing_and_inline_scripts(app, signed_in):
    response = signed_in("admin").get("/" + M)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script" not in response.text and " style=" not in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_what_users_typed_is_shown_as_text(app, signed_in, engine):
    with db.unit_of_work(engine, write=True) as uow:
        uow.session.execute(text("UPDATE canteens SET name = '<script>alert(1)</script>' WHERE code = 'C01'"))
        uow.commit()
    page = signed_in("admin").get("/canteens/C01" + M).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_no_open_redirect_after_sign_in(app):
    client = app.test_client()
    page = client.get("/login?next=//evil.example/x").text
    response = client.post("/login?next=//evil.example/x",
                           data={"username": "admin", "password": PASSWORD, "csrf_token": csrf(page)})
    assert response.headers["Location"] == "/"


def _upload(client, name: str, data: bytes):
    import io

    page = client.get("/import").text
    return client.post("/import", data={"file": (io.BytesIO(data), name), "csrf_token": csrf(page)},
                       content_type="multipart/form-data")


def test_uploads_are_checked_by_content_and_stored_under_random_names(app, signed_in, engine):
    client = signed_in("mgr-c01")
    assert _upload(client, "p.csv", b"\x00\x01binary").status_code == 400
    assert _upload(client, "p.xlsx", b"PK\x03\x04not really a workbook").status_code == 400
    assert _upload(client, "p.exe", b"date,canteen\n").status_code == 422
    assert _upload(client, "../../etc/passwd.csv", "date,canteen\n2025-03-01,C01\n".encode()).status_code == 302
    with db.unit_of_work(engine) as uow:
        row = uow.session.scalar(select(Upload))
    assert row.original_name.endswith("passwd.csv") and row.stored_as != row.original_name
    assert [p.name for p in (Path(app.instance_path) / "uploads").iterdir()] == [row.stored_as]


def test_an_upload_over_10_mb_answers_413(app, signed_in):
    assert _upload(signed_in("mgr-c01"), "big.csv", b"a" * (10 * 1024 * 1024 + 1)).status_code == 413


def test_writes_are_audited_under_the_signed_in_user(app, signed_in, engine):
    client = signed_in("fin-all")
    page = client.get("/months").text
    assert client.post("/months/2025-03/close", data={"csrf_token": csrf(page)}).status_code == 302
    with db.unit_of_work(engine) as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "close"))
    assert event.actor == "fin-all"
