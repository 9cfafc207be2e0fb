"""Issue 13: a large file is read, parsed and hashed in a helper process while the importing
process inserts. It must store and say exactly what the import in one process does, write nothing
when any row is bad or the import is interrupted, and leave no process behind."""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

import db
from common.errors import InputFileError
from common.helper_process import HelperProcess
from db import chain
from db.models import ImportBatch, Purchase
from procure import ledger
from procure.rules import BulkImport
from tests.conftest import ROOT, import_file, load_masters, write_csv

HEADER = ["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref", "line", "note"]
TODAY = dt.date(2025, 12, 31)
NOW = dt.datetime(2025, 12, 31, 8, 0, tzinfo=dt.UTC)
ALWAYS = float("-inf")  # the helper whatever the machine's load (the tests' machine is shared)


def _rows(n: int, start: int = 0) -> list[list[str]]:
    # Several suppliers (S05 is only eligible part of the year: notices), units and line numbers.
    return [[f"2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}", f"C0{i % 3 + 1}", ("S07", "S05", "S01")[i % 3], "VEG", "青菜",
             str(i % 90 + 1), ("斤", "kg", "两")[i % 3], f"{i % 500 + 1}.50", f"H-{start + i // 2}", str(i % 2 + 1),
             "备注" if i % 7 == 0 else ""] for i in range(n)]


@pytest.fixture
def two_ledgers(db_url, tmp_path, monkeypatch):
    """Two databases with the same master data and clock: one imports in one process, one with the helper."""
    monkeypatch.setattr(ledger, "utcnow", lambda: NOW)
    monkeypatch.setattr(ledger, "CHUNK_ROWS", 700)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    engines = [db.make_engine(db_url), db.make_engine(other)]
    for engine in engines:
        db.ensure_schema(engine)
        load_masters(engine)
    yield engines
    for engine in engines:
        engine.dispose()


def _import(engine, path, monkeypatch, helper: bool, **kw):
    # The importing process parses the first two chunks itself (lead_rows), the helper the rest.
    monkeypatch.setattr(ledger, "BULK_IMPORT", BulkImport(helper_from_rows=1 if helper else 10**9, idle_margin=ALWAYS,
                                                          lead_rows=2 * ledger.CHUNK_ROWS))
    started = []
    real = ledger.HelperProcess
    monkeypatch.setattr(ledger, "HelperProcess", lambda *a, **k: started.append(real(*a, **k)) or started[-1])
    try:
        return import_file(engine, path, today=TODAY, **kw)
    finally:
        assert len(started) == helper and not any(p.process.is_alive() for p in started)


def _stored(engine) -> list[tuple]:
    with engine.connect() as conn:
        verified = chain.verify(conn)
        assert verified.ok, verified.problem
        return [tuple(r) for r in conn.execute(select(*(c for c in Purchase.__table__.c if c.name != "created_at"),
                                                      func.count().over()).order_by(Purchase.id))]


def _outcome(result) -> tuple:
    return (result.lines_added, result.lines_present, result.added, result.already_present, result.notices,
            result.added_mg, result.added_fen, list(result.ids))


def test_the_helper_stores_and_says_what_one_process_does(two_ledgers, tmp_path, monkeypatch):
    one, helped = two_ledgers
    first = write_csv(tmp_path / "first.csv", HEADER, _rows(3_000))
    assert _outcome(_import(one, first, monkeypatch, helper=False)) == _outcome(
        _import(helped, first, monkeypatch, helper=True))
    for engine in two_ledgers:  # a void, so that the line entered again takes key_seq 2 (hashed again)
        with db.unit_of_work(engine, write=True) as uow:
            ledger.void_entry(uow.session, 10, "wrong", "tester")
            uow.commit()
    # Present lines, new lines and the voided line again, mixed across chunks.
    mixed = write_csv(tmp_path / "mixed.csv", HEADER, _rows(3_000)[2_000:] + _rows(1_500, start=5_000)
                      + [_rows(3_000)[9]])
    results = [_import(one, mixed, monkeypatch, helper=False), _import(helped, mixed, monkeypatch, helper=True)]
    assert _outcome(results[0]) == _outcome(results[1])
    assert (results[0].lines_added, results[0].lines_present) == (1_501, 1_000) and results[0].notice_count
    assert _stored(one) == _stored(helped)


@pytest.mark.parametrize("ahead, told", [("always", []), ("never", [False]), ("alternating", None)])
def test_new_lines_are_hashed_by_whichever_process_has_time(two_ledgers, tmp_path, monkeypatch, ahead, told):
    """The helper hashes while it is ahead of the importing process, which hashes the lines itself
    while it would wait: the same rows, hashes and chain whichever hashed what."""
    one, helped = two_ledgers
    answers = {"always": itertools.repeat(True), "never": itertools.repeat(False),
               "alternating": itertools.cycle((False, True))}[ahead]
    monkeypatch.setattr(HelperProcess, "ready", lambda self: next(answers))
    said: list = []
    real_tell = HelperProcess.tell
    monkeypatch.setattr(HelperProcess, "tell", lambda self, message: said.append(message) or real_tell(self, message))
    path = write_csv(tmp_path / "p.csv", HEADER, _rows(5_000))
    assert _outcome(_import(one, path, monkeypatch, helper=False)) == _outcome(
        _import(helped, path, monkeypatch, helper=True))
    assert _stored(one) == _stored(helped)
    assert said == told if told is not None else said[:4] == [False, True, False, True]


def test_a_workbook_is_read_by_the_helper_alone_and_stores_the_same(two_ledgers, tmp_path, monkeypatch):
    import openpyxl

    assert BulkImport(lead_rows=5).lead_rows_of(".xlsx") == 0 and BulkImport(lead_rows=5).lead_rows_of(".CSV") == 5
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in _rows(2_000):
        sheet.append(row)
    path = tmp_path / "p.xlsx"
    workbook.save(path)
    one, helped = two_ledgers
    assert _outcome(_import(one, path, monkeypatch, helper=False)) == _outcome(
        _import(helped, path, monkeypatch, helper=True))
    assert _stored(one) == _stored(helped)


def test_bad_rows_at_the_end_are_listed_the_same_and_nothing_is_written(two_ledgers, tmp_path, monkeypatch):
    rows = _rows(3_000)
    rows[1_000][5] = "-3"
    rows[2_999][7] = "12.345"  # the last row
    rows[99].append("early stray")  # outside any column, in a chunk the importing process parses itself
    rows.append(["", "", "", "", "", "", "", "", "", "", "", "stray"])  # and in the helper's last chunk
    path = write_csv(tmp_path / "bad.csv", HEADER, rows)
    refusals = []
    for engine, helper in zip(two_ledgers, (False, True)):
        with pytest.raises(InputFileError) as info:
            _import(engine, path, monkeypatch, helper=helper)
        refusals.append(str(info.value))
        with engine.connect() as conn:
            assert conn.execute(select(func.count(Purchase.id))).scalar() == 0
            assert conn.execute(select(func.count(ImportBatch.id))).scalar() == 0
    assert refusals[0] == refusals[1] and "row 3002" in refusals[0] and "without a header" in refusals[0]
    assert refusals[0].count("row 101,") == 1
    del rows[-1]
    rows[99].pop()
    write_csv(path, HEADER, rows)
    for engine, helper in zip(two_ledgers, (False, True)):
        with pytest.raises(InputFileError) as info:
            _import(engine, path, monkeypatch, helper=helper)
        refusals.append(str(info.value))
    assert refusals[2] == refusals[3] and "row 1002, column F" in refusals[2] and "row 3001, column H" in refusals[2]
    assert not multiprocessing.active_children()


def test_an_interrupted_import_writes_nothing_and_leaves_no_process(master_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(ledger, "CHUNK_ROWS", 500)
    monkeypatch.setattr(ledger, "BULK_IMPORT", BulkImport(helper_from_rows=1, idle_margin=ALWAYS))
    path = write_csv(tmp_path / "p.csv", HEADER, _rows(5_000))

    def interrupt(done, expected):
        if done >= 1_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), db.unit_of_work(master_engine, write=True) as uow:
        ledger.import_purchases(uow.session, path, "tester", today=TODAY, progress=interrupt)
        uow.commit()
    assert not multiprocessing.active_children()
    with master_engine.connect() as conn:
        assert conn.execute(select(func.count(Purchase.id))).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM import_batches")).scalar() == 0
    assert import_file(master_engine, path, today=TODAY).lines_added == 5_000  # the ledger is still usable


def _children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


def test_ctrl_c_on_a_large_import_prints_no_traceback_and_leaves_no_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'l.db'}"
    engine = db.make_engine(url)
    db.ensure_schema(engine)
    load_masters(engine)
    path = write_csv(tmp_path / "large.csv", HEADER, _rows(BulkImport().helper_from_rows + 50_000))
    # A terminal's Ctrl-C: SIGINT to the command's whole process group.
    forced = ("import sys; from procure import ledger, rules; "
              "ledger.BULK_IMPORT = rules.BulkImport(idle_margin=float('-inf')); from cli import main; main()")
    command = subprocess.Popen([sys.executable, "-c", forced, "--db", url, "procure", "import", str(path)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not (helpers := _children(command.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(command.pid, signal.SIGINT)
    out, err = command.communicate(timeout=60)
    assert command.returncode != 0 and "Traceback" not in out + err and "Aborted" in err, err
    for _ in range(50):  # an ended process is gone once reaped (it was reparented when the command ended)
        if not (left := [pid for pid in helpers if Path(f"/proc/{pid}").exists()]):
            break
        time.sleep(0.1)
    assert helpers and not left
    with engine.connect() as conn:
        assert conn.execute(select(func.count(Purchase.id))).scalar() == 0
    engine.dispose()


def test_the_helper_is_used_for_a_large_file_on_an_idle_machine_only(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    rule = BulkImport(helper_from_rows=100_000, idle_margin=0.5)
    for load, rows, wanted in ((0.9, 100_000, True), (0.9, 99_999, False), (1.6, 1_000_000, False)):
        monkeypatch.setattr("os.getloadavg", lambda: (load, 0.0, 0.0))
        assert rule.uses_helper(rows) is wanted
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0})
    assert not BulkImport(idle_margin=ALWAYS).uses_helper(10**6)  # one core: nothing to overlap
