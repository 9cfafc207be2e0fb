"""Every bad purchase file is refused whole, with row, column and reason; the ledger is untouched."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

import db
from procure import ledger
from common.errors import FupinError, InputFileError
from db.models import Purchase
from tests.conftest import import_file, write_csv

HEADER = ["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref"]
GOOD = ["2025-03-05", "C01", "S09", "VEG", "青菜", "60", "斤", "150.00", "INV-1"]
TODAY = dt.date(2025, 12, 31)


def _row(**changes):
    row = dict(zip(HEADER, GOOD))
    row.update(changes)
    return [row[h] for h in HEADER]


# (case id, rows after a good first row, expected row, expected column, reason fragment)
CASES = [
    ("impossible-date", [_row(date="2025-02-30", ref="X")], 3, "A (date)", "not a real date"),
    ("month-13", [_row(date="2025-13-01", ref="X")], 3, "A (date)", "not a real date"),
    ("day-month-year", [_row(date="05/03/2025", ref="X")], 3, "A (date)", "YYYY-MM-DD"),
    ("words-for-date", [_row(date="三月五日", ref="X")], 3, "A (date)", "not a date"),
    ("empty-date", [_row(date="", ref="X")], 3, "A (date)", "is empty"),
    ("future-date", [_row(date="2026-01-02", ref="X")], 3, "A (date)", "in the future"),
    ("excel-serial-with-time", [_row(date="45721.25", ref="X")], 3, "A (date)", "not a date"),
    ("zero-quantity", [_row(quantity="0", ref="X")], 3, "F (quantity)", "greater than 0"),
    ("negative-quantity", [_row(quantity="-5", ref="X")], 3, "F (quantity)", "greater than 0"),
    ("text-quantity", [_row(quantity="六十", ref="X")], 3, "F (quantity)", "not a number"),
    ("bad-grouping", [_row(quantity="1,2,3", ref="X")], 3, "F (quantity)", "not a number"),
    ("sub-milligram", [_row(quantity="0.0000001", unit="kg", ref="X")], 3, "F (quantity)", "milligram"),
    ("three-decimal-amount", [_row(amount="12.345", ref="X")], 3, "H (amount)", "more than 2 decimals"),
    ("negative-amount", [_row(amount="-10", ref="X")], 3, "H (amount)", "greater than 0"),
    ("zero-amount", [_row(amount="0", ref="X")], 3, "H (amount)", "greater than 0"),
    ("decimal-comma-amount", [_row(amount="150,5", ref="X")], 3, "H (amount)", "not a number"),
    ("unknown-canteen", [_row(canteen="C99", ref="X")], 3, "B (canteen)", "unknown canteen 'C99'"),
    ("ambiguous-canteen-name", [_row(canteen="学生食堂", ref="X")], 3, "B (canteen)", "use the code"),
    ("unknown-supplier", [_row(supplier="S99", ref="X")], 3, "C (supplier)", "unknown supplier"),
    ("unknown-category", [_row(category="MEATS", ref="X")], 3, "D (category)", "did you mean MEAT"),
    ("unknown-unit", [_row(unit="lb", ref="X")], 3, "G (unit)", "unknown unit 'lb'"),
    ("box-without-weight", [_row(unit="箱", ref="X")], 3, "G (unit)", "unit-weight"),
    ("empty-unit", [_row(unit="", ref="X")], 3, "G (unit)", "is empty"),
    ("empty-product", [_row(product="", ref="X")], 3, "E (product)", "is empty"),
    ("empty-ref", [_row(ref="")], 3, "I (ref)", "invoice or mall order number"),
    ("duplicate-ref-in-file", [_row()], 3, "I (ref)", "also on row 2"),
]


@pytest.mark.parametrize("rows, row, column, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_row_is_reported_and_nothing_written(master_engine, tmp_path, rows, row, column, fragment):
    path = write_csv(tmp_path / "p.csv", HEADER, [GOOD, *rows])
    with pytest.raises(InputFileError) as info:
        import_file(master_engine, path, today=TODAY)
    problems = info.value.problems
    assert any(p.row == row and p.column == column and fragment in p.reason for p in problems), problems
    assert str(path) in str(info.value) and "nothing was written" in str(info.value)
    with db.unit_of_work(master_engine) as uow:
        assert uow.session.scalar(select(func.count(Purchase.id))) == 0


def test_every_bad_row_is_listed_not_just_the_first(master_engine, tmp_path):
    rows = [GOOD, _row(date="2025-02-30", ref="A"), _row(amount="-1", ref="B"), _row(canteen="?", ref="C"), GOOD]
    with pytest.raises(InputFileError) as info:
        import_file(master_engine, write_csv(tmp_path / "p.csv", HEADER, rows), today=TODAY)
    assert [p.row for p in info.value.problems] == [3, 4, 5, 6]


def test_a_line_column_allows_several_lines_per_invoice_but_not_twice_the_same(master_engine, tmp_path):
    header = HEADER + ["line"]
    ok = write_csv(tmp_path / "ok.csv", header, [GOOD + ["1"], _row(product="白菜") + ["2"]])
    assert len(import_file(master_engine, ok, today=TODAY).added) == 2
    bad = write_csv(tmp_path / "bad.csv", header, [_row(ref="N") + ["1"], _row(ref="N") + ["1"], _row(ref="M") + ["1.5"]])
    with pytest.raises(InputFileError) as info:
        import_file(master_engine, bad, today=TODAY)
    reasons = [str(p) for p in info.value.problems]
    assert "row 3, column I (ref): ref 'N' line 1 of this supplier is also on row 2" in reasons
    assert any(r.startswith("row 4, column J (line)") and "not a line number" in r for r in reasons)


@pytest.mark.parametrize("header, fragment", [
    (HEADER[:-1], "missing column 'ref'"),
    (HEADER + ["colour"], "unknown column"),
    (HEADER + ["数量"], "appears twice"),
])
def test_bad_headers(master_engine, tmp_path, header, fragment):
    path = write_csv(tmp_path / "h.csv", header, [GOOD + ["x"] * (len(header) - len(GOOD))])
    with pytest.raises(InputFileError, match=fragment):
        import_file(master_engine, path, today=TODAY)


def test_value_in_a_column_without_header(master_engine, tmp_path):
    path = write_csv(tmp_path / "v.csv", HEADER, [GOOD + ["stray"]])
    with pytest.raises(InputFileError, match="row 2, column J: a value in a column without a header"):
        import_file(master_engine, path, today=TODAY)


@pytest.mark.parametrize("name, content, fragment", [
    ("empty.csv", b"", "the file is empty"),
    ("blank.csv", b"\n,,,\n", "the file is empty"),
    ("header-only.csv", ",".join(HEADER).encode() + b"\n", "no purchase lines"),
    ("old.xls", b"\xd0\xcf\x11\xe0", "Save As"),
    ("notes.pdf", b"%PDF", "unknown file type"),
    ("broken.xlsx", b"not a zip", "not a readable .xlsx"),
    ("binary.csv", b"\xff\xfe\xfa\x00\x81\x30", "cannot read the text"),
])
def test_unreadable_files(master_engine, tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FupinError, match=fragment):
        import_file(master_engine, path, today=TODAY)


def test_missing_file(master_engine, tmp_path):
    with pytest.raises(FupinError, match="no such file"):
        import_file(master_engine, tmp_path / "nope.csv", today=TODAY)


def test_closed_month_refuses_entries(master_engine, tmp_path):
    with db.unit_of_work(master_engine, write=True) as uow:
        ledger.close_month(uow.session, "2025-03", "tester")
        uow.commit()
    path = write_csv(tmp_path / "p.csv", HEADER, [_row(date="2025-04-01", ref="A"), GOOD])
    with pytest.raises(InputFileError) as info:
        import_file(master_engine, path, today=TODAY)
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "A (date)")]
    assert "month 2025-03 is closed" in info.value.problems[0].reason


def test_conflicting_reimport_names_the_entry_and_the_way_out(master_engine, tmp_path):
    import_file(master_engine, write_csv(tmp_path / "a.csv", HEADER, [GOOD]), today=TODAY)
    changed = write_csv(tmp_path / "b.csv", HEADER, [_row(amount="151.00")])
    with pytest.raises(InputFileError, match=r"already entry #\d+ with different amount_fen; .*void"):
        import_file(master_engine, changed, today=TODAY)
