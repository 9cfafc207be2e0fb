"""A fresh application and database per test (SQLite, and PostgreSQL where one listens), the sample's
master data and March 2025 purchases, and one user of each kind."""

from __future__ import annotations

import re

import pytest

import db
from accounts import services as accounts
from accounts.services import WebSettings
from procure import ledger
from tests.conftest import SAMPLE, load_masters
from web import create_app

PASSWORD = "correct horse battery"
# name: (role, canteens, institutions)
USERS = {
    "mgr-c01": ("manager", ["C01"], []),  # one canteen (e.g. an outsourced canteen's contractor)
    "mgr-hnu": ("manager", [], ["HNU-S"]),  # every canteen of one institution
    "fin-hnu": ("finance", [], ["HNU-S"]),
    "fin-all": ("finance", [], []),  # the province
    "planner": ("planner", [], []),
    "admin": ("admin", [], []),
}


@pytest.fixture
def app(engine, tmp_path):
    load_masters(engine)
    march = tmp_path / "march.csv"
    lines = (SAMPLE / "purchases_2025_synthetic.csv").read_text(encoding="utf-8").splitlines()
    march.write_text("\n".join([lines[0], *[x for x in lines[1:] if x.startswith("2025-03")][:600]]) + "\n",
                     encoding="utf-8")
    with db.unit_of_work(engine, write=True) as uow:
        ledger.import_purchases(uow.session, march, "setup")
        uow.commit()
    with db.unit_of_work(engine, write=True) as uow:
        for name, (role, canteens, institutions) in USERS.items():
            accounts.add_user(uow, name, role, PASSWORD, canteens, institutions, "setup")
    flask_app = create_app(engine.url.render_as_string(hide_password=False), instance_path=tmp_path / "instance",
                           settings=WebSettings(), testing=True)
    yield flask_app
    flask_app.extensions["fupin_engine"].dispose()


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client, name: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": name, "password": password, "csrf_token": csrf(page.text)})


@pytest.fixture
def signed_in(app):
    """A test client signed in as `name`."""
    def make(name: str):
        client = app.test_client()
        response = sign_in(client, name)
        assert response.status_code == 302, response.text
        return client
    return make


@pytest.fixture
def token(app, engine):
    def make(name: str) -> str:
        with db.unit_of_work(engine, write=True) as uow:
            return accounts.new_token(uow, name, "setup")
    return make
