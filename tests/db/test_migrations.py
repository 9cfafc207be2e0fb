"""Migration 0006 (the one-void-per-entry key as a partial unique index) up and down on both
databases, on a ledger with entries and a void: the rows, the hash chain and every rule stay."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

import db
from db import chain
from procure import ledger
from tests.conftest import load_masters, write_csv

HEADER = ["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref"]


def _ledger_with_a_void(engine, tmp_path) -> int:
    load_masters(engine)
    path = write_csv(tmp_path / "p.csv", HEADER, [["2025-03-05", "C01", "S07", "VEG", "青菜", "10", "斤", "30", "A"],
                                                 ["2025-03-06", "C01", "S07", "VEG", "青菜", "20", "斤", "60", "B"]])
    with db.unit_of_work(engine, write=True) as uow:
        entry = ledger.import_purchases(uow.session, path, "tester", today=dt.date(2025, 3, 31)).ids[0]
        uow.commit()
    with db.unit_of_work(engine, write=True) as uow:
        ledger.void_entry(uow.session, entry, "wrong", "tester")
        uow.commit()
    return entry


def _second_void_refused(engine, entry: int) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO purchases (purchase_date, canteen_id, supplier_id, category_id, product, quantity, unit, "
            "qty_mg, amount_fen, ref, line, key_seq, is_pa, pa_source, reverses_id, created_by, created_at) "
            "SELECT purchase_date, canteen_id, supplier_id, category_id, product, quantity, unit, qty_mg, amount_fen, "
            "ref, line, NULL, is_pa, pa_source, reverses_id, created_by, created_at FROM purchases "
            f"WHERE reverses_id = {entry}"))


def _state(engine) -> tuple:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, row_hash, reverses_id FROM purchases ORDER BY id")).all()
        checks = {c["name"] for c in inspect(conn).get_check_constraints("purchases")}
        keys = {k["name"] for k in inspect(conn).get_foreign_keys("purchases")}
        verified = chain.verify(conn)
        if conn.dialect.name == "sqlite":  # off only while a migration copies a table
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert verified.ok, verified.problem
    assert "ck_purchases_entry_kind" in checks and "fk_purchases_reverses_id_purchases" in keys
    return rows


def test_0006_up_and_down_keeps_the_ledger_and_the_key(db_url, tmp_path):
    engine = db.make_engine(db_url)
    cfg = db.alembic_config(engine)
    command.upgrade(cfg, "0005")
    entry = _ledger_with_a_void(engine, tmp_path)
    before = _state(engine)
    command.upgrade(cfg, "head")
    assert db.current_revision(engine) == db.SCHEMA_HEAD == "0006"
    with engine.connect() as conn:
        index = next(ix for ix in inspect(conn).get_indexes("purchases") if ix["name"] == "uq_purchases_reverses_id")
    assert index["unique"] and index["column_names"] == ["reverses_id"]
    assert _state(engine) == before
    _second_void_refused(engine, entry)
    command.downgrade(cfg, "0005")
    assert _state(engine) == before
    _second_void_refused(engine, entry)
    command.upgrade(cfg, "head")
    assert _state(engine) == before
    engine.dispose()
