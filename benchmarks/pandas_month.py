"""The month's baseline for bench_ledger.py: a province month's sums with pandas. Run as a script
(`python benchmarks/pandas_month.py FILE`) it is the whole-process baseline: start-up, reading the CSV,
grouping and printing, importing nothing of fupin."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
MONTH = "2025-05"


def pandas_month(path: Path) -> tuple[float, pd.DataFrame]:
    """The sums of MONTH by canteen, and the seconds they took with the rows already in memory."""
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


if __name__ == "__main__":
    print(pandas_month(Path(sys.argv[1]))[1].to_csv())
