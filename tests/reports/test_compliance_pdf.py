"""Compliance reports read back from the PDF: figures, Chinese text, embedded font, no fetches."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from pdfminer.high_level import extract_text
from sqlalchemy import select

import db
from procure import formats, ledger, quota, services, units, wording
from common.errors import FupinError
from procure.rules import DEFAULT_RULE
from reports import compliance, issue, render
from reports import figures as figures_shown
from db.models import ReportIssue

from .conftest import IMG, LINK, NOW, pdf_text, squash


def _issue(engine, tmp_path, institution="HNU-S", months=("2025-03",), lang="zh", fmt="pdf", name="r"):
    target = tmp_path / f"{name}.{fmt}"
    with db.unit_of_work(engine, write=True) as uow:
        view = compliance.build(uow.session, list(months), institution, DEFAULT_RULE, lang, NOW)
        with issue.issuing(uow.session, [(view, target)], fmt, "tester", NOW) as [row]:
            uow.commit()
    return view, row, target


def test_figures_equal_procure_compliance_and_chinese_font_is_embedded(engine, tmp_path):
    view, row, pdf = _issue(engine, tmp_path)
    with db.unit_of_work(engine) as uow:
        expected = formats.csv_rows(quota.month_compliance(uow.session, "2025-03", DEFAULT_RULE, "HNU-S"))
    lines = pdf_text(pdf).splitlines()
    for exp in expected:
        [line] = [ln for ln in lines if ln.split()[:1] == [exp["canteen"]]][:1]
        cells = line.split()
        # Issue 16: the PDF prints the same figures with thousands separators and shares as percentages.
        figures = [figures_shown.share_percent(exp[k]) if k.startswith("share") else figures_shown.grouped(exp[k])
                   for k in ["total_kg", "pa_kg", "share_qty", "total_amount", "pa_amount", "share_amount"]]
        assert cells[2:8] == figures
        assert cells[8] == wording.STATUS["zh"][quota.Status(exp["status"])]
        assert cells[9] == figures_shown.grouped(exp["shortfall_kg"])
    text = pdf_text(pdf)
    assert "琼州示例大学 食堂扶贫农产品采购比例报告" in text
    assert view.fingerprint in squash(text)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    cjk = [ln for ln in fonts.splitlines() if "FupinCJK" in ln]
    assert cjk and all(" yes yes yes " in ln for ln in cjk)
    assert row.file_sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()


def test_injected_names_print_as_text_and_nothing_is_fetched(engine, tmp_path):
    with db.unit_of_work(engine) as uow:
        view = compliance.build(uow.session, ["2025-03"], "HNU-S", DEFAULT_RULE, "zh", NOW)
    font = render.find_cjk_font()
    html, assets = issue.html(view, font)
    renderer = render.Renderer([html], font)
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(renderer.pdf(html, assets))
    assert renderer.fetcher.refused == []
    assert sorted(renderer.fetcher.served) == ["fupin-static:charts/share.png", "fupin-static:fonts/report-cjk.ttf",
                                               "fupin-static:report.css"]
    text = squash(pdf_text(pdf, layout=False))
    assert squash(IMG) in text and squash(LINK) in text
    mined = squash(extract_text(pdf))  # pdfminer reads wrapped cells column-wise: check the pieces
    assert "file:///etc/passwd" in mined and "169.254.169.254" in mined


def test_fetcher_refuses_everything_but_static_assets(tmp_path):
    fetcher = render.StaticFetcher()
    for url in ["file:///etc/passwd", "http://169.254.169.254/", "https://example.com/x.css",
                "data:text/css,body{}", "fupin-static:../render.py", "fupin-static:/etc/passwd", "report.css"]:
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("fupin-static:report.css").read().startswith(b"/*")
    # Even real markup (were escaping ever bypassed) cannot reach files or the network.
    html = f'<html><head>{LINK}<base href="file:///etc/"></head><body>{IMG}<p>扶贫</p></body></html>'
    renderer = render.Renderer([html])
    renderer.pdf(html)
    assert set(renderer.fetcher.refused) == {"file:///etc/passwd", "http://169.254.169.254/"}


def test_same_data_same_fingerprint_then_amendment_lists_changes(engine, tmp_path):
    with db.unit_of_work(engine, write=True) as uow:
        ledger.close_month(uow.session, "2025-03", "tester")
        uow.commit()
    first, row1, _ = _issue(engine, tmp_path, name="first")
    again, row2, _ = _issue(engine, tmp_path, lang="en", name="again")
    assert again.fingerprint == first.fingerprint and again.snapshot == first.snapshot
    assert not again.amendment and again.previous_no == row1.id
    with db.unit_of_work(engine, write=True) as uow:
        ledger.reopen_month(uow.session, "2025-03", "补录发票 INV-0107", "auditor")
        victim = next(p for p in services.month_entries(uow, "2025-03", "C01") if p.is_pa)
        void = ledger.void_entry(uow.session, victim.id, "重复录入", "auditor")
        uow.commit()
    amended, row3, pdf = _issue(engine, tmp_path, name="amended")
    assert amended.amendment and amended.previous_no == row2.id and amended.fingerprint != first.fingerprint
    text = squash(pdf_text(pdf))
    assert "更正报告" in text and squash(f"本报告更正第 {row2.id} 号报告") in text
    assert squash("补录发票 INV-0107") in text
    assert f"#{void.id}" in text and f"冲销#{victim.id}" in text
    assert squash(f"扶贫(kg) {first.snapshot['rows']['C01']['pa_kg']} → {amended.snapshot['rows']['C01']['pa_kg']}") in text
    with db.unit_of_work(engine) as uow:
        issued = list(uow.session.scalars(select(ReportIssue).order_by(ReportIssue.id)))
    assert [(r.previous_id, r.amendment, r.issued_by) for r in issued] == [
        (None, False, "tester"), (row1.id, False, "tester"), (row2.id, True, "tester")]


def test_province_period_is_ranked_with_totals_and_english_labels(engine, tmp_path):
    view, _, pdf = _issue(engine, tmp_path, institution=None, months=("2025-01", "2025-02", "2025-03"), lang="en")
    shares = [row[3 + compliance.SUMMARY_FIGURES.index("share_qty")] for row in view.summary.rows]
    assert shares == sorted(shares, key=lambda s: -float(s))
    with db.unit_of_work(engine) as uow:
        tallies = [quota.month_compliance(uow.session, m, DEFAULT_RULE).province.tally
                   for m in ["2025-01", "2025-02", "2025-03"]]
    total = sum(tallies, quota.Tally())
    assert view.snapshot["rows"]["total"]["total_kg"] == units.kg(total.total_mg)
    assert view.snapshot["rows"]["total"]["pa_amount"] == units.yuan(total.pa_fen)
    text = pdf_text(pdf)
    assert "Institutions, ranked" in text and "2025-01 .. 2025-03" in text and "threshold" in text


def test_xlsx_has_the_same_tables(engine, tmp_path):
    from openpyxl import load_workbook
    view, row, path = _issue(engine, tmp_path, fmt="xlsx")
    wb = load_workbook(path)
    ws = wb[view.summary.title]
    assert [c.value for c in ws[1]] == view.summary.columns
    from decimal import Decimal
    for cell, shown in zip(ws[2][:8], view.summary.rows[0][:8]):
        assert (Decimal(str(cell.value)) == Decimal(shown)) if cell.data_type == "n" else cell.value == shown
    assert ws[2][2].number_format == "0.000" and ws[2][5].number_format == "0.00"
    assert row.file_format == "xlsx" and row.fingerprint == view.fingerprint


def test_no_cjk_font_says_how_to_install_one():
    with pytest.raises(FupinError, match="apt-get install fonts-wqy-zenhei"):
        render.find_cjk_font(candidates=())
