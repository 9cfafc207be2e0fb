"""Import N generated purchase lines, re-import them, verify the hash chain, then compute one full
province month.

Each figure is a ratio to a baseline measured in this run: the import and the re-import against the
same rows parsed with `csv` and inserted with raw `sqlite3.executemany` into one table with a unique
ref; on PostgreSQL also against a raw COPY of the same rows into such a table; the month against a
pandas group-by over the rows in memory, and as whole processes (`fupin procure compliance`
against a script that reads the CSV with pandas and groups it). On SQLite a reference is printed besides: the ledger rows
the import wrote, inserted again raw into the ledger's own table (what the database needs for them). The peak memory of the import is measured in a process of
its own (VmHWM, and its helper process's). A large import uses two cores: how much of a second core
the machine had is measured too (two CPU-bound processes at once against one). Usage: python benchmarks/bench_ledger.py [--rows 1000000] [--db URL]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import db
from db import chain
from db.models import Purchase
from procure import ledger, masterdata
from procure.quota import month_compliance
from procure.rules import QuotaRule

from pandas_month import MONTH, pandas_month

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
KINDS = ["institutions", "canteens", "suppliers", "categories", "packaging"]
PRODUCTS = [("青菜", "VEG", "斤"), ("大米", "GRAIN", "袋"), ("猪肉", "MEAT", "kg"), ("鱼", "FISH", "公斤"),
            ("红毛丹", "FRUIT", "斤"), ("酱油", "SEAS", "kg")]
SUPPLIERS = [f"S{i:02d}" for i in range(1, 13)]
CANTEENS = [f"C{i:02d}" for i in range(1, 13)]


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


BASELINE_TABLE = ("CREATE TABLE {name} (id INTEGER PRIMARY KEY, date TEXT, canteen TEXT, supplier TEXT, "
                  "category TEXT, product TEXT, quantity TEXT, unit TEXT, amount TEXT, ref TEXT, line INTEGER, "
                  "UNIQUE (ref, supplier, line))")


def raw_executemany(path: Path, db_path: Path) -> tuple[float, float]:
    """The baseline: the rows parsed with csv and inserted with sqlite3.executemany, one transaction.
    Seconds, and CPU seconds of this process."""
    db_path.unlink(missing_ok=True)
    start, cpu = time.perf_counter(), time.process_time()
    con = sqlite3.connect(db_path)
    con.execute(BASELINE_TABLE.format(name="baseline"))
    with open(path, newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        next(rows)
        con.executemany("INSERT INTO baseline (date, canteen, supplier, category, product, quantity, unit, amount, "
                        "ref, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    return time.perf_counter() - start, time.process_time() - cpu


def raw_ledger_insert(rows: list[tuple], columns: list[str], db_path: Path) -> float:
    """Not the issue's baseline, a reference: the ledger rows the import wrote, inserted again with raw
    sqlite3.executemany into a new ledger (the same table, its indexes and foreign keys, WAL),
    one transaction: what the database itself needs for them."""
    start = time.perf_counter()
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA cache_size=-65536")
    con.execute("BEGIN IMMEDIATE")
    batches = {r[columns.index("batch_id")] for r in rows[:1]}
    con.executemany("INSERT INTO import_batches (id, file_name, file_sha256, lines_added, imported_by, imported_at) "
                    "VALUES (?, 'bench', '', 0, 'bench', '2025-12-31')", [(b,) for b in batches])
    con.executemany(f"INSERT INTO purchases ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
    con.execute("COMMIT")
    con.close()
    return time.perf_counter() - start


def raw_copy(path: Path, url: str) -> float:
    """The PostgreSQL baseline: the rows parsed with csv and sent with psycopg's COPY, one transaction."""
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as con:
        con.execute("DROP TABLE IF EXISTS bench_baseline")
        con.execute(BASELINE_TABLE.format(name="bench_baseline").replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY"))
        con.commit()
        start = time.perf_counter()
        with open(path, newline="", encoding="utf-8") as fh, con.cursor() as cur:
            rows = csv.reader(fh)
            next(rows)
            with cur.copy("COPY bench_baseline (date, canteen, supplier, category, product, quantity, unit, amount, "
                          "ref, line) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        con.commit()
        seconds = time.perf_counter() - start
        con.execute("DROP TABLE bench_baseline")
        con.commit()
    return seconds


def load_masters(engine, create: bool = False) -> None:
    if create:
        db.ensure_schema(engine)
    with db.unit_of_work(engine, write=True) as uow:
        for kind in KINDS:
            masterdata.import_master(uow.session, kind, SAMPLE / f"{kind}.csv", "bench")
        uow.commit()


def _peak_mb(pid: int | str) -> float:
    """A process's peak resident memory (VmHWM: its own since its exec, unlike getrusage's children
    figure, which counts a spawned helper's moment as a copy of this process before its exec)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return 0.0


def _watch_helpers(peaks: dict, stop: threading.Event) -> None:
    while not stop.wait(0.1):
        for task in Path("/proc/self/task").iterdir():
            for pid in (task / "children").read_text().split():
                peaks[pid] = max(peaks.get(pid, 0.0), _peak_mb(pid))


def measure_import(url: str, data: Path) -> dict:
    """One import in this process: seconds, CPU seconds of this process and of its helper (a large
    file is parsed in one), and the peak resident memory of this process and of its helper."""
    engine = db.make_engine(url)
    peaks: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_helpers, args=(peaks, stop), daemon=True)
    watcher.start()
    start, cpu = time.perf_counter(), time.process_time()
    with db.unit_of_work(engine, write=True) as uow:
        result = ledger.import_purchases(uow.session, data, "bench", today=dt.date(2025, 12, 31))
        uow.commit()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    stop.set()
    watcher.join()
    engine.dispose()
    helper = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "cpu": cpu, "helper_cpu": helper.ru_utime + helper.ru_stime,
            "added": result.lines_added, "peak_mb": _peak_mb("self"), "helper_peak_mb": max(peaks.values(), default=0.0)}


_SPIN = [sys.executable, "-c", "sum(range(40_000_000))"]


def second_core() -> float:
    """How much of a second core there is now: 1.0 when two CPU-bound processes at once take as long
    as one alone, 0.0 when they take twice as long (the machine is shared)."""
    start = time.perf_counter()
    subprocess.run(_SPIN, check=True)
    one = time.perf_counter() - start
    start = time.perf_counter()
    both = [subprocess.Popen(_SPIN) for _ in range(2)]
    for p in both:
        p.wait()
    two = time.perf_counter() - start
    return max(0.0, min(1.0, 2 * one / two - 1))


def import_in_own_process(data: Path, url: str) -> dict:
    """measure_import in a process of its own, so that its peak memory is its own."""
    out = subprocess.run([sys.executable, __file__, "--import-only", str(data), "--db", url],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def paired_ratios(data: Path, tmp: Path, pairs: int) -> list[float]:
    """The import against the baseline, measured back to back `pairs` times, each import into a new
    ledger: on a shared machine a pair sees about the same load, a single run's ratio may not."""
    ratios = []
    for i in range(pairs):
        url = f"sqlite:///{tmp / f'pair{i}.db'}"
        load_masters(engine := db.make_engine(url), create=True)
        engine.dispose()
        base, _ = raw_executemany(data, tmp / "baseline.db")
        ratios.append(import_in_own_process(data, url)["seconds"] / base)
        (tmp / f"pair{i}.db").unlink()
    return ratios


def whole_process(command: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", help="database URL (default: a new SQLite file in a temporary folder)")
    ap.add_argument("--pairs", type=int, default=3,
                    help="SQLite: this many more (baseline, import into a new ledger) pairs, and their median ratio")
    ap.add_argument("--import-only", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.import_only:
        print(json.dumps(measure_import(args.db, Path(args.import_only))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "purchases.csv"
        t0 = time.perf_counter()
        generate(data, args.rows)
        print(f"generated {args.rows:,} lines in {time.perf_counter() - t0:.1f} s")
        url = args.db or f"sqlite:///{tmp / 'bench.db'}"
        engine = db.make_engine(url)
        db.ensure_schema(engine)
        load_masters(engine)
        if engine.dialect.name == "sqlite":
            load_masters(reference := db.make_engine(f"sqlite:///{tmp / 'reference.db'}"), create=True)
            reference.dispose()
        print(f"a second core: {second_core():.0%} of one free (two CPU-bound processes at once against one)")
        base, base_cpu = raw_executemany(data, tmp / "baseline.db")
        print(f"baseline: csv + sqlite3.executemany into one table with a unique ref: {base:.1f} s")
        imported = import_in_own_process(data, url)
        imp = imported["seconds"]
        print(f"import: {imported['added']:,} lines in {imp:.1f} s = {imported['added'] / imp:,.0f} rows/s; "
              f"ratio import/baseline = {imp / base:.1f}x; peak memory {imported['peak_mb']:.0f} MB"
              + (f" + its helper process's {imported['helper_peak_mb']:.0f} MB = "
                 f"{imported['peak_mb'] + imported['helper_peak_mb']:.0f} MB" if imported["helper_peak_mb"]
                 else " (in one process: no idle second core, see procure/rules.py BulkImport)"))
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                columns = [c.name for c in Purchase.__table__.columns]
                rows = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM purchases ORDER BY id").fetchall()
            ledger_s = raw_ledger_insert(rows, columns, tmp / "reference.db")
            del rows
            print(f"reference (not the baseline): the same ledger rows, hashes and all, inserted raw into the ledger's "
                  f"own table (executemany, its indexes as the import leaves them, foreign keys, WAL): {ledger_s:.1f} s "
                  f"= {ledger_s / base:.1f}x the baseline; ratio import/reference = {imp / ledger_s:.1f}x")
        if engine.dialect.name == "sqlite" and args.pairs > 0:
            ratios = paired_ratios(data, tmp, args.pairs)
            print(f"import/baseline in {len(ratios)} more pairs (baseline, then an import into a new ledger): "
                  f"{', '.join(f'{r:.1f}x' for r in ratios)}; median of all {len(ratios) + 1} = "
                  f"{statistics.median([imp / base, *ratios]):.1f}x")
        t0, c0 = time.perf_counter(), time.process_time()
        with db.unit_of_work(engine, write=True) as uow:
            again = ledger.import_purchases(uow.session, data, "bench", today=dt.date(2025, 12, 31))
        reimp, reimp_cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"re-import (all already present): {again.lines_present:,} lines in {reimp:.1f} s "
              f"= {again.lines_present / reimp:,.0f} rows/s; ratio re-import/baseline = {reimp / base:.1f}x")
        # The same baseline once more: on a shared machine the load changes within a run.
        base2, base2_cpu = raw_executemany(data, tmp / "baseline.db")
        print(f"baseline again after the imports: {base2:.1f} s; ratios against it: import {imp / base2:.1f}x, "
              f"re-import {reimp / base2:.1f}x")
        if engine.dialect.name == "sqlite":
            bc = min(base_cpu, base2_cpu)
            print(f"CPU seconds (other work on the machine counts less): baseline {bc:.1f}, import "
                  f"{imported['cpu']:.1f} = {imported['cpu'] / bc:.1f}x (and its helper process "
                  f"{imported['helper_cpu']:.1f}), re-import {reimp_cpu:.1f} = {reimp_cpu / bc:.1f}x")
        if engine.dialect.name == "postgresql":
            copy_s = raw_copy(data, url)
            print(f"PostgreSQL: raw COPY of the same rows into one table with a unique ref: {copy_s:.1f} s; "
                  f"ratio import/raw COPY = {imp / copy_s:.1f}x, re-import/raw COPY = {reimp / copy_s:.1f}x")
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
        fupin_cmd = [sys.executable, str(ROOT / "cli.py"), "--db", url, "--user", "bench",
                     "procure", "compliance", "--month", MONTH, "--format", "csv"]
        pandas_cmd = [sys.executable, str(ROOT / "benchmarks" / "pandas_month.py"), str(data)]
        fupin_s, pandas_s = (min(whole_process(cmd) for _ in range(3)) for cmd in (fupin_cmd, pandas_cmd))
        print(f"the same month as whole processes (start-up, reading and output included): "
              f"`fupin procure compliance` {fupin_s:.2f} s, pandas reading the CSV and grouping {pandas_s:.2f} s; "
              f"ratio fupin/pandas = {fupin_s / pandas_s:.2f}x")
        engine.dispose()


if __name__ == "__main__":
    main()
