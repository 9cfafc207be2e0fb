"""Shared fixtures: a fresh database per test, on SQLite and (where one listens) PostgreSQL."""

from __future__ import annotations

import csv
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import db
from procure import ledger, masterdata

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
MASTER_KINDS = ["institutions", "canteens", "suppliers", "categories", "packaging"]
PG_URL = os.environ.get("FUPIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reason() -> str | None:
    try:
        eng = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # any failure to connect means "skip", with the reason shown
        return f"PostgreSQL not reachable at {PG_URL} ({type(exc).__name__}); set FUPIN_TEST_PG_URL"


_PG_SKIP = _pg_reason()
if _PG_SKIP and os.environ.get("FUPIN_REQUIRE_PG"):
    raise RuntimeError(f"FUPIN_REQUIRE_PG is set but {_PG_SKIP}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A database URL of an empty database; PostgreSQL gets a schema of its own per test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url):
    eng = db.make_engine(db_url)
    db.ensure_schema(eng)
    yield eng
    eng.dispose()


def load_masters(engine) -> None:
    with db.unit_of_work(engine, write=True) as uow:
        for kind in MASTER_KINDS:
            masterdata.import_master(uow.session, kind, SAMPLE / f"{kind}.csv", "tester")
        uow.commit()


@pytest.fixture
def master_engine(engine):
    """A database holding the sample's master data and no purchases."""
    load_masters(engine)
    return engine


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def import_file(engine, path, **kw):
    with db.unit_of_work(engine, write=True) as uow:
        result = ledger.import_purchases(uow.session, path, "tester", **kw)
        uow.commit()
    return result
