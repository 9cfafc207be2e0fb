"""The planners' pages: permissions, data sets, scenarios, runs as jobs, results, downloads, compare."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml

import db
from commands.worker import writers
from planners.worker import serve
from tests.web.conftest import csrf

ROOT = Path(__file__).resolve().parents[2]
KG = ROOT / "data" / "kindergartens"
PLANNING = ROOT / "data" / "planning"


def upload(client, name: str, files: list[tuple[bytes, str]]):
    page = client.get("/plans/")
    data = {"name": name, "csrf_token": csrf(page.text),
            "files": [(io.BytesIO(content), file_name) for content, file_name in files]}
    return client.post("/plans/datasets", data=data, content_type="multipart/form-data")


def sample(folder: Path, names) -> list[tuple[bytes, str]]:
    return [((folder / n).read_bytes(), n) for n in names]


def start(client, **fields):
    page = client.get("/plans/")
    data = {"csrf_token": csrf(page.text), "solver": "highs", "time_limit": "5", "lang": "en", **fields}
    return client.post("/plans/runs", data=data)


def work(app) -> int:
    """Run every queued job with the worker's own code (a child process per job)."""
    return serve(app.extensions["fupin_engine"], Path(app.instance_path), writers(), once=True, say=lambda _: None)


@pytest.mark.parametrize("who", ["mgr-c01", "mgr-hnu", "fin-hnu", "fin-all"])
def test_managers_and_finance_cannot_see_or_run_plans(signed_in, who):
    client = signed_in(who)
    for path in ("/plans/", "/plans/runs/1", "/plans/compare", "/plans/scenarios/new?kind=allocation",
                 "/plans/scenarios/1.yaml", "/plans/runs/1/files/summary.json", "/plans/runs/1/counties/BT"):
        assert client.get(path).status_code == 403, path
    token = csrf(client.get("/").text)
    for path in ("/plans/datasets", "/plans/runs", "/plans/runs/1/cancel", "/plans/scenarios/new"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
    assert "/plans/" not in client.get("/").text


def test_signed_out_users_are_sent_to_sign_in(app):
    assert app.test_client().get("/plans/").status_code == 302


def test_a_planner_lands_on_the_plans(signed_in):
    client = signed_in("planner")
    assert client.get("/").headers["Location"].endswith("/plans/")
    assert client.get("/plans/").status_code == 200


def test_a_data_set_is_checked_stored_once_and_versioned(signed_in, app):
    client = signed_in("planner")
    first = upload(client, "全省", sample(KG, ["townships.csv", "villages.csv", "counties.csv"]))
    assert first.status_code == 302
    page = client.get("/plans/").text
    assert "全省" in page and "19 counties, 206 townships, 2506 villages" in page
    again = upload(client, "全省", sample(KG, ["townships.csv", "villages.csv", "counties.csv"]))
    assert again.status_code == 302
    assert "未重复保存" in client.get("/plans/").text  # the flash, in the language it was made in
    changed = (KG / "villages.csv").read_text(encoding="utf-8").replace(",46,yes,90,yes", ",47,yes,90,yes", 1)
    third = upload(client, "全省", [(changed.encode(), "villages.csv"), *sample(KG, ["townships.csv"])])
    assert third.status_code == 302
    kept = client.get("/plans/datasets/2/files/villages.csv")
    assert kept.status_code == 200 and kept.data == changed.encode()
    assert client.get("/plans/datasets/2/files/counties.csv").status_code == 404  # not in version 2
    assert client.get("/plans/datasets/1/files/..%2F..%2Fsecret_key").status_code == 404
    stored = sorted(p.name for p in (Path(app.instance_path) / "datasets").iterdir())
    assert len(stored) == 2 and not [n for n in stored if n.startswith(".")]
    with db.unit_of_work(app.extensions["fupin_engine"]) as unit:
        from db.models import PlanDataSet
        versions = sorted((d.name, d.version) for d in unit.session.query(PlanDataSet))
    assert versions == [("全省", 1), ("全省", 2)]


def test_every_problem_of_every_file_is_shown_and_nothing_is_stored(signed_in, app):
    client = signed_in("planner")
    counties = (PLANNING / "counties.csv").read_text(encoding="utf-8").splitlines()
    counties[2] = counties[2].split(",")[0] + ",,national,10"  # no name
    needs = (PLANNING / "teacher_needs.csv").read_text(encoding="utf-8").splitlines()
    needs[3] = needs[3].rsplit(",", 1)[0] + ",-4"
    response = upload(client, "bad", [("\n".join(counties).encode(), "counties.csv"),
                                      ("\n".join(needs).encode(), "teacher_needs.csv")])
    assert response.status_code == 422
    text = response.text
    assert "counties.csv" in text and "row 3" in text and "teacher_needs.csv" in text and "row 4" in text
    assert not list((Path(app.instance_path) / "datasets").iterdir())


@pytest.mark.parametrize("files, words", [
    ([(b"x", "notes.txt")], "not a planning input file"),
    ([(b"code,name\n", "townships.csv"), (b"code\n", "teacher_needs.csv")], "two data sets"),
    ([(b"not a zip", "data.zip")], "not a ZIP archive"),
    ([(b"a,b\n", "counties.xlsx")], "not an XLSX workbook"),
    ([(b"a,b\n", "counties.csv"), (b"PK\x03\x04", "counties.xlsx")], "given twice"),
])
def test_wrong_uploads_are_refused_in_words(signed_in, files, words):
    response = upload(signed_in("planner"), "x", files)
    assert response.status_code == 422 and words in response.text


def test_a_zip_is_read_by_file_names_only(signed_in, app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../etc/townships.csv", (KG / "townships.csv").read_bytes())
        archive.writestr("folder\\villages.csv", (KG / "villages.csv").read_bytes())
    response = upload(signed_in("planner"), "zipped", [(buffer.getvalue(), "kg.zip")])
    assert response.status_code == 302
    (folder,) = (Path(app.instance_path) / "datasets").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["townships.csv", "villages.csv"]
    assert not (Path(app.instance_path).parent / "etc").exists()


def test_a_scenario_from_the_form_is_the_yaml_the_cli_reads(signed_in):
    client = signed_in("planner")
    form = client.get("/plans/scenarios/new?kind=allocation")
    assert form.status_code == 200 and "poverty_floor" in form.text and "400" in form.text
    bad = client.post("/plans/scenarios/new", data={"csrf_token": csrf(form.text), "kind": "allocation",
                                                    "name": "x", "total_posts": "many", "weights.national": "0"})
    assert bad.status_code == 422 and "total_posts" in bad.text and "weights" in bad.text
    values = {"csrf_token": csrf(form.text), "kind": "allocation", "name": "floor-20", "description": "",
              "total_posts": "400", "poverty_floor": "20", "weights.national": "1", "weights.provincial": "1",
              "weights.none": "1", "annual_intake.primary": "200", "annual_intake.preschool": "100",
              "years_of_study.primary": "4", "years_of_study.preschool": "3", "intake_years": "2018, 2019, 2020",
              "surplus_penalty": "10"}
    assert client.post("/plans/scenarios/new", data=values).status_code == 302
    text = client.get("/plans/scenarios/1.yaml").data.decode()
    doc = yaml.safe_load(text)
    assert doc["poverty_floor"] == 20 and doc["weights"] == {"national": 1, "provincial": 1, "none": 1}
    again = client.get("/plans/scenarios/new?kind=allocation&from=1")
    assert 'value="floor-20"' in again.text and 'name="from" value="1"' in again.text


def test_a_scenario_name_is_shown_inert(signed_in):
    client = signed_in("planner")
    form = client.get("/plans/scenarios/new?kind=kindergartens")
    values = {"csrf_token": csrf(form.text), "kind": "kindergartens", "name": "<script>alert(1)</script>"}
    from planning.scenarios import form_values
    values.update({k: v for k, v in form_values("kindergartens").items() if k != "name"})
    assert client.post("/plans/scenarios/new", data=values).status_code == 302
    page = client.get("/plans/").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_a_kindergarten_run_from_upload_to_map_and_files(signed_in, app):
    client = signed_in("planner")
    upload(client, "sample", sample(KG, ["townships.csv", "villages.csv", "counties.csv"]))
    response = start(client, model="kindergartens", dataset="1", county=["BT", "WZS"])
    assert response.status_code == 302 and response.headers["Location"].endswith("/plans/runs/1")
    queued = client.get("/plans/runs/1")
    assert "queued" in client.get("/plans/runs/1?lang=en").text and 'http-equiv="refresh"' in queued.text
    assert work(app) == 1
    page = client.get("/plans/runs/1?lang=en").text
    assert "finished" in page and 'http-equiv="refresh"' not in page
    assert "BT" in page and "WZS" in page and "both stages proven" in page
    summary = json.loads(client.get("/plans/runs/1/files/summary.json").data)
    assert sorted(summary["counties"]) == ["BT", "WZS"]
    for name in ("sites.csv", "assignments.csv", "report.pdf"):
        assert client.get(f"/plans/runs/1/files/{name}").status_code == 200
    assert client.get("/plans/runs/1/files/report.pdf").data.startswith(b"%PDF")
    for wrong in ("../summary.json", "..%2Fsecret_key", "allocation.csv", "secret_key"):
        assert client.get(f"/plans/runs/1/files/{wrong}").status_code == 404, wrong
    county = client.get("/plans/runs/1/counties/BT?lang=en")
    assert county.status_code == 200 and "<svg" in county.text and "Actions and costs" in county.text
    assert client.get("/plans/runs/1/counties/HK").status_code == 404
    start(client, model="kindergartens", dataset="1", county=["BT"])
    assert work(app) == 1
    compared = client.get("/plans/compare?a=1&b=2&lang=en")
    assert compared.status_code == 200 and "Children-km A" in compared.text and "WZS" in compared.text


def test_a_run_outside_the_data_set_or_with_bad_numbers_is_refused(signed_in):
    client = signed_in("planner")
    upload(client, "sample", sample(KG, ["townships.csv", "villages.csv"]))
    wrong = start(client, model="kindergartens", dataset="1", county=["XX"])
    assert wrong.status_code == 422 and "XX" in wrong.text
    assert start(client, model="teachers", dataset="1").status_code == 422
    assert start(client, model="kindergartens", dataset="1", time_limit="-1").status_code == 422
    assert start(client, model="kindergartens", dataset="1", time_limit="soon").status_code == 400
    assert start(client, model="kindergartens", dataset="9").status_code == 404


def test_a_queued_run_can_be_cancelled_by_its_planner(signed_in, app):
    client = signed_in("planner")
    upload(client, "sample", sample(KG, ["townships.csv", "villages.csv"]))
    start(client, model="kindergartens", dataset="1", county=["BT"])
    token = csrf(client.get("/plans/runs/1").text)
    assert signed_in("admin").post("/plans/runs/1/cancel", data={"csrf_token": token}).status_code in (302, 400)
    response = client.post("/plans/runs/1/cancel", data={"csrf_token": token})
    assert response.status_code == 302
    assert "cancelled" in client.get("/plans/runs/1?lang=en").text
    assert work(app) == 0


def test_teacher_runs_are_the_cli_s_runs_and_compare(signed_in, app, tmp_path):
    from click.testing import CliRunner

    from cli import cli

    client = signed_in("planner")
    upload(client, "planning", sample(PLANNING, ["counties.csv", "teacher_needs.csv"]))
    form = client.get("/plans/scenarios/new?kind=allocation")
    scenario = yaml.safe_load((PLANNING / "scenario_floor.yaml").read_text(encoding="utf-8"))
    from planning.inputs import Scenario
    from planning.scenarios import form_values
    values = form_values("allocation", Scenario.from_dict(scenario))
    client.post("/plans/scenarios/new", data={"csrf_token": csrf(form.text), "kind": "allocation", **values})
    start(client, model="teachers", dataset="1")
    start(client, model="teachers", dataset="1", scenario="1")
    assert work(app) == 2
    result = CliRunner().invoke(cli, ["plan", "teachers", "--data", str(PLANNING), "--scenario",
                                      str(PLANNING / "scenario_floor.yaml"), "--lang", "en", "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    web_csv = client.get("/plans/runs/2/files/allocation.csv").data.decode("utf-8")
    assert web_csv == (tmp_path / "cli" / "allocation.csv").read_text(encoding="utf-8")
    timing = ("seconds", "first_solve_seconds")
    web_summary = {k: v for k, v in json.loads(client.get("/plans/runs/2/files/summary.json").data).items() if k not in timing}
    cli_summary = {k: v for k, v in json.loads((tmp_path / "cli" / "summary.json").read_text()).items() if k not in timing}
    assert web_summary == cli_summary
    page = client.get("/plans/runs/2?lang=en")
    assert "Allocation by county" in page.text and "chart.png" in page.text
    chart = client.get("/plans/runs/2/chart.png")
    assert chart.status_code == 200 and chart.data.startswith(b"\x89PNG")
    compared = client.get("/plans/compare?a=1&b=2&lang=en")
    assert compared.status_code == 200 and "compare-table" in compared.text
    assert str(app.instance_path) not in compared.text
    pdf = client.get("/plans/compare.pdf?a=1&b=2")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_run_whose_worker_died_is_shown_failed_not_running(signed_in, app):
    import datetime as dt

    from sqlalchemy import update

    from db.models import PlanJob
    from planners import jobs

    client = signed_in("planner")
    upload(client, "sample", sample(KG, ["townships.csv", "villages.csv"]))
    start(client, model="kindergartens", dataset="1", county=["BT"])
    engine = app.extensions["fupin_engine"]
    with db.unit_of_work(engine, queue=True) as unit:
        jobs.claim(unit, "gone:1")
    assert "running" in client.get("/plans/runs/1?lang=en").text
    with db.unit_of_work(engine, queue=True) as unit:
        unit.session.execute(update(PlanJob).values(heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
        unit.commit()
    page = client.get("/plans/runs/1?lang=en").text
    assert "failed" in page and "stopped answering" in page and 'http-equiv="refresh"' not in page


def test_workbooks_with_chinese_headers_are_data_sets_the_cli_reads_too(signed_in, app, tmp_path):
    import csv

    from openpyxl import Workbook

    from planning.inputs import read_data_dir

    rows = list(csv.reader(io.StringIO((PLANNING / "counties.csv").read_text(encoding="utf-8"))))
    book = Workbook()
    sheet = book.active
    sheet.append(["市县代码", "市县名称", "贫困类别", "特岗容量"])
    for row in rows[1:]:
        sheet.append([row[0], row[1], row[2], int(row[3]) if row[3] else None])
    path = tmp_path / "counties.xlsx"
    book.save(path)
    response = upload(signed_in("planner"), "workbook", [(path.read_bytes(), "counties.xlsx"),
                                                         *sample(PLANNING, ["teacher_needs.csv"])])
    assert response.status_code == 302
    (folder,) = (Path(app.instance_path) / "datasets").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["counties.xlsx", "teacher_needs.csv"]
    frames = read_data_dir(folder, ("counties", "teacher_needs"))
    assert len(frames["counties"]) == len(rows) - 1
