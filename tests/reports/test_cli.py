"""`fupin report compliance` as the user calls it, through the real `fupin` group."""

from __future__ import annotations

import os

from alembic import command
from click.testing import CliRunner

from cli import cli
import db

from .conftest import pdf_text


def _run(engine, *args, env=None):
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["--db", url, "--user", "finance", "report", "compliance", *args],
                              env=env, catch_exceptions=False)


def test_user_writes_an_institution_pdf_then_the_same_again(engine, tmp_path):
    out = tmp_path / "HNU-S-2025-03.pdf"
    first = _run(engine, "--month", "2025-03", "--institution", "HNU-S", "-o", str(out))
    assert first.exit_code == 0, first.output
    assert f"wrote {out}: report no. 1" in first.output
    assert "食堂扶贫农产品采购比例报告" in pdf_text(out)
    again = _run(engine, "--month", "2025-03", "--institution", "HNU-S", "-o", str(out))
    assert "report no. 2" in again.output and "same figures as no. 1" in again.output
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_every_institution_in_one_pass_and_xlsx(engine, tmp_path):
    result = _run(engine, "--month", "2025-03", "--every-institution", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("*-2025-03-zh.pdf"))) == 8
    xlsx = tmp_path / "province.xlsx"
    result = _run(engine, "--period", "2025-01..2025-03", "-o", str(xlsx))
    assert result.exit_code == 0 and xlsx.stat().st_size > 0


def test_user_errors_are_messages_not_tracebacks(engine, tmp_path):
    cases = [
        (["--month", "2025-13", "-o", str(tmp_path / "a.pdf")], "is not a month"),
        (["--month", "2025-03", "--institution", "NOPE", "-o", str(tmp_path / "a.pdf")], "unknown institution 'NOPE'"),
        (["--month", "2025-03", "-o", str(tmp_path / "a.txt")], "needs a file name ending in .pdf"),
        (["-o", str(tmp_path / "a.pdf")], "give either --month"),
        (["--period", "2025-03..2025-01", "-o", str(tmp_path / "a.pdf")], "ends before it starts"),
        (["--month", "2025-03", "-o", str(tmp_path / "missing" / "a.pdf")], "does not exist"),
    ]
    for args, message in cases:
        result = _run(engine, *args)
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, result.output


def test_without_a_cjk_font_the_command_says_how_to_install_one(engine, tmp_path):
    from reports import render
    render.find_cjk_font.cache_clear()
    try:
        result = _run(engine, "--month", "2025-03", "-o", str(tmp_path / "a.pdf"),
                      env={"FUPIN_CJK_FONT": str(tmp_path / "none.ttf")})
    finally:
        render.find_cjk_font.cache_clear()
    assert result.exit_code == 1 and "sudo apt-get install fonts-wqy-zenhei" in result.output
    assert not (tmp_path / "a.pdf").exists()


def test_help_has_an_example():
    result = CliRunner().invoke(cli, ["report", "compliance", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "--institution HNU-S" in result.output


def test_migration_0002_matches_the_models(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    db.upgrade(engine)
    command.check(db.alembic_config(engine))  # raises if models and migrations differ


def _registered(engine):
    from sqlalchemy import func, select

    from db.models import AuditEvent
    from db.models import ReportIssue
    with db.unit_of_work(engine) as uow:
        issues = list(uow.session.scalars(select(ReportIssue).order_by(ReportIssue.id)))
        events = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "issue"))
    return issues, events


def test_every_institution_with_jobs_renders_in_several_processes(engine, tmp_path):
    import hashlib
    result = _run(engine, "--month", "2025-03", "--every-institution", "--jobs", "2", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    files = sorted(tmp_path.glob("*-2025-03-zh.pdf"))
    issues, events = _registered(engine)
    assert len(files) == len(issues) == events == 8
    for row in issues:
        assert hashlib.sha256((tmp_path / row.file_name).read_bytes()).hexdigest() == row.file_sha256
    assert "琼州示例大学" in pdf_text(tmp_path / "HNU-S-2025-03-zh.pdf")
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    bad = _run(engine, "--month", "2025-03", "--every-institution", "--jobs", "0", "-o", str(tmp_path))
    assert bad.exit_code == 2 and "--jobs" in bad.output


def test_a_failure_mid_batch_leaves_no_files_and_no_registrations(engine, tmp_path, monkeypatch):
    from reports import issue
    real_stage, calls = issue.stage, []

    def stage_until_the_disk_is_full(target, data):
        calls.append(target)
        if len(calls) == 5:
            raise OSError(28, "No space left on device", str(target))
        return real_stage(target, data)

    monkeypatch.setattr(issue, "stage", stage_until_the_disk_is_full)
    out = tmp_path / "out"
    out.mkdir()
    result = _run(engine, "--month", "2025-03", "--every-institution", "--jobs", "1", "-o", str(out))
    assert result.exit_code == 1 and "No space left on device" in result.output, result.output
    assert "Traceback" not in result.output
    assert len(calls) == 5 and os.listdir(out) == []
    assert _registered(engine) == ([], 0)


def test_a_failed_commit_removes_the_rendered_files(engine, tmp_path):
    import pytest

    from procure.rules import DEFAULT_RULE
    from reports import compliance, issue

    from .conftest import NOW
    out = tmp_path / "out"
    out.mkdir()
    with db.unit_of_work(engine, write=True) as uow:
        jobs = [(compliance.build(uow.session, ["2025-03"], code, DEFAULT_RULE, "zh", NOW), out / f"{code}.xlsx")
                for code in ["HNU-S", "HKVC-S"]]
        with pytest.raises(RuntimeError), issue.issuing(uow.session, jobs, "xlsx", "tester", NOW):
            assert len([p for p in os.listdir(out) if p.endswith(".tmp")]) == 2
            raise RuntimeError("the commit failed")
    assert os.listdir(out) == []
    assert _registered(engine) == ([], 0)
