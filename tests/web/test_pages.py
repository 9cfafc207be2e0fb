"""What a canteen manager does in the browser, through Flask's test client."""

from __future__ import annotations

import io

from sqlalchemy import func, select

import db
from db.models import Purchase
from tests.web.conftest import csrf

HEADER = "日期,食堂,供应商,品类,品名,数量,单位,金额,单号\n"


def _count(engine) -> int:
    with db.unit_of_work(engine) as uow:
        return uow.session.scalar(select(func.count(Purchase.id)))


def test_add_a_purchase_with_the_same_rules_as_the_command_line(signed_in, engine):
    client = signed_in("mgr-c01")
    page = client.get("/purchases/new").text
    form = {"date": "2025-04-03", "canteen": "C01", "supplier": "S07", "category": "VEG", "product": "青菜",
            "quantity": "60", "unit": "斤", "amount": "150", "ref": "WEB-1", "line": "1", "note": "",
            "csrf_token": csrf(page)}
    bad = client.post("/purchases/new", data={**form, "quantity": "-5"})
    assert bad.status_code == 422 and "must be greater than 0" in bad.text
    before = _count(engine)
    added = client.post("/purchases/new", data=form)
    assert added.status_code == 302 and "/canteens/C01?month=2025-04" in added.headers["Location"]
    assert _count(engine) == before + 1
    again = client.post("/purchases/new", data=form, follow_redirects=True)
    assert "WEB-1" in again.text and _count(engine) == before + 1


def _upload(client, name: str, text: str):
    page = client.get("/import").text
    return client.post("/import", data={"file": (io.BytesIO(text.encode("utf-8")), name), "csrf_token": csrf(page)},
                       content_type="multipart/form-data")


def test_import_in_two_steps(signed_in, engine):
    client = signed_in("mgr-hnu")
    body = HEADER + "2025-04-05,C01,S06,VEG,青菜,100,斤,300,IMP-1\n2025-04-05,C02,S09,VEG,白菜,50,kg,100,IMP-2\n"
    checked = client.get(_upload(client, "采购.csv", body).headers["Location"])
    assert checked.status_code == 200 and "2" in checked.text and "confirm" in checked.text
    before = _count(engine)
    confirm = client.post(checked.request.path + "/confirm", data={"csrf_token": csrf(checked.text)})
    assert confirm.status_code == 302 and _count(engine) == before + 2
    seen = client.get(_upload(client, "again.csv", body).headers["Location"])
    assert "batch" in seen.text or "批次" in seen.text


def test_a_bad_file_shows_every_bad_row_and_writes_nothing(signed_in, engine):
    client = signed_in("mgr-hnu")
    body = HEADER + "2025-02-30,C01,S06,VEG,青菜,100,斤,300,B-1\n2025-04-05,C01,S06,VEG,青菜,-1,斤,1元2,B-2\n"
    checked = client.get(_upload(client, "bad.csv", body).headers["Location"])
    assert checked.status_code == 422
    assert "A (日期)" in checked.text and "F (数量)" in checked.text and "H (金额)" in checked.text
    assert 'id="confirm"' not in checked.text


def test_a_file_with_another_canteens_line_is_refused_whole(signed_in, engine):
    client = signed_in("mgr-c01")
    body = HEADER + "2025-04-05,C01,S06,VEG,青菜,100,斤,300,S-1\n2025-04-05,C04,S06,VEG,青菜,100,斤,300,S-2\n"
    before = _count(engine)
    checked = client.get(_upload(client, "scope.csv", body).headers["Location"])
    assert checked.status_code == 403 and "not one of yours" in checked.text and "C04" in checked.text
    confirm = client.post(checked.request.path + "/confirm", data={"csrf_token": csrf(checked.text)})
    assert confirm.status_code == 302 and _count(engine) == before


def test_another_users_upload_is_not_found(signed_in):
    owner = signed_in("mgr-hnu")
    location = _upload(owner, "mine.csv", HEADER + "2025-04-05,C01,S06,VEG,青菜,1,斤,3,X-1\n").headers["Location"]
    assert signed_in("admin").get(location).status_code == 404


def test_finance_issues_and_downloads_a_report(signed_in):
    client = signed_in("fin-hnu")
    page = client.get("/reports").text
    issued = client.post("/reports", data={"month": "2025-03", "institution": "HNU-S", "format": "pdf",
                                           "lang": "zh", "csrf_token": csrf(page)}, follow_redirects=True)
    assert issued.status_code == 200 and "/download" in issued.text
    link = issued.text.split('href="/reports/')[1].split('"')[0]
    pdf = client.get("/reports/" + link)
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    assert signed_in("mgr-c01").get("/reports/" + link).status_code == 404  # not all of HNU-S is theirs
    refused = client.post("/reports", data={"month": "2025-03", "institution": "province", "format": "pdf",
                                            "lang": "zh", "csrf_token": csrf(page)})
    assert refused.status_code == 403


def test_english_on_request(signed_in):
    client = signed_in("admin")
    assert "Your canteens" in client.get("/?lang=en&month=2025-03").text
    assert "Your canteens" in client.get("/?month=2025-03").text  # the choice is kept
