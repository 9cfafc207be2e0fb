"""Every report kind read back from its PDF (issue 16): no word crosses a table's cell border,
leaves the page or lies on another word; codes break only at their own separators; names in a
ranking take at most two lines. On extreme data (figures of ten digits before the point, names of
30+ Chinese characters, 16-character codes, 12 canteens an institution, 50 institutions) and on
the sample reports of `make demo`. Each kind is rendered once."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import matplotlib
import pytest
from click.testing import CliRunner
from matplotlib.backends.backend_agg import FigureCanvasAgg
from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LTChar, LTLine
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage

import db
from cli import cli
from planning.kindergartens import KindergartenScenario, plan_province, read_province
from procure import ledger, masterdata
from procure.rules import DEFAULT_RULE
from reports import compliance, issue, render
from reports.charts import _rc, share_figure
from reports.kindergartens import write_kindergarten_report

from .conftest import NOW

ROOT = Path(__file__).resolve().parents[2]
MARGIN = 14 * 72 / 25.4  # the pages' left and right margins, in points
SEPARATORS = "-/_ "
TOL = 0.3
POOL = "甲乙丙丁戊己庚辛壬癸"


@dataclass
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class Page:
    number: int
    width: float
    words: list[Word]
    columns: list[tuple[float, float, float]]  # vertical cell borders: x, y0, y1
    rows: list[tuple[float, float, float]]  # horizontal cell borders: y, x0, x1


def _walk(item):
    yield item
    if hasattr(item, "__iter__"):
        for child in item:
            yield from _walk(child)


def _layouts(pdf: Path):
    """Each page's characters and lines, without pdfminer's layout analysis (which we do not need)."""
    manager = PDFResourceManager()
    device = PDFPageAggregator(manager, laparams=None)
    interpreter = PDFPageInterpreter(manager, device)
    with open(pdf, "rb") as f:
        for page in PDFPage.get_pages(f):
            interpreter.process_page(page)
            yield device.get_result()


def read_pages(pdf: Path) -> list[Page]:
    pages = []
    for number, layout in enumerate(_layouts(pdf), start=1):
        chars, columns, rows = [], [], []
        for item in _walk(layout):
            if isinstance(item, LTChar):
                chars.append(item)
            # Table borders are the only 0.4 pt lines (headings' rules are 0.6 pt, charts' 0.8 pt).
            elif isinstance(item, LTLine) and 0.3 < item.linewidth < 0.5:
                if abs(item.x0 - item.x1) < 0.5:
                    columns.append((item.x0, item.y0, item.y1))
                elif abs(item.y0 - item.y1) < 0.5:
                    rows.append((item.y0, item.x0, item.x1))
        pages.append(Page(number, layout.width, _words(chars), columns, rows))
    return pages


def _words(chars: list[LTChar]) -> list[Word]:
    """Runs of characters on one baseline with no gap between them (a space or a gap ends a word)."""
    lines: dict[tuple, list[LTChar]] = defaultdict(list)
    for ch in chars:
        lines[(round(ch.y0, 1), round(ch.y1, 1), ch.upright)].append(ch)
    words = []
    for line in lines.values():
        line.sort(key=lambda c: c.x0)
        run: list[LTChar] = []
        for ch in line + [None]:
            if ch is None or ch.get_text().isspace() or (run and ch.x0 - run[-1].x1 > 1.0):
                if run:
                    words.append(Word("".join(c.get_text() for c in run), run[0].x0, min(c.y0 for c in run),
                                      run[-1].x1, max(c.y1 for c in run)))
                run = [] if ch is None or ch.get_text().isspace() else [ch]
            else:
                run.append(ch)
    return words


def _cells(page: Page) -> dict[tuple, list[Word]]:
    """The words of each table cell: between the nearest borders on the left and above."""
    cells = defaultdict(list)
    for w in page.words:
        left = [x for x, y0, y1 in page.columns if x <= w.x0 + TOL and y0 < w.y1 and y1 > w.y0]
        above = [y for y, x0, x1 in page.rows if y >= w.y1 - TOL and x0 < w.x1 and x1 > w.x0]
        if left and above:
            cells[(round(max(left), 1), round(min(above), 1))].append(w)
    return cells


def problems(pdf: Path, codes: set[str] = frozenset(), names: set[str] = frozenset(),
             pages: list[Page] | None = None) -> list[str]:
    out: list[str] = []
    found_names: dict[str, int] = {}
    wanted = {unicodedata.normalize("NFKC", n): n for n in names}  # pdfminer reads （ as (
    for page in pages or read_pages(pdf):
        where = f"{pdf.name} p{page.number}"
        for w in page.words:
            if w.x0 < MARGIN - 1 or w.x1 > page.width - MARGIN + 1:
                out.append(f"{where}: {w.text!r} leaves the page's text area ({w.x0:.1f}..{w.x1:.1f})")
            for x, y0, y1 in page.columns:
                if w.x0 + TOL < x < w.x1 - TOL and y0 < w.y1 - 1 and y1 > w.y0 + 1:
                    out.append(f"{where}: {w.text!r} crosses a cell border at x={x:.1f}")
            for y, x0, x1 in page.rows:
                if w.y0 + 1 < y < w.y1 - 1 and x0 < w.x1 - TOL and x1 > w.x0 + TOL:
                    out.append(f"{where}: {w.text!r} crosses a cell border at y={y:.1f}")
            for code in codes:
                if w.text != code and w.text in code and len(w.text) > 2 and any(c.isalpha() for c in w.text):
                    at = code.find(w.text)
                    end = at + len(w.text)
                    starts_ok = at == 0 or code[at - 1] in SEPARATORS
                    ends_ok = end == len(code) or code[end - 1] in SEPARATORS or code[end] in SEPARATORS
                    if not (starts_ok and ends_ok):
                        out.append(f"{where}: the code {code} is broken inside ({w.text!r})")
        ordered = sorted(page.words, key=lambda w: w.x0)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                if b.x0 >= a.x1 - TOL:
                    break
                if min(a.y1, b.y1) - max(a.y0, b.y0) > 1:
                    out.append(f"{where}: {a.text!r} and {b.text!r} overlap")
        for words in _cells(page).values():
            text = "".join(w.text for w in sorted(words, key=lambda w: (-w.y1, w.x0)))
            if text in wanted:
                found_names[wanted[text]] = max(found_names.get(wanted[text], 0), len({round(w.y1) for w in words}))
    for name in names:
        if name not in found_names:
            out.append(f"{pdf.name}: the name {name} is in no cell of its own")
        elif found_names[name] > 2:
            out.append(f"{pdf.name}: the name {name} takes {found_names[name]} lines")
    return out


def render_compliance(session, months: list[str], institution: str | None, lang: str, target: Path) -> Path:
    view = compliance.build(session, months, institution, DEFAULT_RULE, lang, NOW)
    font = render.find_cjk_font()
    html, assets = issue.html(view, font)
    target.write_bytes(render.Renderer([html], font).pdf(html, assets))
    return target


def fupin(*args) -> None:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------------------------------------
# Extreme data


def institution_name(i: int) -> str:
    return f"海南省{POOL[i // 10]}{POOL[i % 10]}号黎族苗族自治县教育局直属职业技术学院附属继续教育学院"  # 33


def canteen_name(j: int) -> str:
    return f"第{POOL[j % 10]}{POOL[j // 10]}学生食堂（清真风味与地方特色餐饮综合服务中心）"  # 30


INSTITUTIONS = [f"HN-VOCCOL-{i:04d}-A" for i in range(50)]  # 16 characters
BIG = INSTITUTIONS[0]


def canteen_code(i: int, j: int) -> str:
    return f"CT{i:03d}-{j:02d}-KITCHEN"  # 16


SUPPLIERS = [("SUP-MALL-000001", "海南爱心扶贫网示例商城农副产品直营旗舰店（海口市龙华区分店）", "mall", "", ""),
             ("SUP-CERT-000002", "五指山市毛阳镇农民专业合作社联合社扶贫产品认定生产基地第一分部", "certified",
              "HNFP2024CERT0017", "2025-02-15"),
             ("SUP-NONE-000003", "海口市秀英区农产品批发市场综合经营管理有限责任公司第三经营部", "none", "", "")]
CATEGORIES = [("VEG-LEAFY-GREENS", "新鲜叶菜类蔬菜（含有机认证及绿色食品认证产品）", "yes"),
              ("OIL-GRAIN-STAPLE", "粮油米面及其他主食原料（含杂粮与地方特色主食）", "no")]


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def extreme_engine(tmp_path_factory):
    work = tmp_path_factory.mktemp("extreme")
    files = {
        "institutions": _write(work / "i.csv", ["code", "name", "kind"],
                               [[c, institution_name(i), "higher_vocational"] for i, c in enumerate(INSTITUTIONS)]),
        "canteens": _write(work / "c.csv", ["code", "institution", "name"],
                           [[canteen_code(i, j), c, canteen_name(j)] for i, c in enumerate(INSTITUTIONS)
                            for j in range(12)]),
        "suppliers": _write(work / "s.csv", ["code", "name", "eligibility", "certificate", "county", "valid_from",
                                             "valid_to"],
                            [[code, name, kind, cert, "五指山市" if cert else "", "2024-01-01" if cert else "", to]
                             for code, name, kind, cert, to in SUPPLIERS]),
        "categories": _write(work / "k.csv", ["code", "name", "counts_toward_quota"], [list(k) for k in CATEGORIES]),
    }
    lines = []
    for i, inst in enumerate(INSTITUTIONS):
        for j in range(12):
            for month in ("01", "02", "03"):
                big = inst == BIG and month == "03"
                day = f"2025-{month}-{10 + j:02d}"
                # The big institution's March: ten-digit totals (12 canteens of 800,000,000 kg).
                # Small ones: compliant but for the last canteen, so the exceptions stay a few pages.
                qty, pa_qty = ("600000000.123", "199999999.999") if big else ("1234.5", str(100 if j == 11 else 400 + 37 * j))
                amount, pa_amount = ("650000000.55", "99999999.99") if big else ("23456.78", "3456.70")
                ref = f"INV-{i:03d}{j:02d}{month}-2025"  # 16
                supplier = SUPPLIERS[1 if j % 3 == 0 and i < 3 else 0][0]
                lines += [[day, canteen_code(i, j), SUPPLIERS[2][0], CATEGORIES[0][0], "有机蔬菜（叶菜类混装礼盒）",
                           qty, "kg", amount, ref, 1],
                          [day, canteen_code(i, j), supplier, CATEGORIES[0][0], "扶贫认定产品：五指山红茶与山兰稻米组合装",
                           pa_qty, "kg", pa_amount, ref, 2],
                          [day, canteen_code(i, j), SUPPLIERS[2][0], CATEGORIES[1][0], "大米", "25", "kg", "120.00",
                           ref, 3]]
    purchases = _write(work / "p.csv", ["date", "canteen", "supplier", "category", "product", "quantity", "unit",
                                        "amount", "ref", "line"], lines)
    engine = db.make_engine(f"sqlite:///{work / 'extreme.db'}")
    db.ensure_schema(engine)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUPIN_MAX_LINE_KG", "1000000000")
        mp.setenv("FUPIN_MAX_LINE_YUAN", "10000000000")
        with db.unit_of_work(engine, write=True) as uow:
            for kind, path in files.items():
                masterdata.import_master(uow.session, kind, path, "tester")
            ledger.import_purchases(uow.session, purchases, "tester", today=dt.date(2025, 4, 1))
            uow.commit()
    yield engine
    engine.dispose()


EXTREME_CODES = {*INSTITUTIONS, *(canteen_code(i, j) for i in range(2) for j in range(12)),
                 *(s[0] for s in SUPPLIERS), "HNFP2024CERT0017", *(k[0] for k in CATEGORIES)}


def test_institution_report_on_extreme_data(extreme_engine, tmp_path):
    with db.unit_of_work(extreme_engine) as uow:
        pdf = render_compliance(uow.session, ["2025-03"], BIG, "zh", tmp_path / "big.pdf")
    pages = read_pages(pdf)
    words = {w.text for p in pages for w in p.words}
    assert {"9,600,000,001.464", "25.00%"} <= words  # the total row: ten digits, grouped; a share in percent
    assert problems(pdf, EXTREME_CODES, {canteen_name(j) for j in range(12)}, pages) == []


def test_institution_period_report_in_english_on_extreme_data(extreme_engine, tmp_path):
    with db.unit_of_work(extreme_engine) as uow:
        pdf = render_compliance(uow.session, ["2025-01", "2025-02", "2025-03"], BIG, "en", tmp_path / "big-en.pdf")
    assert problems(pdf, EXTREME_CODES, {canteen_name(j) for j in range(12)}) == []


def test_province_report_on_extreme_data(extreme_engine, tmp_path):
    with db.unit_of_work(extreme_engine) as uow:
        pdf = render_compliance(uow.session, ["2025-01", "2025-02", "2025-03"], None, "zh", tmp_path / "province.pdf")
    pages = read_pages(pdf)
    text = [w.text for p in pages for w in p.words]
    assert text.count("全省院校食堂扶贫农产品采购比例汇总报告") == 1 and "全省" not in text
    assert problems(pdf, EXTREME_CODES, {institution_name(i) for i in range(50)}, pages) == []


def _planning_data(folder: Path) -> Path:
    folder.mkdir(parents=True)
    codes = [f"HN-COUNTY-{i:04d}-X" for i in range(4)]
    (folder / "counties.csv").write_text("code,name,poverty,special_post_capacity\n" + "".join(
        f"{c},{institution_name(i)[:6]}黎族苗族自治县教育局直属乡镇中心学校联合体试点区,"
        f"{['national', 'provincial', 'none', 'national'][i]},{900_000_000 + i}\n"
        for i, c in enumerate(codes)), encoding="utf-8")
    (folder / "teacher_needs.csv").write_text("county,stage,shortage\n" + "".join(
        f"{c},{s},{400_000_000 + 7 * i}\n" for i, c in enumerate(codes) for s in ("primary", "junior")),
        encoding="utf-8")
    (folder / "applicants.csv").write_text("county,programme,year,applicants\n" + "".join(
        f"{c},{p},{y},{300_000_000 + i}\n" for i, c in enumerate(codes) for p in ("primary", "preschool")
        for y in (2018, 2019, 2020)), encoding="utf-8")
    (folder / "graduate_needs.csv").write_text("county,programme,year,vacancies\n" + "".join(
        f"{c},{p},{y},{500_000_000 + i}\n" for i, c in enumerate(codes) for p in ("primary", "preschool")
        for y in (2022, 2023, 2024)), encoding="utf-8")
    (folder / "a.yaml").write_text("name: 极端数据情景（十位数岗位与三十字以上名称）\ntotal_posts: 2900000000\n"
                                   "poverty_floor: 100000000\nannual_intake: {primary: 200000000, preschool: 100000000}\n",
                                   encoding="utf-8")
    (folder / "b.yaml").write_text("name: 另一情景\ntotal_posts: 2500000000\n", encoding="utf-8")
    return folder


def test_planning_reports_on_extreme_data(tmp_path):
    data = _planning_data(tmp_path / "data")
    fupin("plan", "teachers", "--data", data, "--scenario", data / "a.yaml", "--out", tmp_path / "a")
    fupin("plan", "teachers", "--data", data, "--scenario", data / "b.yaml", "--out", tmp_path / "b")
    fupin("plan", "compare", tmp_path / "a", tmp_path / "b", "--pdf", tmp_path / "compare.pdf")
    fupin("plan", "graduates", "--data", data, "--scenario", data / "a.yaml", "--out", tmp_path / "g")
    codes = {f"HN-COUNTY-{i:04d}-X" for i in range(4)}
    for pdf in (tmp_path / "a" / "report.pdf", tmp_path / "compare.pdf", tmp_path / "g" / "report.pdf"):
        assert problems(pdf, codes) == []


def test_kindergarten_report_on_extreme_data(tmp_path):
    data = tmp_path / "kg"
    data.mkdir()
    township = "三十个汉字以上的乡镇名称示例：海南省某某黎族苗族自治县某某镇人民政府驻地"
    (data / "townships.csv").write_text(
        f"code,county,name,population,seat\nHN-TOWNSHIP-0001,HN-COUNTY-000001,{township},2000000000,HN-VILLAGE-00001\n",
        encoding="utf-8")
    villages = "".join(f"HN-VILLAGE-{k:05d},HN-TOWNSHIP-0001,{POOL[k % 10]}{POOL[k // 10]}村民委员会所辖自然村（含移民新村与农场生产队居民点）,"
                       f"0,{k * 0.01:.2f},{60 + k * 7},{'yes' if k % 2 else 'no'},{90 if k == 1 else 0},"
                       f"{'yes' if k == 1 else 'no'}\n" for k in range(1, 7))
    (data / "villages.csv").write_text("code,township,name,x_km,y_km,children,primary_school,kg_places,kg_central\n"
                                       + villages, encoding="utf-8")
    plan = plan_province(read_province(data), KindergartenScenario(new_cost=1_999_999_999), jobs=1)
    pdf = tmp_path / "report.pdf"
    write_kindergarten_report(plan, pdf)
    assert problems(pdf, {"HN-TOWNSHIP-0001", *(f"HN-VILLAGE-{k:05d}" for k in range(1, 7))}) == []


def test_share_chart_legend_is_outside_the_plot():
    font = render.find_cjk_font()
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    for n, name in ((3, "第一食堂"), (12, canteen_name(0)), (50, institution_name(0))):
        series = [(f"{canteen_code(0, k)} {name}", [Fraction(k, 60)] * 12) for k in range(n)]
        with matplotlib.rc_context(_rc(font)):
            fig = share_figure(months, series, Fraction(1, 5), {"threshold": "考核线", "share": "占比"})
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            renderer = canvas.get_renderer()
            [ax] = fig.axes
            legend = ax.get_legend() or fig.legends[0]
            box, plot, page = legend.get_window_extent(renderer), ax.get_window_extent(renderer), fig.bbox
            assert not box.overlaps(plot), n
            assert page.x0 <= box.x0 and box.x1 <= page.x1 + 1 and page.y0 <= box.y0 and box.y1 <= page.y1 + 1, n


# ---------------------------------------------------------------------------------------------
# The sample reports of `make demo`


def test_sample_compliance_reports(engine, tmp_path):
    with db.unit_of_work(engine) as uow:
        pdfs = [render_compliance(uow.session, ["2025-03"], "HNU-S", "zh", tmp_path / "HNU-S-2025-03.pdf"),
                render_compliance(uow.session, ["2025-03"], "HNU-S", "en", tmp_path / "HNU-S-2025-03-en.pdf"),
                render_compliance(uow.session, ["2025-01", "2025-02", "2025-03"], None, "zh",
                                  tmp_path / "province-2025Q1.pdf")]
    sample = ROOT / "data" / "sample"
    with open(sample / "canteens.csv", encoding="utf-8") as f:
        canteens = {r["code"] for r in csv.DictReader(f)}
    with open(sample / "institutions.csv", encoding="utf-8") as f:
        institutions = {r["code"]: r["name"] for r in csv.DictReader(f)}
    assert problems(pdfs[0], canteens | set(institutions)) == []
    assert problems(pdfs[1], canteens | set(institutions)) == []
    assert problems(pdfs[2], canteens | set(institutions), set(institutions.values())) == []


def test_sample_planning_reports(tmp_path):
    data = ROOT / "data" / "planning"
    fupin("plan", "teachers", "--data", data, "--out", tmp_path / "base")
    fupin("plan", "teachers", "--data", data, "--scenario", data / "scenario_floor.yaml", "--out", tmp_path / "floor")
    fupin("plan", "compare", tmp_path / "base", tmp_path / "floor", "--pdf", tmp_path / "compare.pdf")
    fupin("plan", "graduates", "--data", data, "--scenario", data / "scenario_baseline.yaml", "--out", tmp_path / "g")
    kg = tmp_path / "kg-data"
    shutil.copytree(ROOT / "data" / "kindergartens", kg)
    fupin("plan", "kindergartens", "--data", kg, "--county", "YP", "--jobs", 1, "--time-limit", 30,
          "--out", tmp_path / "kg")
    for pdf in (tmp_path / "base" / "report.pdf", tmp_path / "compare.pdf", tmp_path / "g" / "report.pdf",
                tmp_path / "kg" / "report.pdf"):
        assert problems(pdf) == []
