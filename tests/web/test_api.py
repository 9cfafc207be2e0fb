"""The JSON API does what the command line does, with the same figures and the same refusals."""

from __future__ import annotations

import csv
import io

from click.testing import CliRunner
from sqlalchemy import func, select

import db
from cli import cli
from db.models import Purchase

M = "?month=2025-03"
LINE = {"date": "2025-04-02", "canteen": "C01", "supplier": "S06", "category": "VEG", "product": "青菜",
        "quantity": "60", "unit": "斤", "amount": "¥150", "ref": "API-1"}


def _count(engine) -> int:
    with db.unit_of_work(engine) as uow:
        return uow.session.scalar(select(func.count(Purchase.id)))


def test_compliance_has_the_csvs_columns_and_values(app, token, engine):
    rows = app.test_client().get("/api/v1/compliance" + M,
                                 headers={"Authorization": f"Bearer {token('fin-all')}"}).json["rows"]
    out = CliRunner().invoke(cli, ["--db", engine.url.render_as_string(hide_password=False), "procure",
                                   "compliance", "--month", "2025-03", "--format", "csv"]).output
    assert rows == list(csv.DictReader(io.StringIO(out)))
    mine = app.test_client().get("/api/v1/compliance" + M,
                                 headers={"Authorization": f"Bearer {token('mgr-c01')}"}).json["rows"]
    assert [r["canteen"] for r in mine] == ["C01"]


def test_posting_lines(app, token, engine):
    client, auth = app.test_client(), {"Authorization": f"Bearer {token('mgr-hnu')}"}
    before = _count(engine)
    dry = client.post("/api/v1/purchases", json={"lines": [LINE], "dry_run": True}, headers=auth)
    assert dry.status_code == 200 and dry.json["added"] == 1 and _count(engine) == before
    added = client.post("/api/v1/purchases", json={"lines": [LINE, {**LINE, "ref": "API-2"}]}, headers=auth)
    assert added.status_code == 201 and added.json["added"] == 2 and len(added.json["ids"]) == 2
    again = client.post("/api/v1/purchases", json={"lines": [LINE]}, headers=auth)
    assert again.status_code == 200 and again.json == {"added": 0, "already_present": 1, "ids": [], "dry_run": False}
    bad = client.post("/api/v1/purchases", json={"lines": [{**LINE, "ref": "API-3"}, {**LINE, "amount": "1元2",
                                                                                        "ref": "API-4"}]},
                      headers=auth)
    assert bad.status_code == 422 and bad.json["errors"][0]["row"] == 2 and bad.json["errors"][0]["column"] == "amount"
    foreign = client.post("/api/v1/purchases", json={"lines": [{**LINE, "canteen": "C04", "ref": "API-5"}]},
                          headers=auth)
    assert foreign.status_code == 403
    assert _count(engine) == before + 2


def test_a_closed_month_refuses_lines(app, token, engine):
    client = app.test_client()
    closed = client.post("/api/v1/months/2025-04/close", headers={"Authorization": f"Bearer {token('fin-all')}"})
    assert closed.status_code == 200
    response = client.post("/api/v1/purchases", json={"lines": [LINE]},
                           headers={"Authorization": f"Bearer {token('mgr-c01')}"})
    assert response.status_code == 422 and "closed" in response.json["errors"][0]["message"]
    reopened = client.post("/api/v1/months/2025-04/reopen", json={},
                           headers={"Authorization": f"Bearer {token('fin-all')}"})
    assert reopened.status_code == 422  # a reason is required


def test_listing_and_voiding(app, token):
    client, auth = app.test_client(), {"Authorization": f"Bearer {token('mgr-c01')}"}
    entries = client.get("/api/v1/purchases" + M + "&canteen=C01", headers=auth).json["entries"]
    assert entries and {"id", "kg", "amount", "poverty_alleviation"} <= set(entries[0])
    first = entries[0]["id"]
    assert client.post(f"/api/v1/entries/{first}/void", json={}, headers=auth).status_code == 422
    voided = client.post(f"/api/v1/entries/{first}/void", json={"reason": "录错"}, headers=auth)
    assert voided.status_code == 200 and voided.json["voided"] == first
    assert client.post(f"/api/v1/entries/{first}/void", json={"reason": "again"}, headers=auth).status_code == 409


def test_the_report_is_the_registered_file(app, token):
    response = app.test_client().get("/api/v1/reports/compliance" + M + "&institution=HNU-S&format=pdf",
                                     headers={"Authorization": f"Bearer {token('fin-hnu')}"})
    assert response.status_code == 200 and response.data[:5] == b"%PDF-"
    assert response.headers["X-Fupin-Report-No"].isdigit() and len(response.headers["X-Fupin-Fingerprint"]) == 64


def test_a_body_that_is_not_lines_is_refused(app, token):
    client, auth = app.test_client(), {"Authorization": f"Bearer {token('mgr-c01')}"}
    assert client.post("/api/v1/purchases", data="not json", headers=auth).status_code == 422
    assert client.post("/api/v1/purchases", json={"lines": "x"}, headers=auth).status_code == 422
    bad = client.post("/api/v1/purchases", json={"lines": [{**LINE, "quantity": [1]}]}, headers=auth)
    assert bad.status_code == 422 and bad.json["errors"][0]["column"] == "quantity"
