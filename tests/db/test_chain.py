"""The ledger's hash chain: everything fupin wrote verifies; a change made behind its back is named."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

import db
from tests.cli.test_cli import fupin, loaded  # noqa: F401  (fixtures)
from tests.conftest import write_csv

HEADER = ["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref"]
ROWS = [["2025-03-05", "C01", "S06", "VEG", "青菜", "100", "斤", "300", "A"],
        ["2025-03-06", "C01", "S09", "VEG", "白菜", "150", "kg", "450", "B"],
        ["2025-03-07", "C02", "S07", "GRAIN", "大米", "2", "t", "9000", "C"]]


@pytest.fixture
def ledger(loaded, tmp_path):
    """A ledger with an import, a logged line, a void, a closed month and an issued report."""
    loaded("procure", "import", write_csv(tmp_path / "p.csv", HEADER, ROWS))
    loaded("procure", "log", "--date", "2025-03-08", "--canteen", "C01", "--supplier", "S07", "--category", "VEG",
           "--product", "青菜", "--qty", "60", "--unit", "斤", "--amount", "150", "--ref", "INV-9")
    loaded("procure", "void", "2", "--reason", "录错")
    loaded("procure", "close", "--month", "2025-03")
    loaded("report", "compliance", "--month", "2025-03", "--institution", "HNU-S", "-o", tmp_path / "r.xlsx")
    return loaded


def _raw(url: str, sql: str) -> None:
    """A change made with the database's own tools, not through fupin."""
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _head(out: str) -> str:
    return re.search(r"chain head: ([0-9a-f]{64})", out).group(1)


def test_what_fupin_wrote_verifies(ledger):
    out = ledger("procure", "verify")
    assert "ledger verified: 5 ledger entries" in out and "1 reports" in out, out
    head = _head(out)
    assert f"chain head {head[:12]} printed earlier is part of the chain" in ledger("procure", "verify", "--head",
                                                                                    head[:12])


@pytest.mark.parametrize("sql, named", [
    ("UPDATE purchases SET is_pa = NOT is_pa WHERE id = 2", "ledger entry #2 does not match the chain"),
    ("UPDATE purchases SET qty_mg = qty_mg * 10 WHERE id = 3", "ledger entry #3 does not match the chain"),
    ("DELETE FROM audit_events WHERE action = 'void'", "rows were deleted"),
    ("DELETE FROM report_issues", "rows were deleted"),
    ("UPDATE chain_links SET rows = rows + 1 WHERE id = 1", "chain link #1"),
    ("DELETE FROM chain_links WHERE id = 1", "does not follow the link before it"),
])
def test_a_change_behind_fupins_back_is_named(ledger, tmp_path, sql, named):
    _raw(ledger.url, sql)
    out = ledger("procure", "verify", ok=False)
    assert named in out and "Traceback" not in out, out
    refused = ledger("report", "compliance", "--month", "2025-03", "--institution", "HNU-S", "-o",
                     tmp_path / "again.xlsx", ok=False)
    assert "does not verify, so no report is issued" in refused and not (tmp_path / "again.xlsx").exists()


def test_a_row_written_outside_fupin_is_not_in_the_chain(ledger):
    _raw(ledger.url, "INSERT INTO audit_events (at, actor, action, entity, entity_key, detail) "
                     "VALUES ('2025-03-09 00:00:00', 'mallory', 'void', 'purchase', '1', '{}')")
    assert "is not in the chain: it was written outside fupin" in ledger("procure", "verify", ok=False)


def test_a_rewritten_tail_is_caught_only_against_an_earlier_head(ledger):
    head = _head(ledger("procure", "verify"))
    # Remove the newest link and everything it sealed: the rest of the chain still verifies ...
    _raw(ledger.url, "DELETE FROM report_issues")
    _raw(ledger.url, "DELETE FROM chain_links WHERE kind = 'report_issues'")
    _raw(ledger.url, "DELETE FROM audit_events WHERE action = 'issue'")
    _raw(ledger.url, "DELETE FROM chain_links WHERE id = (SELECT MAX(id) FROM chain_links)")
    assert "ledger verified" in ledger("procure", "verify")
    # ... but not against the head printed before.
    out = ledger("procure", "verify", "--head", head, ok=False)
    assert f"chain head {head} is not part of this ledger's chain" in out


def test_a_report_prints_the_head_it_was_built_on(ledger, tmp_path):
    head = _head(ledger("procure", "verify"))
    import openpyxl

    ledger("report", "compliance", "--month", "2025-03", "--institution", "HNU-S", "-o", tmp_path / "b.xlsx")
    info = openpyxl.load_workbook(tmp_path / "b.xlsx").worksheets[0]
    assert head in [c.value for row in info.iter_rows() for c in row]
