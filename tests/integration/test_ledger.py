"""The ledger end to end on a real database: imports, idempotence, voids, closes, audit, eligibility."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

import db
from procure import audit, ledger, masterdata
from common.errors import FupinError
from db.models import AuditEvent, ImportBatch, Purchase
from procure.quota import month_compliance
from procure.rules import QuotaRule
from tests.conftest import import_file, write_csv

HEADER_ZH = ["日期", "食堂", "供应商", "品类", "品名", "数量", "单位", "金额", "单号"]
TODAY = dt.date(2025, 12, 31)


def count(engine, model=Purchase):
    with db.unit_of_work(engine) as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_new_database_gets_schema_and_alembic_has_nothing_to_add(engine):
    from alembic import command

    command.check(db.alembic_config(engine))  # raises if models and migrations disagree
    assert db.upgrade(engine)[0] == db.upgrade(engine)[1]
    # ensure_schema recognises an up-to-date database by this constant, without Alembic.
    assert db.SCHEMA_HEAD == db.engine._script(engine).get_current_head() == db.current_revision(engine)


def test_gbk_file_with_chinese_headers_fullwidth_digits_and_blank_rows(master_engine, tmp_path):
    rows = [["２０２５年３月５日", "C01", "S07", "VEG", "青菜", "１２０", "斤", "￥1,234.50", "村-001"], ["", "", "", "", "", "", "", "", ""],
            ["2025/3/6", "第一食堂", "S09", "GRAIN", "大米", "2", "袋", "260", "发票-7"]]
    path = write_csv(tmp_path / "gbk.csv", HEADER_ZH, rows, encoding="gbk")
    result = import_file(master_engine, path, today=TODAY)
    assert len(result.added) == 2
    with db.unit_of_work(master_engine) as uow:
        first, second = uow.session.scalars(select(Purchase).order_by(Purchase.id)).all()
    assert (first.purchase_date, first.qty_mg, first.amount_fen, first.quantity, first.unit) == (
        dt.date(2025, 3, 5), 60_000_000, 123450, "120", "斤")
    assert first.is_pa and first.pa_source == "village"
    assert second.qty_mg == 50_000_000 and not second.is_pa  # 2 bags of 25 kg, from the packaging table


def test_utf8_bom_file(master_engine, tmp_path):
    path = write_csv(tmp_path / "bom.csv", HEADER_ZH, [["2025-03-05", "C01", "S07", "VEG", "青菜", "1", "kg", "5", "A"]],
                     encoding="utf-8-sig")
    assert len(import_file(master_engine, path, today=TODAY).added) == 1


def test_xlsx_with_date_cells_serials_and_numbers(master_engine, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER_ZH)
    ws.append([dt.datetime(2025, 3, 5), "C01", "S06", "GRAIN", "大米", 3, "袋", 390.5, "MALL-1"])
    ws.append([45722, "C01", "S09", "VEG", "青菜", 12.5, "kg", 62, "INV-9"])  # Excel serial of 2025-03-06
    ws.append([None] * 9)
    path = tmp_path / "p.xlsx"
    wb.save(path)
    result = import_file(master_engine, path, today=TODAY)
    assert [a["purchase_date"] for a in result.added] == [dt.date(2025, 3, 5), dt.date(2025, 3, 6)]
    assert [a["qty_mg"] for a in result.added] == [75_000_000, 12_500_000]
    assert [a["amount_fen"] for a in result.added] == [39050, 6200]


def test_template_round_trip(master_engine, tmp_path):
    from openpyxl import load_workbook

    from procure.template import write_template

    path = write_template(tmp_path / "t.xlsx")
    wb = load_workbook(path)
    ws = wb.active
    ws.append([dt.date(2025, 3, 5), "C01", "S07", "VEG", "青菜", 10, "斤", 30, "A", 1, "试"])
    wb.save(path)
    assert len(import_file(master_engine, path, today=TODAY).added) == 1


def test_reimport_adds_nothing_and_says_so(master_engine, tmp_path):
    rows = [["2025-03-05", "C01", "S07", "VEG", "青菜", "10", "斤", "30", "A"],
            ["2025-03-05", "C01", "S09", "VEG", "白菜", "10", "斤", "30", "B"]]
    path = write_csv(tmp_path / "p.csv", HEADER_ZH, rows)
    first = import_file(master_engine, path, today=TODAY)
    again = import_file(master_engine, path, today=TODAY)
    assert (len(first.added), len(again.added), len(again.already_present)) == (2, 0, 2)
    assert count(master_engine) == 2 and count(master_engine, ImportBatch) == 1
    # a second file that repeats one line and adds one: only the new one goes in
    more = write_csv(tmp_path / "q.csv", HEADER_ZH, [rows[1], ["2025-03-06", "C01", "S09", "VEG", "白菜", "5", "斤", "15", "C"]])
    third = import_file(master_engine, more, today=TODAY)
    assert (len(third.added), len(third.already_present)) == (1, 1)


def test_dry_run_writes_nothing(master_engine, tmp_path):
    path = write_csv(tmp_path / "p.csv", HEADER_ZH, [["2025-03-05", "C01", "S07", "VEG", "青菜", "10", "斤", "30", "A"]])
    result = import_file(master_engine, path, today=TODAY, dry_run=True)
    assert len(result.added) == 1 and count(master_engine) == 0 and count(master_engine, AuditEvent) > 0
    assert count(master_engine, ImportBatch) == 0


def test_void_reverses_and_the_line_can_then_be_entered_again(master_engine, tmp_path):
    path = write_csv(tmp_path / "p.csv", HEADER_ZH, [["2025-03-05", "C01", "S07", "VEG", "青菜", "100", "斤", "300", "A"]])
    entry = import_file(master_engine, path, today=TODAY).ids[0]
    with db.unit_of_work(master_engine, write=True) as uow:
        reversal = ledger.void_entry(uow.session, entry, "wrong quantity", "manager")
        uow.commit()
    with db.unit_of_work(master_engine) as uow:
        rev = uow.session.get(Purchase, reversal.id)
        assert (rev.qty_mg, rev.amount_fen, rev.reverses_id) == (-50_000_000, -30000, entry)
        assert uow.session.get(Purchase, entry) is not None  # nothing deleted
        result = month_compliance(uow.session, "2025-03", QuotaRule(), today=TODAY)
        assert next(c for c in result.canteens if c.canteen == "C01").status == "no_purchases"
        events = audit.trail(uow.session, entity="purchase", key=str(entry))
        assert [(e.action, e.actor, e.reason) for e in events] == [("void", "manager", "wrong quantity")]
    with db.unit_of_work(master_engine, write=True) as uow:
        with pytest.raises(FupinError, match="already voided"):
            ledger.void_entry(uow.session, entry, "again", "manager")
        with pytest.raises(FupinError, match="itself the void"):
            ledger.void_entry(uow.session, reversal.id, "again", "manager")
        with pytest.raises(FupinError, match="no ledger entry #999"):
            ledger.void_entry(uow.session, 999, "x", "manager")
        with pytest.raises(FupinError, match="needs a reason"):
            ledger.void_entry(uow.session, entry, " ", "manager")
    fixed = write_csv(tmp_path / "f.csv", HEADER_ZH, [["2025-03-05", "C01", "S07", "VEG", "青菜", "10", "斤", "30", "A"]])
    assert len(import_file(master_engine, fixed, today=TODAY).added) == 1
    assert len(import_file(master_engine, fixed, today=TODAY).already_present) == 1


def test_close_and_reopen(master_engine, tmp_path):
    path = write_csv(tmp_path / "p.csv", HEADER_ZH, [["2025-03-05", "C01", "S07", "VEG", "青菜", "100", "斤", "300", "A"]])
    entry = import_file(master_engine, path, today=TODAY).ids[0]
    with db.unit_of_work(master_engine, write=True) as uow:
        ledger.close_month(uow.session, "2025-03", "finance")
        uow.commit()
    with db.unit_of_work(master_engine, write=True) as uow:
        with pytest.raises(FupinError, match="closed"):
            ledger.void_entry(uow.session, entry, "x", "manager")
        with pytest.raises(FupinError, match="already closed"):
            ledger.close_month(uow.session, "2025-03", "finance")
        with pytest.raises(FupinError, match="needs a reason"):
            ledger.reopen_month(uow.session, "2025-03", "", "finance")
        with pytest.raises(FupinError, match="not closed"):
            ledger.reopen_month(uow.session, "2025-04", "why", "finance")
        ledger.reopen_month(uow.session, "2025-03", "late invoice", "finance")
        uow.commit()
    with db.unit_of_work(master_engine, write=True) as uow:
        ledger.void_entry(uow.session, entry, "x", "manager")
        uow.commit()
        events = [(e.action, e.reason) for e in audit.trail(uow.session, entity="month")]
    assert events == [("reopen", "late invoice"), ("close", None)]


def test_eligibility_is_judged_on_the_purchase_date_and_kept(master_engine, tmp_path):
    # S02's certificate is valid to 2025-06-30 inclusive
    rows = [["2025-06-30", "C01", "S02", "VEG", "青菜", "10", "kg", "70", "A"],
            ["2025-07-01", "C01", "S02", "VEG", "青菜", "10", "kg", "70", "B"]]
    result = import_file(master_engine, write_csv(tmp_path / "p.csv", HEADER_ZH, rows), today=TODAY)
    with db.unit_of_work(master_engine) as uow:
        flags = [p.is_pa for p in uow.session.scalars(select(Purchase).order_by(Purchase.id))]
    assert flags == [True, False]
    assert [(n.row, n.column) for n in result.notices] == [(3, "C (供应商)")]
    assert "only from 2024-06-01 to 2025-06-30, not on 2025-07-01" in result.notices[0].reason
    # the certificate is later revoked from June: the June purchase stays counted
    sup = tmp_path / "s.csv"
    write_csv(sup, ["code", "name", "eligibility", "certificate", "county", "valid_from", "valid_to"],
              [["S02", "白沙示例蔬菜合作社", "certified", "HNFP-2024-BS-0031", "白沙黎族自治县", "2024-06-01", "2025-05-31"]])
    with db.unit_of_work(master_engine, write=True) as uow:
        res = masterdata.import_master(uow.session, "suppliers", sup, "admin")
        uow.commit()
        assert res.updated == 1 and "valid_to 2025-06-30 → 2025-05-31" in res.changes[0]
    with db.unit_of_work(master_engine) as uow:
        june = month_compliance(uow.session, "2025-06", QuotaRule(), today=TODAY)
        c01 = next(c for c in june.canteens if c.canteen == "C01")
        assert c01.tally.pa_mg == c01.tally.total_mg == 10_000_000
        ev = audit.trail(uow.session, entity="suppliers", key="S02")[0]
        assert json.loads(ev.detail)["valid_to"] == {"old": "2025-06-30", "new": "2025-05-31"}


def test_open_bounds_and_none_eligibility(master_engine, tmp_path):
    rows = [["2020-01-02", "C01", "S06", "VEG", "x", "1", "kg", "1", "A"],  # mall, no bounds
            ["2020-01-02", "C01", "S09", "VEG", "x", "1", "kg", "1", "B"]]  # none
    import_file(master_engine, write_csv(tmp_path / "p.csv", HEADER_ZH, rows), today=TODAY)
    with db.unit_of_work(master_engine) as uow:
        assert [p.is_pa for p in uow.session.scalars(select(Purchase).order_by(Purchase.id))] == [True, False]


def test_log_one_purchase_and_again(master_engine):
    fields = dict(date="2025-03-05", canteen="C01", supplier="S07", category="VEG", product="青菜", quantity="3",
                  unit="两", amount="1.20", ref="R", line="1", note="")
    with db.unit_of_work(master_engine, write=True) as uow:
        first = ledger.log_purchase(uow.session, "m", today=TODAY, **fields)
        uow.commit()
    with db.unit_of_work(master_engine, write=True) as uow:
        again = ledger.log_purchase(uow.session, "m", today=TODAY, **fields)
        uow.commit()
    assert first.added[0]["qty_mg"] == 150_000 and again.already_present == [(None, first.ids[0])]
    with db.unit_of_work(master_engine, write=True) as uow:
        with pytest.raises(FupinError, match="column --amount: '1.234' has more than 2 decimals"):
            ledger.log_purchase(uow.session, "m", today=TODAY, **{**fields, "amount": "1.234", "ref": "Z"})


def test_master_data_errors(engine, tmp_path):
    path = write_csv(tmp_path / "c.csv", ["code", "institution", "name", "operator"],
                     [["C1", "NOPE", "x", "self"], ["C2", "NOPE", "y", "outsourced"], ["C1", "NOPE", "z", "承包"]])
    with db.unit_of_work(engine, write=True) as uow:
        with pytest.raises(FupinError) as info:
            masterdata.import_master(uow.session, "canteens", path, "a")
    text = str(info.value)
    assert "row 2, column B (institution): unknown institution 'NOPE'" in text
    assert "row 3, column D (operator): 'outsourced' is not a canteen operator" in text
    assert "row 4, column A (code): C1 also on row 2" in text
    assert "contractor's name" in text
    sup = write_csv(tmp_path / "s.csv", ["编码", "名称", "扶贫资格", "证书编号", "有效期起", "有效期止"],
                    [["S1", "a", "认定", "", "2025-01-01", "2024-01-01"]])
    with db.unit_of_work(engine, write=True) as uow:
        with pytest.raises(FupinError) as info:
            masterdata.import_master(uow.session, "suppliers", sup, "a")
    assert "certificate number" in str(info.value) and "before valid_from" in str(info.value)


def test_unit_weight(master_engine, tmp_path):
    with db.unit_of_work(master_engine, write=True) as uow:
        ledger.set_unit_weight(uow.session, "苹果", "箱", "12.5", "m")
        with pytest.raises(FupinError, match="already a weight unit"):
            ledger.set_unit_weight(uow.session, "苹果", "斤", "1", "m")
        with pytest.raises(FupinError, match="greater than 0"):
            ledger.set_unit_weight(uow.session, "苹果", "箱", "0", "m")
        uow.commit()
    path = write_csv(tmp_path / "p.csv", HEADER_ZH, [["2025-03-05", "C01", "S09", "FRUIT", "苹果", "2", "箱", "100", "A"]])
    assert import_file(master_engine, path, today=TODAY).added[0]["qty_mg"] == 25_000_000


def test_a_failed_import_leaves_no_batch_and_no_audit(master_engine, tmp_path):
    before = count(master_engine, AuditEvent)
    path = write_csv(tmp_path / "p.csv", HEADER_ZH, [["2025-03-05", "C01", "S09", "FRUIT", "苹果", "2", "箱", "100", "A"]])
    with pytest.raises(FupinError):
        import_file(master_engine, path, today=TODAY)
    assert count(master_engine, AuditEvent) == before and count(master_engine, ImportBatch) == 0


def test_schema_mismatch_is_explained(tmp_path):
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'other.db'}"
    eng = db.make_engine(url)
    with eng.begin() as conn:
        conn.execute(text("create table foo (x int)"))
    with pytest.raises(FupinError, match="not a fupin database"):
        db.ensure_schema(eng)
    eng2 = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    db.ensure_schema(eng2)
    with eng2.begin() as conn:
        conn.execute(text("update alembic_version set version_num='ffff'"))
    with pytest.raises(FupinError, match="newer fupin"):
        db.ensure_schema(eng2)
    with eng2.begin() as conn:
        conn.execute(text("update alembic_version set version_num='0001'"))
    with pytest.raises(FupinError, match=f"at revision 0001, this fupin needs {db.SCHEMA_HEAD}: run `fupin db upgrade`"):
        db.ensure_schema(eng2)
