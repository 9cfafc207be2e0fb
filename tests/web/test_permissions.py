"""Who may see and change what, page by page and call by call (role x scope), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.web.conftest import USERS, csrf

M = "?month=2025-03"
# (path, {user: expected status}); a user not named gets 403 (a page not theirs) unless "*" says otherwise.
PAGES = [
    ("/" + M, {"*": 200, "planner": 302}),  # a planner's home is the planning page
    ("/plans/", {"planner": 200, "admin": 200}),
    ("/plans/compare", {"planner": 200, "admin": 200}),
    ("/plans/scenarios/new?kind=kindergartens", {"planner": 200, "admin": 200}),
    ("/canteens/C01" + M, {"mgr-c01": 200, "mgr-hnu": 200, "fin-hnu": 200, "fin-all": 200, "admin": 200,
                            "planner": 403}),
    ("/canteens/C02" + M, {"mgr-c01": 404, "mgr-hnu": 200, "fin-hnu": 200, "fin-all": 200, "admin": 200,
                            "planner": 403}),
    ("/canteens/C04" + M, {"mgr-c01": 404, "mgr-hnu": 404, "fin-hnu": 404, "fin-all": 200, "admin": 200,
                            "planner": 403}),
    ("/canteens/NOPE" + M, {"mgr-c01": 404, "mgr-hnu": 404, "fin-hnu": 404, "fin-all": 404, "admin": 404,
                             "planner": 403}),
    ("/purchases/new", {"mgr-c01": 200, "mgr-hnu": 200, "admin": 200}),
    ("/import", {"mgr-c01": 200, "mgr-hnu": 200, "admin": 200}),
    ("/template.xlsx", {"*": 200}),
    ("/months", {"fin-all": 200, "admin": 200}),
    ("/reports", {"mgr-c01": 200, "mgr-hnu": 200, "fin-hnu": 200, "fin-all": 200, "admin": 200}),
    ("/audit", {"fin-all": 200, "admin": 200}),
    ("/admin/users", {"admin": 200}),
    ("/admin/master", {"admin": 200}),
]


def test_pages_by_role_and_scope(signed_in):
    wrong = []
    for name in USERS:
        client = signed_in(name)
        for path, expected in PAGES:
            status = client.get(path).status_code
            if status != expected.get(name, expected.get("*", 403)):
                wrong.append((name, path, status))
    assert not wrong


def test_a_page_needs_a_signed_in_user(app):
    client = app.test_client()
    for path in ["/", "/canteens/C01", "/import", "/months", "/reports", "/audit", "/admin/users"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_the_home_page_lists_only_the_users_canteens(signed_in):
    page = signed_in("mgr-c01").get("/" + M).text
    assert "C01" in page and "C02" not in page
    page = signed_in("fin-hnu").get("/" + M).text
    assert "C02" in page and "C04" not in page and "全省" not in page.split("<main>")[1]
    assert "全省" in signed_in("fin-all").get("/" + M).text


def _void(client, entry_id: int):
    page = client.get("/canteens/C01" + M).text
    return client.post(f"/entries/{entry_id}/void", data={"reason": "录错", "csrf_token": csrf(page)})


def test_void_only_ones_own_entries(signed_in, engine):
    from sqlalchemy import select

    import db
    from db.models import Canteen, Purchase

    with db.unit_of_work(engine) as uow:
        c01 = uow.session.scalar(select(Canteen.id).where(Canteen.code == "C01"))
        mine = uow.session.scalar(select(Purchase.id).where(Purchase.canteen_id == c01).limit(1))
        other = uow.session.scalar(select(Purchase.id).where(Purchase.canteen_id != c01).limit(1))
    assert _void(signed_in("mgr-c01"), other).status_code == 404
    assert _void(signed_in("fin-all"), mine).status_code == 403
    assert _void(signed_in("mgr-c01"), mine).status_code == 302
    with db.unit_of_work(engine) as uow:
        assert uow.session.scalar(select(Purchase.id).where(Purchase.reverses_id == mine)) is not None
        assert uow.session.scalar(select(Purchase.id).where(Purchase.reverses_id == other)) is None


API = [  # (method, path, json, {user: status})
    ("GET", "/api/v1/compliance" + M, None, {"mgr-c01": 200, "mgr-hnu": 200, "fin-hnu": 200, "fin-all": 200,
                                              "admin": 200, "planner": 403}),
    ("GET", "/api/v1/compliance" + M + "&institution=HKVC-S", None,
     {"mgr-c01": 403, "mgr-hnu": 403, "fin-hnu": 403, "fin-all": 200, "admin": 200, "planner": 403}),
    ("GET", "/api/v1/purchases" + M + "&canteen=C02", None,
     {"mgr-c01": 404, "mgr-hnu": 200, "fin-hnu": 200, "fin-all": 200, "admin": 200, "planner": 403}),
    ("POST", "/api/v1/months/2025-04/close", {}, {"mgr-c01": 403, "mgr-hnu": 403, "fin-hnu": 403, "planner": 403,
                                                   "fin-all": 200, "admin": 409}),
    ("GET", "/api/v1/reports/compliance" + M + "&institution=HNU-S&format=xlsx", None,
     {"mgr-c01": 403, "mgr-hnu": 200, "fin-hnu": 200, "fin-all": 200, "admin": 200, "planner": 403}),
]


def test_api_by_role_and_scope(app, token):
    client = app.test_client()
    tokens = {name: token(name) for name in ["mgr-c01", "mgr-hnu", "fin-hnu", "planner", "fin-all", "admin"]}
    wrong = []
    for method, path, body, expected in API:
        for name, secret in tokens.items():  # fin-all closes 2025-04 before admin tries: admin gets 409
            response = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {secret}"})
            if response.status_code != expected[name]:
                wrong.append((name, method, path, response.status_code, response.get_data(as_text=True)[:200]))
    assert not wrong


def test_api_needs_a_valid_token(app, token):
    client = app.test_client()
    assert client.get("/api/v1/compliance" + M).status_code == 401
    assert client.get("/api/v1/compliance" + M, headers={"Authorization": "Bearer fpn_wrong"}).status_code == 401
    old = token("mgr-c01")
    new = token("mgr-c01")
    assert client.get("/api/v1/compliance" + M, headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get("/api/v1/compliance" + M, headers={"Authorization": f"Bearer {new}"}).status_code == 200
