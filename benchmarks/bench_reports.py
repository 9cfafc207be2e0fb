"""Report PDF speed: fupin's renderer against plain WeasyPrint use, measured in the same run.

Baseline: each document on its own, its CSS naming the installed CJK font. fupin: the batch shares
one stylesheet, font configuration and font (served whole when WeasyPrint subsets with HarfBuzz,
else cut once per batch with fontTools). Both render the same HTML: the chart as a PNG picture and
tables with fixed column widths, which is where most of the time went.

    .venv/bin/python benchmarks/bench_reports.py                  # builds a sample database
    .venv/bin/python benchmarks/bench_reports.py --db sqlite:////tmp/x.db --month 2025-03
"""

from __future__ import annotations

import argparse
import io
import datetime as dt
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pdfminer.pdfpage import PDFPage  # noqa: E402
from sqlalchemy import select  # noqa: E402
from weasyprint import CSS, HTML  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402

from procure import db, ledger, masterdata  # noqa: E402
from procure.models import Institution  # noqa: E402
from procure.rules import DEFAULT_RULE  # noqa: E402
from reports import compliance, issue, render  # noqa: E402
from reports.charts import DOCUMENT_FONT  # noqa: E402


def sample_db(folder: Path) -> str:
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = db.make_engine(url)
    db.ensure_schema(engine)
    sample = ROOT / "data" / "sample"
    with db.unit_of_work(engine, write=True) as uow:
        for kind in ["institutions", "canteens", "suppliers", "categories", "packaging"]:
            masterdata.import_master(uow.session, kind, sample / f"{kind}.csv", "bench")
        ledger.import_purchases(uow.session, sample / "purchases_2025_synthetic.csv", "bench")
        uow.commit()
    return url


def baseline_pdf(html: str, assets: dict[str, bytes], family: str) -> bytes:
    css = (render.STATIC / "report.css").read_text(encoding="utf-8")
    css = re.sub(r"@font-face\s*{[^}]*}", "", css).replace(f'"{DOCUMENT_FONT}"', f'"{family}"')
    html = html.replace(f"font-family: {DOCUMENT_FONT}", f"font-family: '{family}'")
    fetcher = render.StaticFetcher(assets)
    font_config = FontConfiguration()
    sheet = CSS(string=css, font_config=font_config, url_fetcher=fetcher)
    return HTML(string=html, base_url=render.BASE_URL, url_fetcher=fetcher).write_pdf(
        stylesheets=[sheet], font_config=font_config)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="database URL (default: a sample database built in a temp folder)")
    parser.add_argument("--month", default="2025-03")
    parser.add_argument("--institution", default="HNU-S", help="the single report measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or sample_db(Path(tmp))
        engine = db.make_engine(url)
        font = render.find_cjk_font()
        now = dt.datetime.now(dt.UTC)
        with db.unit_of_work(engine) as uow:
            codes = list(uow.session.scalars(select(Institution.code).order_by(Institution.code)))
            t_build, views = timed(lambda: [compliance.build(uow.session, [args.month], c, DEFAULT_RULE, "zh", now)
                                            for c in codes])
        docs = [issue.html(v, font) for v in views]
        single = docs[codes.index(args.institution)]
        print(f"font: {font.family} ({font.path}); {len(codes)} institutions; month {args.month}")
        print(f"view models: {t_build / len(codes):.3f} s per report (not in the figures below)")

        baseline_pdf(*single, font.family)  # warm-up: WeasyPrint, Pango and fontconfig caches
        t_base_one, _ = timed(lambda: baseline_pdf(*single, font.family))

        def ours_one():
            renderer = render.Renderer([single[0]], font)
            return renderer.pdf(*single)
        t_ours_one, _ = timed(ours_one)

        t_base_batch, _ = timed(lambda: [baseline_pdf(h, a, font.family) for h, a in docs])

        def ours_batch():
            renderer = render.Renderer([h for h, _ in docs], font)
            return [renderer.pdf(h, a) for h, a in docs]
        t_ours_batch, _ = timed(ours_batch)

    n = len(docs)
    one_pages = page_count(ours_one())
    batch_pages = sum(page_count(pdf) for pdf in ours_batch())
    print(f"single report ({args.institution}, {one_pages} pages, including loading the font):")
    print(f"  baseline {t_base_one:.3f} s   fupin {t_ours_one:.3f} s ({t_ours_one / one_pages:.3f} s a page)   "
          f"ratio {t_base_one / t_ours_one:.1f}x")
    print(f"batch of {n} institution reports ({batch_pages} pages):")
    print(f"  baseline {t_base_batch:.3f} s ({t_base_batch / n:.3f} s each)   "
          f"fupin {t_ours_batch:.3f} s ({t_ours_batch / n:.3f} s each, {t_ours_batch / batch_pages:.3f} s a page)   "
          f"ratio {t_base_batch / t_ours_batch:.1f}x")


def page_count(pdf: bytes) -> int:
    return sum(1 for _ in PDFPage.get_pages(io.BytesIO(pdf)))


if __name__ == "__main__":
    main()
