"""Import N generated purchase lines, verify the hash chain, then compute one full province month.

Prints rows per second for the import and, for the month, the ratio of fupin's time (SQL
aggregation + exact arithmetic) to a pandas group-by over the same rows held in memory, both
measured in this run. Usage: python benchmarks/bench_ledger.py [--rows 1000000] [--db URL]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

import pandas as pd

import db
from db import chain
from procure import ledger, masterdata
from procure.quota import month_compliance
from procure.rules import QuotaRule

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
KINDS = ["institutions", "canteens", "suppliers", "categories", "packaging"]
PRODUCTS = [("青菜", "VEG", "斤"), ("大米", "GRAIN", "袋"), ("猪肉", "MEAT", "kg"), ("鱼", "FISH", "公斤"),
            ("红毛丹", "FRUIT", "斤"), ("酱油", "SEAS", "kg")]
SUPPLIERS = [f"S{i:02d}" for i in range(1, 13)]
CANTEENS = [f"C{i:02d}" for i in range(1, 13)]
MONTH = "2025-05"


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(365)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref", "line"])
        for i in range(rows):
            product, category, unit = PRODUCTS[i % len(PRODUCTS)]
            w.writerow([days[(i * 7919) % 365].isoformat(), CANTEENS[i % 12], rng.choice(SUPPLIERS), category, product,
                        rng.randint(1, 200), unit, f"{rng.randint(100, 500000) / 100:.2f}", f"B-{i // 4}", i % 4 + 1])


def pandas_month(path: Path) -> tuple[float, pd.DataFrame]:
    """The baseline: the same month's sums with pandas, the rows already in memory."""
    frame = pd.read_csv(path, dtype={"amount": str})
    factor = {"斤": 0.5, "kg": 1.0, "公斤": 1.0, "袋": 25.0}
    sup = pd.read_csv(SAMPLE / "suppliers.csv", keep_default_na=False).set_index("code")["eligibility"]
    counting = set(pd.read_csv(SAMPLE / "categories.csv").query("counts_toward_quota == 'yes'")["code"])
    start = time.perf_counter()
    m = frame[frame["date"].str.startswith(MONTH) & frame["category"].isin(counting)]
    kg = m["quantity"] * m["unit"].map(factor)
    pa = m["supplier"].map(sup) != "none"
    out = pd.DataFrame({"canteen": m["canteen"], "kg": kg, "pa_kg": kg.where(pa, 0.0)}).groupby("canteen").sum()
    return time.perf_counter() - start, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", help="database URL (default: a new SQLite file in a temporary folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "purchases.csv"
        t0 = time.perf_counter()
        generate(data, args.rows)
        print(f"generated {args.rows:,} lines in {time.perf_counter() - t0:.1f} s")
        engine = db.make_engine(args.db or f"sqlite:///{tmp / 'bench.db'}")
        db.ensure_schema(engine)
        with db.unit_of_work(engine, write=True) as uow:
            for kind in KINDS:
                masterdata.import_master(uow.session, kind, SAMPLE / f"{kind}.csv", "bench")
            uow.commit()
        t0 = time.perf_counter()
        with db.unit_of_work(engine, write=True) as uow:
            result = ledger.import_purchases(uow.session, data, "bench", today=dt.date(2025, 12, 31))
            uow.commit()
        imp = time.perf_counter() - t0
        print(f"import: {len(result.added):,} lines in {imp:.1f} s = {len(result.added) / imp:,.0f} rows/s")
        t0 = time.perf_counter()
        with db.unit_of_work(engine, write=True) as uow:
            again = ledger.import_purchases(uow.session, data, "bench", today=dt.date(2025, 12, 31))
        reimp = time.perf_counter() - t0
        print(f"re-import (all already present): {len(again.already_present):,} lines in {reimp:.1f} s "
              f"= {len(again.already_present) / reimp:,.0f} rows/s")
        t0 = time.perf_counter()
        with db.unit_of_work(engine) as uow:
            check = chain.verify(uow.session.connection())
        verify_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with engine.connect() as conn:  # the baseline: the same rows read back, nothing computed
            raw = conn.exec_driver_sql("SELECT * FROM purchases").fetchall()
        read_s = time.perf_counter() - t0
        print(f"verify: {'ok' if check.ok else check.problem}, {check.rows:,} rows in {check.links} links in "
              f"{verify_s:.1f} s; reading the {len(raw):,} ledger rows raw: {read_s:.1f} s; "
              f"ratio verify/raw read = {verify_s / read_s:.1f}x")
        del raw
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            with db.unit_of_work(engine) as uow:
                month = month_compliance(uow.session, MONTH, QuotaRule(), today=dt.date(2025, 12, 31))
            runs.append(time.perf_counter() - t0)
        base_runs = [pandas_month(data)[0] for _ in range(3)]
        fupin_s, pandas_s = min(runs), min(base_runs)
        month_rows = sum(1 for _ in open(data, encoding="utf-8") if _.startswith(MONTH))
        print(f"province month {MONTH} ({month_rows:,} of {args.rows:,} rows, {len(month.canteens)} canteens): "
              f"fupin {fupin_s * 1000:.0f} ms (SQL aggregation over the ledger on {engine.dialect.name}), "
              f"pandas group-by in memory {pandas_s * 1000:.0f} ms; ratio fupin/pandas = {fupin_s / pandas_s:.1f}x")
        engine.dispose()


if __name__ == "__main__":
    main()
