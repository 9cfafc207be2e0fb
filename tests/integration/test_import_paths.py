"""Issue 13, the fast paths of an import: a chunk of new lines inserted straight away (and undone when
one of them was not new), a plain amounts column read as one text, a chunk of plain CSV rows taken
whole, the date index built at the end, row hashes of many rows. Each must say and store exactly what
the careful way does."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest
from sqlalchemy import inspect, select

import db
from common.cells import UNSURE, plain_money_fen
from common.errors import InputFileError
from common.tables import Field, TableReader
from db import chain
from db.models import Purchase
from procure import ledger
from tests.conftest import import_file, write_csv

HEADER = ["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref", "line"]
TODAY = dt.date(2025, 12, 31)


def _rows(refs) -> list[list[str]]:
    return [[f"2025-03-{i % 28 + 1:02d}", "C01", "S07", "VEG", "青菜", str(i % 90 + 1), "斤", f"{i % 500 + 1}.50",
             f"MIX-{i}", "1"] for i in refs]


def test_new_and_present_lines_mixed_in_chunks_are_told_apart(master_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(ledger, "CHUNK_ROWS", 1_000)
    import_file(master_engine, write_csv(tmp_path / "old.csv", HEADER, _rows(range(0, 3_000, 2))), today=TODAY)
    with db.unit_of_work(master_engine, write=True) as uow:
        voided = uow.session.scalar(select(Purchase.id).where(Purchase.ref == "MIX-2000"))
        ledger.void_entry(uow.session, voided, "wrong", "tester")
        uow.commit()
    # Chunk 1: new lines only; chunks 2-3: new and present lines alternate, MIX-2000 is entered again
    # after its void; chunk 4: new lines only again.
    refs = [*range(10_000, 11_000), *range(0, 2_002), *range(20_000, 21_000)]
    new = [r for r in refs if r >= 10_000 or r % 2 or r == 2_000]
    result = import_file(master_engine, write_csv(tmp_path / "mixed.csv", HEADER, _rows(refs)), today=TODAY)
    assert (result.lines_added, result.lines_present) == (len(new), len(refs) - len(new)) == (3_002, 1_000)
    assert result.ids == range(result.ids[0], result.ids[0] + 3_002)
    with db.unit_of_work(master_engine) as uow:
        added = uow.session.execute(select(Purchase.ref, Purchase.key_seq).where(Purchase.id >= result.ids[0])
                                    .order_by(Purchase.id)).all()
        assert chain.verify(uow.session.connection()).ok
    assert [ref for ref, _ in added] == [f"MIX-{r}" for r in new]  # in the file's order, ids without gaps
    assert {ref: seq for ref, seq in added if seq != 1} == {"MIX-2000": 2}
    assert [row for row, _ in result.already_present] == [1_002 + i for i in range(0, 2_002, 2) if i != 2_000]
    again = import_file(master_engine, write_csv(tmp_path / "mixed.csv", HEADER, _rows(refs)), today=TODAY)
    assert (again.lines_added, again.lines_present) == (0, len(refs))


def _cents_reference(cells, max_fen):
    """The per-cell reading of plain_money_fen, as it was before the column was read as one text."""
    out = []
    for cell in cells:
        m = re.fullmatch(r"(\d{1,12})(?:\.(\d{1,2}))?", cell) if cell.__class__ is str else None
        if m is None:
            out.append(UNSURE)
            continue
        yuan, fen = m.groups()
        value = int(yuan) * 100 + (int(fen) * (10 if len(fen) == 1 else 1) if fen else 0)
        out.append(value if 0 < value <= max_fen else UNSURE)
    return out


cents = st.builds(lambda y, f: f"{y}.{f:02d}", st.integers(0, 10 ** 13), st.integers(0, 99))
odd_amounts = st.sampled_from(["0.00", "1.5", "12", "1.00\n2.00", "١٢.٣٤", "12.345", "", " 1.00", "1,000.00",
                               "000000000001.00", "9999999999999.99", None, 12.5])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(cents, cents, cents, odd_amounts), min_size=0, max_size=30),
       st.sampled_from([10 ** 9, 10 ** 11, 10 ** 15]))
def test_an_amounts_column_read_as_one_text_says_what_each_cell_says(cells, max_fen):
    assert plain_money_fen(cells, max_fen) == _cents_reference(cells, max_fen)


def test_a_chunk_of_plain_rows_taken_whole_numbers_rows_as_read_one_by_one(tmp_path):
    rows = [[f"2025-03-{i % 28 + 1:02d}", f"R-{i}"] for i in range(30)]
    rows[16] = ["", ""]  # blank: skipped, but counted
    rows[18] = ["  ", "R-18"]  # first cell only spaces: read by the careful way
    rows[22] = ["2025-03-01", "R-22", "stray"]  # a cell outside the named columns
    path = write_csv(tmp_path / "t.csv", ["date", "ref"], rows)
    fields = [Field("date", ()), Field("ref", ())]

    def read(size):
        reader = TableReader(path, fields)
        chunks = list(reader.chunks(size))
        reader.close()
        numbers = [n for c in chunks for n in c.numbers]
        cells = [(d, r) for c in chunks for d, r in zip(c.cells["date"], c.cells["ref"])]
        return numbers, cells, [str(p) for p in reader.problems.listed]

    whole = read(10)  # the first ten rows are plain and taken whole
    assert whole == read(7) == read(1_000)
    numbers, cells, problems = whole
    assert numbers == [n for n in range(2, 32) if n != 18]
    assert cells[17] == ("  ", "R-18") and problems == ["row 24, column C: a value in a column without a header"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(
    st.dates(dt.date(2000, 1, 1), dt.date(2030, 1, 1)), st.integers(1, 500), st.integers(1, 500), st.integers(1, 50),
    st.text(min_size=1, max_size=8), st.sampled_from(["60", "60.0", "0.5", "1200"]), st.sampled_from(["斤", "kg", "袋"]),
    st.integers(1, 10 ** 12), st.integers(1, 10 ** 11), st.text(min_size=1, max_size=12), st.integers(1, 9999),
    st.integers(1, 3), st.booleans(), st.sampled_from(["none", "mall", "village", "certified"]),
    st.one_of(st.none(), st.text(max_size=10)), st.one_of(st.none(), st.text(max_size=20))), min_size=1, max_size=20))
def test_row_hasher_says_what_row_hash_says(values):
    lines = [(d.isoformat(), c, s, k, p, q, u, mg, fen, ref, line, int(pa), src, cert, note, seq)
             for d, c, s, k, p, q, u, mg, fen, ref, line, seq, pa, src, cert, note in values]
    constants = {"reverses_id": None, "batch_id": 7, "created_by": "tester",
                 "created_at": dt.datetime(2025, 5, 1, 8, 30, 15, tzinfo=dt.UTC)}
    hashes = list(map(chain.row_hasher("purchases", ledger.LINE, constants, ("ref", "note", "qty_mg", "amount_fen")),
                      lines))
    for line, digest in zip(lines, hashes):
        row = dict(zip(ledger.LINE, line)) | constants
        row["purchase_date"] = dt.date.fromisoformat(row["purchase_date"])
        assert chain.row_hash("purchases", row) == digest


def _indexes(engine) -> set[str]:
    with engine.connect() as conn:
        return {ix["name"] for ix in inspect(conn).get_indexes("purchases")}


def test_a_file_as_large_as_the_ledger_builds_the_date_index_at_the_end(master_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(ledger, "INDEXES_AFTER", 100)
    seen = []
    write_lines = ledger._write_lines

    def spying(parsed, writer, progress=None):
        written = write_lines(parsed, writer, progress)
        seen.append({ix["name"] for ix in inspect(writer.conn).get_indexes("purchases")})
        return written

    monkeypatch.setattr(ledger, "_write_lines", spying)
    before = _indexes(master_engine)
    assert "ix_purchases_date_canteen" in before
    rows = _rows(range(300))
    rows.append([*rows[0][:7], "1.234", "MIX-LAST", "1"])
    with pytest.raises(InputFileError):
        import_file(master_engine, write_csv(tmp_path / "bad.csv", HEADER, rows), today=TODAY)
    # On SQLite the index is dropped once lines went in; PostgreSQL keeps it (a drop would lock out readers).
    assert ("ix_purchases_date_canteen" in seen[0]) == (master_engine.dialect.name == "postgresql")
    assert _indexes(master_engine) == before  # the failed import's rollback brought it back
    rows[-1][7] = "1.23"
    dry = import_file(master_engine, write_csv(tmp_path / "good.csv", HEADER, rows), today=TODAY, dry_run=True)
    assert dry.lines_added == 301 and _indexes(master_engine) == before  # rolled back, index and all
    assert import_file(master_engine, tmp_path / "good.csv", today=TODAY).lines_added == 301
    assert _indexes(master_engine) == before
    assert import_file(master_engine, tmp_path / "good.csv", today=TODAY).lines_present == 301
    assert "ix_purchases_date_canteen" in seen[-1]  # nothing added: the index was kept
    assert import_file(master_engine, write_csv(tmp_path / "more.csv", HEADER, _rows(range(400, 600))),
                       today=TODAY).lines_added == 200
    assert "ix_purchases_date_canteen" in seen[-1]  # fewer lines than the ledger holds: the index is kept
    with db.unit_of_work(master_engine) as uow:
        assert chain.verify(uow.session.connection()).ok
        day = uow.session.scalar(select(Purchase.id).where(Purchase.purchase_date == dt.date(2025, 3, 1),
                                                           Purchase.canteen_id == 1).limit(1))
        assert day is not None
    assert _indexes(master_engine) == before
