"""Report PDF speed: fupin's renderer against plain WeasyPrint use, measured in the same run.

Every figure is the wall time from finished HTML (and the chart's data) to PDF bytes, chart drawing
included. Baseline: each document on its own, its CSS naming the installed CJK font (WeasyPrint
then copies and subsets the whole 17 MB font for every font size of every document). fupin: the
batch shares one stylesheet, font configuration and a font cut down once to the batch's characters
(reports.render.batch_font); `--jobs N` spreads the batch over N processes (this one included),
forked on Linux; the same batch with spawned helpers (fupin before 2026-11-28) is measured too.
The rounds alternate baseline and fupin; each figure is the median of the rounds, so load from other
programs on the machine hits both alike.

`--commands` also times the `fupin` commands as a user runs them (start-up included), against
the bare imports of Python, WeasyPrint and matplotlib measured in the same run.

    .venv/bin/python benchmarks/bench_reports.py                  # builds a sample database
    .venv/bin/python benchmarks/bench_reports.py --rounds 5 --jobs 2
    .venv/bin/python benchmarks/bench_reports.py --db sqlite:////tmp/x.db --month 2025-03
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import re
import statistics
import subprocess
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

import db  # noqa: E402
from procure import ledger, masterdata  # noqa: E402
from db.models import Institution  # noqa: E402
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


def baseline_pdf(html: str, assets: dict, family: str) -> bytes:
    css = (render.STATIC / "report.css").read_text(encoding="utf-8")
    css = re.sub(r"@font-face\s*{[^}]*}", "", css).replace(f'"{DOCUMENT_FONT}"', f'"{family}"')
    html = html.replace(f"font-family: {DOCUMENT_FONT}", f"font-family: '{family}'")
    fetcher = render.StaticFetcher({k: v() if callable(v) else v for k, v in assets.items()})
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
    parser.add_argument("--jobs", type=int, default=render.default_processes(),
                        help="processes for the parallel batch (default: CPU cores, as `fupin report`)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are shown")
    parser.add_argument("--commands", action="store_true", help="also time the fupin commands end to end (on the sample database)")
    args = parser.parse_args()
    if args.commands and args.db:
        parser.error("--commands registers reports: it runs on the sample database only, not with --db")
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
        n = len(docs)
        print(f"font: {font.family} ({font.path}); {n} institutions; month {args.month}; "
              f"{os.cpu_count()} CPU cores; {args.rounds} rounds, medians")
        print(f"view models: {t_build / n:.3f} s per report (not in the figures below)")

        baseline_pdf(*single, font.family)  # warm-up: WeasyPrint, Pango, fontconfig and matplotlib caches
        measures = {"base_one": [], "one": [], "base_batch": [], "batch": [], "parallel": [], "spawned": []}
        for _ in range(args.rounds):
            measures["base_one"].append(timed(lambda: baseline_pdf(*single, font.family))[0])
            measures["one"].append(timed(lambda: render.render_batch([single], font))[0])
            measures["base_batch"].append(timed(lambda: [baseline_pdf(h, a, font.family) for h, a in docs])[0])
            measures["batch"].append(timed(lambda: render.render_batch(docs, font, processes=1))[0])
            t, pdfs = timed(lambda: render.render_batch(docs, font, processes=args.jobs))
            measures["parallel"].append(t)
            measures["spawned"].append(timed(lambda: spawned(docs, font, args.jobs))[0])
        if args.commands:
            commands(url, args)
    m = {k: statistics.median(v) for k, v in measures.items()}
    one_pages = page_count(render.render_batch([single], font)[0])
    pages = sum(page_count(pdf) for pdf in pdfs)
    print(f"single report ({args.institution}, {one_pages} pages, chart and font preparation included):")
    print(f"  baseline {m['base_one']:.3f} s   fupin {m['one']:.3f} s ({m['one'] / one_pages:.3f} s a page)   "
          f"ratio {m['base_one'] / m['one']:.2f}x")
    print(f"batch of {n} institution reports ({pages} pages), wall time per report:")
    print(f"  baseline           {m['base_batch'] / n:.3f} s each")
    print(f"  fupin --jobs 1     {m['batch'] / n:.3f} s each ({m['batch'] / pages:.3f} s a page)   "
          f"ratio {m['base_batch'] / m['batch']:.2f}x")
    print(f"  fupin --jobs {args.jobs:<5} {m['parallel'] / n:.3f} s each (starting helpers included)   "
          f"ratio {m['base_batch'] / m['parallel']:.2f}x")
    print(f"  same, helpers spawned {m['spawned'] / n:.3f} s each (as before)   "
          f"forked against spawned {m['spawned'] / m['parallel']:.2f}x")
    print("rounds (s, whole batch): " + "; ".join(f"{k} " + " ".join(f"{x:.2f}" for x in v)
                                                 for k, v in measures.items() if "batch" in k or k == "parallel"))


def spawned(docs, font, jobs):
    """The batch with spawned helpers, which import WeasyPrint and matplotlib again."""
    real = render._helper_context
    render._helper_context = lambda: render.multiprocessing.get_context("spawn")
    try:
        return render.render_batch(docs, font, processes=jobs)
    finally:
        render._helper_context = real


def commands(url: str, args) -> None:
    """Wall time of fupin commands as a user runs them, against bare imports, medians of the rounds."""
    fupin = [sys.executable, "-m", "cli", "--db", url, "--user", "bench"]
    with tempfile.TemporaryDirectory() as out:
        runs = {
            "python, WeasyPrint and matplotlib imported (baseline)":
                [sys.executable, "-c", "import weasyprint, matplotlib.figure, sqlalchemy"],
            "fupin --help": [*fupin, "--help"],
            f"fupin procure compliance --month {args.month}": [*fupin, "procure", "compliance", "--month", args.month],
            f"fupin report compliance --institution {args.institution}":
                [*fupin, "report", "compliance", "--month", args.month, "--institution", args.institution,
                 "-o", f"{out}/one.pdf"],
            "fupin report compliance --every-institution --jobs 1":
                [*fupin, "report", "compliance", "--month", args.month, "--every-institution", "--jobs", "1", "-o", out],
            f"fupin report compliance --every-institution --jobs {args.jobs}":
                [*fupin, "report", "compliance", "--month", args.month, "--every-institution", "--jobs",
                 str(args.jobs), "-o", out],
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.rounds):
            for name, argv in runs.items():
                start = time.perf_counter()
                subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
                times[name].append(time.perf_counter() - start)
    base = statistics.median(next(iter(times.values())))
    print("commands, wall time as a user runs them (start-up included), medians:")
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"  {name:58s} {t:6.2f} s   {t / base:5.2f}x the baseline")


def page_count(pdf: bytes) -> int:
    return sum(1 for _ in PDFPage.get_pages(io.BytesIO(pdf)))


if __name__ == "__main__":
    main()
