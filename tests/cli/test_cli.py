"""The fupin command as a user calls it: exit codes, messages, and what ends up in the database."""

from __future__ import annotations

import csv
import json
import re

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli import cli
import db
from db.models import Purchase
from tests.conftest import MASTER_KINDS, SAMPLE, write_csv

HEADER = ["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref"]


def all_commands(group: click.Group, prefix=()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, (*prefix, name))


@pytest.mark.parametrize("path, cmd", list(all_commands(cli)), ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_command_has_help_with_an_example(path, cmd):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert cmd.help and "Example" in cmd.help, f"fupin {' '.join(path)} needs a docstring with an example"


def _help_imports(*args: str) -> tuple[str, list[str]]:
    """What `fupin ARGS --help` prints, and which of the slow-to-import libraries it loaded."""
    import subprocess
    import sys

    code = (f"import json, sys; from click.testing import CliRunner; from cli import cli; "
            f"r = CliRunner().invoke(cli, {[*args, '--help']!r}); print(r.output); "
            "print(json.dumps(sorted(m for m in ('weasyprint', 'pulp', 'pandas', 'matplotlib', 'alembic', 'openpyxl', "
            "'dask', 'distributed') "
            "if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    body, _, loaded = out.rstrip().rpartition("\n")
    return body, json.loads(loaded)


def test_help_does_not_wait_for_the_heavy_libraries():
    out, loaded = _help_imports()
    assert loaded == [], out
    ctx = click.Context(cli)
    for name, (_, first_line) in cli.lazy.items():
        # The short help given in cli.py is the command's own first docstring line.
        assert cli.get_command(ctx, name).help.splitlines()[0] == first_line
        assert re.search(rf"^  {name}\s+\S", out, re.M), out  # listed, with its short help
    out, loaded = _help_imports("plan")
    assert "kindergartens" in out and not {"weasyprint", "pandas", "matplotlib", "dask", "distributed"} & set(loaded), loaded


@pytest.fixture
def fupin(db_url):
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(cli, ["--db", db_url, "--user", "tester", *map(str, args)])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    run.url = db_url
    return run


def ledger_count(url):
    engine = db.make_engine(url)
    with db.unit_of_work(engine) as uow:
        n = uow.session.scalar(select(func.count(Purchase.id)))
    engine.dispose()
    return n


@pytest.fixture
def loaded(fupin):
    for kind in MASTER_KINDS:
        assert "added" in fupin("procure", "import-master", "--kind", kind, SAMPLE / f"{kind}.csv")
    return fupin


def test_import_compliance_and_reimport(loaded, tmp_path):
    rows = [["2025-03-05", "C01", "S07", "VEG", "青菜", "100", "斤", "300", "A"],
            ["2025-03-06", "C01", "S09", "VEG", "白菜", "150", "kg", "450", "B"]]
    path = write_csv(tmp_path / "p.csv", HEADER, rows)
    assert "dry run: 2 line(s) would be added" in loaded("procure", "import", "--dry-run", path)
    assert ledger_count(loaded.url) == 0
    assert "2 line(s) added" in loaded("procure", "import", path)
    assert "nothing added: all 2 line(s) are already in the ledger" in loaded("procure", "import", path)
    assert ledger_count(loaded.url) == 2
    out = loaded("procure", "compliance", "--month", "2025-03", "--format", "csv", "--institution", "HNU-S")
    rows = list(csv.DictReader(out.splitlines()))
    c01 = next(r for r in rows if r["canteen"] == "C01")
    assert (c01["total_kg"], c01["pa_kg"], c01["share_qty"], c01["status"], c01["shortfall_kg"]) == (
        "200.000", "50.000", "0.2500", "compliant", "0.000")
    c02 = next(r for r in rows if r["canteen"] == "C02")
    assert (c02["status"], c02["share_qty"], c02["total_kg"]) == ("no_purchases", "", "0.000")
    table = loaded("procure", "compliance", "--month", "2025-03")
    assert "达标" in table and "合计 全省" in table
    doc = json.loads(loaded("procure", "compliance", "--month", "2025-03", "--format", "json"))
    assert doc["province"]["pa_kg"] == "50.000" and doc["rule"]["threshold"] == "0.20"


def test_bad_file_exits_non_zero_lists_rows_and_writes_nothing(loaded, tmp_path):
    rows = [["2025-03-05", "C01", "S07", "VEG", "青菜", "100", "斤", "300", "A"],
            ["2025-02-30", "C01", "S07", "VEG", "青菜", "-1", "斤", "300", "B"]]
    out = loaded("procure", "import", write_csv(tmp_path / "p.csv", HEADER, rows), ok=False)
    assert "row 3, column A (date)" in out and "row 3, column F (quantity)" in out and "Traceback" not in out
    assert ledger_count(loaded.url) == 0


def test_log_void_entries_audit_close(loaded):
    args = ["procure", "log", "--date", "2025-03-05", "--canteen", "C01", "--supplier", "S07", "--category", "VEG",
            "--product", "青菜", "--qty", "60", "--unit", "斤", "--amount", "150", "--ref", "INV-1"]
    assert "entry #1 added: 30 kg" in loaded(*args)
    assert "already in the ledger as entry #1" in loaded(*args)
    assert "voided by entry #2" in loaded("procure", "void", "1", "--reason", "录错")
    listing = loaded("procure", "entries", "--month", "2025-03")
    assert "#1" in listing and "void of #1" in listing
    assert "录错" in loaded("procure", "audit")
    assert "closed" in loaded("procure", "close", "--month", "2025-03")
    assert "month 2025-03 is closed" in loaded(*args[:-1], "INV-2", ok=False)
    assert "reopened" in loaded("procure", "reopen", "--month", "2025-03", "--reason", "补录")
    assert ledger_count(loaded.url) == 2


@pytest.mark.parametrize("args, fragment", [
    (["procure", "compliance", "--month", "2025-3"], "YYYY-MM"),
    (["procure", "compliance", "--month", "2025-03", "--institution", "NOPE"], "unknown institution"),
    (["procure", "compliance", "--month", "2025-03", "--threshold", "1.5"], "between 0 and 1"),
    (["procure", "compliance", "--month", "2025-03", "--threshold", "abc"], "not a number"),
    (["procure", "void", "42", "--reason", "x"], "no ledger entry #42"),
    (["procure", "reopen", "--month", "2025-03", "--reason", "x"], "not closed"),
    (["procure", "import", "nope.csv"], "no such file"),
    (["procure", "import-master", "--kind", "suppliers", "nope.csv"], "no such file"),
    (["procure", "entries", "--month", "2025-03", "--canteen", "X"], "unknown canteen"),
    (["procure", "template", "-o", "t.csv"], "name it .xlsx"),
    (["procure", "unit-weight", "米", "kg", "1"], "already a weight unit"),
])
def test_user_errors_are_messages_not_tracebacks(loaded, args, fragment):
    out = loaded(*args, ok=False)
    assert fragment in out and out.startswith("Error:")


def test_unreachable_database_is_a_message():
    result = CliRunner().invoke(cli, ["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "procure", "list",
                                      "canteens"])
    assert result.exit_code == 1 and "cannot open the database" in result.output


def test_db_upgrade_and_template(fupin, tmp_path):
    assert "schema upgraded from empty" in fupin("db", "upgrade")
    assert "schema already at" in fupin("db", "upgrade")
    assert "wrote" in fupin("procure", "template", "-o", tmp_path / "t.xlsx")
    assert "no purchase lines" in fupin("procure", "import", tmp_path / "t.xlsx", ok=False)


def test_default_database_is_fupin_db_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUPIN_DB", raising=False)
    result = CliRunner().invoke(cli, ["procure", "list", "canteens"])
    assert result.exit_code == 0 and (tmp_path / "fupin.db").exists()
    monkeypatch.setenv("FUPIN_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert CliRunner().invoke(cli, ["procure", "list", "canteens"]).exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_entries_and_compliance_round_the_same_way(loaded):
    # 0.5 g = 500 mg: 0.0005 kg, which half up shows as 0.001 (half to even would show 0.000).
    loaded("procure", "log", "--date", "2025-03-05", "--canteen", "C02", "--supplier", "S07", "--category", "VEG",
           "--product", "香菜", "--qty", "0.5", "--unit", "g", "--amount", "0.01", "--ref", "INV-HALF")
    listing = loaded("procure", "entries", "--month", "2025-03", "--canteen", "C02")
    row = next(line for line in listing.splitlines() if "INV-HALF" in line)
    assert " 0.001 " in row and " 0.000 " not in row, row
    out = loaded("procure", "compliance", "--month", "2025-03", "--format", "csv")
    c02 = next(r for r in csv.DictReader(out.splitlines()) if r["canteen"] == "C02")
    assert c02["total_kg"] == "0.001"


def test_compliance_output_file_is_written_whole(loaded, tmp_path, monkeypatch):
    import os

    target = tmp_path / "c.csv"
    target.write_text("earlier\n", encoding="utf-8")

    def fail(*_):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(os, "replace", fail)
    out = loaded("procure", "compliance", "--month", "2025-03", "--format", "csv", "-o", target, ok=False)
    assert "No space left on device" in out and "Traceback" not in out
    assert target.read_text(encoding="utf-8") == "earlier\n"
    assert not list(tmp_path.glob(".c.csv.*")), list(tmp_path.iterdir())  # no temporary file left behind


def test_plan_compare_does_not_load_the_database(tmp_path):
    import subprocess
    import sys

    code = ("import json, sys; from click.testing import CliRunner; from cli import cli; "
            "r = CliRunner().invoke(cli, ['plan', 'compare', 'nowhere-a', 'nowhere-b']); print(r.output); "
            "print(json.dumps(sorted(m for m in ('sqlalchemy', 'weasyprint', 'pandas', 'pulp') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    body, _, loaded = out.rstrip().rpartition("\n")
    assert "nowhere-a: no such run folder" in body and json.loads(loaded) == [], out


def test_worker_once_runs_what_is_queued_and_stops(fupin, tmp_path):
    fupin("db", "upgrade")
    output = fupin("worker", "--once", "--instance", tmp_path / "web")
    assert "0 job(s) run" in output and (tmp_path / "web" / "runs").is_dir()
