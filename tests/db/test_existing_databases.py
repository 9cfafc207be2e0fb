"""A database written before the layers moved (fupin at commit 6a69ee5, schema 0002) upgrades and
reads the same figures: the migrations kept their revision ids when they moved to db/, and the
hash chain (0003) seals the rows it finds."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from cli import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _fupin(db_file: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", f"sqlite:///{db_file}", "--user", "tester", *args])


def test_an_existing_database_reads_the_same_figures(tmp_path):
    db_file = tmp_path / "old.db"
    shutil.copy(FIXTURES / "ledger-schema-0002.db", db_file)
    refused = _fupin(db_file, "procure", "compliance", "--month", "2025-03")
    assert refused.exit_code == 1 and "run `fupin db upgrade`" in refused.output
    upgraded = _fupin(db_file, "db", "upgrade")
    assert upgraded.exit_code == 0 and "schema upgraded from 0002 to 0006" in upgraded.output, upgraded.output
    out = tmp_path / "compliance.csv"
    result = _fupin(db_file, "procure", "compliance", "--month", "2025-03", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == (FIXTURES / "ledger-schema-0002-compliance-2025-03.csv").read_text(
        encoding="utf-8")
    entries = _fupin(db_file, "procure", "entries", "--month", "2025-03", "--canteen", "C01")
    assert entries.exit_code == 0 and "void of #3" in entries.output
    verified = _fupin(db_file, "procure", "verify")
    assert verified.exit_code == 0 and "401 ledger entries" in verified.output, verified.output


def test_a_report_issued_before_is_recognised_as_the_same_figures(tmp_path):
    db_file = tmp_path / "old.db"
    shutil.copy(FIXTURES / "ledger-schema-0002.db", db_file)
    assert _fupin(db_file, "db", "upgrade").exit_code == 0
    out = tmp_path / "HNU-S.xlsx"
    result = _fupin(db_file, "report", "compliance", "--month", "2025-03", "--institution", "HNU-S", "-o", str(out))
    assert result.exit_code == 0, result.output
    # Report no. 1 was issued by the old fupin from the same rows: same fingerprint, no amendment.
    assert "report no. 2" in result.output and "same figures as no. 1" in result.output, result.output
