"""A sample-province database (Q1 2025 of data/sample) built once, copied for tests that change it."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

import db
from procure import ledger, masterdata

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
IMG = '<img src="file:///etc/passwd">'
LINK = '<link rel=stylesheet href="http://169.254.169.254/">'
NOW = dt.datetime(2025, 4, 2, 1, 30, tzinfo=dt.UTC)


def _build(path: Path, work: Path) -> None:
    engine = db.make_engine(f"sqlite:///{path}")
    db.ensure_schema(engine)
    with db.unit_of_work(engine, write=True) as uow:
        for kind in ["institutions", "canteens", "suppliers", "categories", "packaging"]:
            masterdata.import_master(uow.session, kind, SAMPLE / f"{kind}.csv", "tester")
        hostile = work / "hostile_suppliers.csv"
        with open(hostile, "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([["code", "name", "eligibility", "certificate", "county", "valid_from", "valid_to"],
                                     ["SX1", IMG, "village", "", "屯昌县", "", ""]])
        masterdata.import_master(uow.session, "suppliers", hostile, "tester")
        with open(SAMPLE / "purchases_2025_synthetic.csv", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["date"] < "2025-04-01"]
        rows.append({"date": "2025-03-16", "canteen": "C01", "supplier": "SX1", "category": "VEG", "product": LINK,
                     "quantity": "40", "unit": "kg", "amount": "120.00", "ref": "INJ-1", "line": "1"})
        q1 = work / "purchases_q1.csv"
        with open(q1, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        ledger.import_purchases(uow.session, q1, "tester", today=dt.date(2025, 4, 1))
        uow.commit()
    engine.dispose()


@pytest.fixture(scope="session")
def sample_db_file(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("sample")
    path = work / "sample.db"
    _build(path, work)
    return path


@pytest.fixture
def engine(sample_db_file, tmp_path):
    """A private copy of the sample database (tests may issue reports and change the ledger)."""
    path = tmp_path / "fupin.db"
    shutil.copy(sample_db_file, path)
    eng = db.make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


def pdf_text(path: Path, layout: bool = True) -> str:
    """pdftotext -layout keeps table rows on one line; -raw keeps a wrapped cell's text together."""
    args = ["pdftotext", "-layout" if layout else "-raw", str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def squash(text: str) -> str:
    return "".join(text.split())
