"""Issue 13: an import reads its file in chunks inside one transaction, column by column, and still
says exactly what the row parser says; a bad last row of a large file rejects it whole."""

from __future__ import annotations

import datetime as dt
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import db
from common.errors import InputFileError
from common.tables import Chunk, Row
from db import chain
from db.models import Purchase
from procure import ledger
from tests.cli.test_cli import fupin, loaded  # noqa: F401  (fixtures)
from tests.conftest import import_file, load_masters, write_csv

HEADER = ["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref", "line", "note"]
TODAY = dt.date(2025, 12, 31)
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _full_width(text: str) -> str:
    return text.translate(FULL_WIDTH)


@st.composite
def dates(draw):
    day = draw(st.dates(dt.date(1998, 1, 1), dt.date(2026, 3, 1)))
    text = draw(st.sampled_from([
        day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}.{day.month}.{day.day}",
        f"{day.year}年{day.month}月{day.day}日", f"{day.year}年{day.month}月{day.day}", day.strftime("%Y%m%d"),
        str((day - dt.date(1899, 12, 30)).days)]))
    return draw(st.sampled_from([
        text, _full_width(text), f" {text} ", day, dt.datetime(day.year, day.month, day.day),
        dt.datetime(day.year, day.month, day.day, 9, 30), (day - dt.date(1899, 12, 30)).days,
        float((day - dt.date(1899, 12, 30)).days) + draw(st.sampled_from([0, 0.25])),
        "", None, "2025-02-30", "2025-13-01", "05/03/2025", "三月五日", "45721.25"]))


def numbers(whole: int, places: int):
    """Numbers as people type them: plain, with thousands separators, full-width, with decimals."""
    @st.composite
    def build(draw):
        units = draw(st.integers(0, whole))
        fraction = draw(st.integers(0, 10 ** places - 1)) if places else 0
        plain = f"{units}.{fraction:0{places}d}" if places and draw(st.booleans()) else str(units)
        grouped = f"{units:,}" + plain[len(str(units)):]
        return draw(st.sampled_from([plain, grouped, _full_width(plain), f" {plain} ", plain.rstrip("0") or "0"]))
    return build()


amounts = st.one_of(
    numbers(12_000_000, 2),
    numbers(99_999, 3),
    numbers(9_999, 2).map(lambda t: "¥" + t.strip()),
    numbers(9_999, 2).map(lambda t: "￥" + t.strip()),
    numbers(9_999, 2).map(lambda t: t.strip() + "元"),
    st.sampled_from(["", None, "0", "-10", "150,5", "1元2", "元12", "12元元", "RMB12", "¥1,150元", "1,2,3",
                     "0150", "150.", ".5", "100000000000000000", 390.5, 62, 0.001, True]),
)
quantities = st.one_of(
    numbers(5_000, 2),
    numbers(2_000_000, 0),
    st.sampled_from(["", None, "0", "-5", "六十", "1,2,3", "0.0000001", "60.0", "1e3", "10000000000000", 12.5, 3,
                     "１２０"]),
)
texts = st.one_of(
    st.sampled_from(["INV-1", "INV-2", " INV-3 ", "村-001", "ＩＮＶ-4", "", "   ", "INV\x07-1", "ABC\u202efdp",
                     "R" * 101, "R" * 100, "发票-7", 12345, 12.0]),
    st.text(min_size=0, max_size=6),
)


@st.composite
def purchase_rows(draw):
    return {
        "date": draw(dates()),
        "canteen": draw(st.sampled_from(["C01", "C02", "第一食堂", "学生食堂", "C99", "", " C01 ", "Ｃ01"])),
        "supplier": draw(st.sampled_from(["S01", "S02", "S06", "S07", "S09", "S99", "", "S0\x001"])),
        "category": draw(st.sampled_from(["VEG", "GRAIN", "MEAT", "MEATS", "", "FRUIT"])),
        "product": draw(st.sampled_from(["青菜", "大米", "苹果", "", "菜" * 201, "青\x00菜", "ABC\u202efdp", "ｒｉｃｅ"])),
        "quantity": draw(quantities),
        "unit": draw(st.sampled_from(["kg", "KG", " kg ", "公斤", "千克", "g", "克", "斤", "市斤", "两", "t", "吨", "袋",
                                      "箱", "lb", "", None])),
        "amount": draw(amounts),
        "ref": draw(texts),
        "line": draw(st.sampled_from(["", None, "1", "2", "１", "1.5", "0", "99999999999", 3, 2.0, "2,000"])),
        "note": draw(st.sampled_from(["", None, "第一行\n第二行\t备注", "bell\x07", "备" * 501, "ok", " 好 "])),
    }


@pytest.fixture
def parser(master_engine):
    with db.unit_of_work(master_engine) as uow:
        yield ledger._LineParser(uow.session, TODAY)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(purchase_rows(), min_size=1, max_size=25))
def test_the_column_path_says_what_the_row_parser_says(parser, rows):
    columns = {name: f"{chr(65 + i)} ({name})" for i, name in enumerate(HEADER)}
    numbers_ = list(range(2, len(rows) + 2))
    chunk = Chunk(numbers_, {name: [row[name] for row in rows] for name in HEADER}, columns)
    lines, good_rows, notices, problems = parser.parse_chunk(chunk)
    expected_lines, expected_rows, expected_notices, expected_problems = [], [], [], []
    for number, row in zip(numbers_, rows):
        line, notice, row_problems = parser.parse(Row(number, row, columns))
        expected_problems += row_problems
        if line is not None:
            expected_lines.append(line)
            expected_rows.append(number)
            expected_notices.append(notice)
    assert problems == expected_problems
    assert lines == expected_lines
    assert (good_rows, notices) == (expected_rows, expected_notices)


def _rows(n: int, start: int = 0) -> list[list[str]]:
    return [[f"2025-03-{i % 28 + 1:02d}", "C01", "S07", "VEG", "青菜", str(i % 90 + 1), "斤", f"{i % 500 + 1}.50",
             f"BIG-{start + i}", "1", ""] for i in range(n)]


def _count(engine) -> int:
    with db.unit_of_work(engine) as uow:
        return uow.session.scalar(select(func.count(Purchase.id)))


def test_a_large_file_whose_last_row_is_bad_is_refused_whole(master_engine, tmp_path):
    rows = _rows(50_000)
    rows.append(rows[-1][:5] + ["60", "斤", "12.345", "BIG-LAST", "1", ""])
    path = write_csv(tmp_path / "big.csv", HEADER, rows)
    with pytest.raises(InputFileError) as info:
        import_file(master_engine, path, today=TODAY)
    assert [(p.row, p.column) for p in info.value.problems] == [(50_002, "H (amount)")]
    assert "more than 2 decimals" in info.value.problems[0].reason and info.value.more == 0
    assert _count(master_engine) == 0
    rows[-1][7] = "12.34"
    write_csv(path, HEADER, rows)
    assert import_file(master_engine, path, today=TODAY).lines_added == 50_001
    assert _count(master_engine) == 50_001
    with db.unit_of_work(master_engine) as uow:
        assert chain.verify(uow.session.connection()).ok


def test_a_duplicate_in_a_later_chunk_and_every_bad_row_are_named(master_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(ledger, "CHUNK_ROWS", 1_000)
    import_file(master_engine, write_csv(tmp_path / "old.csv", HEADER, _rows(10, start=9_000)), today=TODAY)
    rows = _rows(3_000)
    rows[2_500][8] = "BIG-10"  # the key of row 12, two chunks earlier (added by this file)
    rows[2_600][8] = "BIG-9003"  # already in the ledger ...
    rows[2_700][8] = "BIG-9003"  # ... and again in this file
    rows += [[*r[:7], "-1", *r[8:]] for r in _rows(2_500, start=5_000)]
    with pytest.raises(InputFileError) as info:
        import_file(master_engine, write_csv(tmp_path / "p.csv", HEADER, rows), today=TODAY)
    listed = info.value.problems
    assert str(listed[0]) == "row 2502, column I (ref): ref 'BIG-10' line 1 of this supplier is also on row 12"
    assert str(listed[1]).startswith("row 2602, column I (ref): ref 'BIG-9003' line 1 is already entry #4 with different")
    assert str(listed[2]) == "row 2702, column I (ref): ref 'BIG-9003' line 1 of this supplier is also on row 2602"
    assert [p.row for p in listed[3:]] == list(range(3_002, 3_002 + 997))
    assert (len(listed), info.value.more) == (1_000, 1_503)
    assert "... and 1,503 more problem(s) not listed" in str(info.value)
    assert _count(master_engine) == 10


def test_the_import_streams_in_bounded_memory(tmp_path, monkeypatch):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    db.ensure_schema(engine)
    load_masters(engine)
    monkeypatch.setattr(ledger, "CHUNK_ROWS", 2_000)
    monkeypatch.setattr(ledger.ImportResult, "KEPT", 100)
    peaks = []
    for n in (4_000, 40_000):
        path = write_csv(tmp_path / f"p{n}.csv", HEADER, _rows(n, start=n * 10))
        tracemalloc.start()
        try:
            assert import_file(engine, path, today=TODAY).lines_added == n
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    # Ten times the rows, not ten times the memory: what grows is a few bytes a line (ids, row numbers).
    assert peaks[1] < 1.6 * peaks[0], peaks
    engine.dispose()


def test_progress_is_reported_and_the_bar_is_quiet_without_a_terminal(master_engine, loaded, tmp_path):
    path = write_csv(tmp_path / "p.csv", HEADER, _rows(45_000))
    seen = []
    with db.unit_of_work(master_engine, write=True) as uow:
        ledger.import_purchases(uow.session, path, "tester", dry_run=True, today=TODAY,
                                progress=lambda done, expected: seen.append((done, expected)))
    chunks = [*range(ledger.CHUNK_ROWS, 45_000, ledger.CHUNK_ROWS), 45_000]
    assert [done for done, _ in seen] == chunks and seen[-1][1] == 45_001  # line breaks
    out = loaded("procure", "import", path)  # the runner's stderr is not a terminal, as in a pipe or a log
    assert out.startswith("45000 line(s) added") and len(out.splitlines()) == 1, out
