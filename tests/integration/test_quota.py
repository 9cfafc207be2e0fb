"""The quota engine against an independent computation over the sample's CSV files."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

import db
from procure.formats import CSV_COLUMNS, to_csv, to_json
from procure.quota import month_compliance
from procure.rules import QuotaRule
from tests.conftest import SAMPLE, import_file, write_csv

TODAY = dt.date(2025, 12, 31)
KG = {"kg": Decimal(1), "公斤": Decimal(1), "斤": Decimal("0.5")}


@pytest.fixture
def sample_engine(master_engine):
    import_file(master_engine, SAMPLE / "purchases_2025_synthetic.csv", today=TODAY)
    return master_engine


def expected_rows(month: str) -> list[dict]:
    """Plain pandas over the files, written without any of procure's code."""
    p = pd.read_csv(SAMPLE / "purchases_2025_synthetic.csv", dtype=str)
    sup = pd.read_csv(SAMPLE / "suppliers.csv", dtype=str, keep_default_na=False).set_index("code")
    cats = pd.read_csv(SAMPLE / "categories.csv", dtype=str).set_index("code")
    pack = {(r["product"], r["unit"]): Decimal(r["kg_per_unit"]) for _, r in pd.read_csv(SAMPLE / "packaging.csv", dtype=str).iterrows()}
    canteens = pd.read_csv(SAMPLE / "canteens.csv", dtype=str)
    p = p[p["date"].str.startswith(month) & p["category"].map(lambda c: cats.loc[c, "counts_toward_quota"] == "yes")]

    def eligible(r):
        s = sup.loc[r["supplier"]]
        return s["eligibility"] != "none" and (not s["valid_from"] or s["valid_from"] <= r["date"]) and (
            not s["valid_to"] or r["date"] <= s["valid_to"])

    p = p.assign(
        g=[int(Decimal(q) * (KG.get(u) or pack[(prod, u)]) * 1000) for q, u, prod in zip(p["quantity"], p["unit"], p["product"])],
        fen=[int(Decimal(a) * 100) for a in p["amount"]],
        pa=[eligible(r) for _, r in p.iterrows()],
    )
    out = []
    for _, c in canteens.sort_values(["institution", "code"]).iterrows():
        mine = p[p["canteen"] == c["code"]]
        total_g, pa_g = int(mine["g"].sum()), int(mine.loc[mine["pa"], "g"].sum())
        total_fen, pa_fen = int(mine["fen"].sum()), int(mine.loc[mine["pa"], "fen"].sum())
        q4 = lambda a, b: "" if b == 0 else str((Decimal(a) / Decimal(b)).quantize(Decimal("0.0001"), ROUND_HALF_UP))
        short_g = max(Decimal(0), Decimal("0.2") * total_g - pa_g)
        out.append({
            "institution": c["institution"], "canteen": c["code"], "month": month,
            "total_kg": f"{Decimal(total_g) / 1000:.3f}", "pa_kg": f"{Decimal(pa_g) / 1000:.3f}",
            "share_qty": q4(pa_g, total_g), "total_amount": f"{Decimal(total_fen) / 100:.2f}",
            "pa_amount": f"{Decimal(pa_fen) / 100:.2f}", "share_amount": q4(pa_fen, total_fen), "threshold": "0.2000",
            "status": "no_purchases" if total_g == 0 else ("compliant" if pa_g * 5 >= total_g else "short"),
            "shortfall_kg": str((short_g / 1000).quantize(Decimal("0.001"), ROUND_HALF_UP)),
        })
    return out


def test_compliance_csv_equals_an_independent_computation(sample_engine):
    for month in ["2025-03", "2025-07", "2025-08"]:
        with db.unit_of_work(sample_engine) as uow:
            result = month_compliance(uow.session, month, QuotaRule(), today=TODAY)
        rows = list(csv.DictReader(to_csv(result).splitlines()))
        assert list(rows[0].keys()) == CSV_COLUMNS
        assert rows == expected_rows(month)
        statuses = {r["status"] for r in rows}
        if month == "2025-08":
            assert statuses == {"no_purchases"}  # summer break is not a failure
        else:
            assert {"compliant", "short"} <= statuses
    check_rollups(sample_engine)


def check_rollups(sample_engine):
    with db.unit_of_work(sample_engine) as uow:
        result = month_compliance(uow.session, "2025-03", QuotaRule(), today=TODAY)
    assert sum((r.tally for r in result.institutions), type(result.province.tally)()) == result.province.tally
    assert result.province.canteens == len(result.canteens) == 12
    assert result.province.shortfall_mg == sum(c.shortfall_mg for c in result.canteens)
    with db.unit_of_work(sample_engine) as uow:
        only = month_compliance(uow.session, "2025-03", QuotaRule(), "HNU-S", TODAY)
    assert {c.canteen for c in only.canteens} == {"C01", "C02", "C03"}
    c01 = next(c for c in result.canteens if c.canteen == "C01")
    cats = {k.code: k for k in c01.categories}
    assert not cats["SEAS"].counts_toward_quota
    assert sum(k.tally.total_mg for k in c01.categories if k.counts_toward_quota) == c01.tally.total_mg


def test_projection_for_the_current_month(master_engine, tmp_path):
    header = ["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref"]
    rows = [["2025-04-01", "C01", "S07", "VEG", "青菜", "10", "kg", "70", "A"],
            ["2025-04-05", "C01", "S09", "VEG", "青菜", "90", "kg", "630", "B"]]
    import_file(master_engine, write_csv(tmp_path / "p.csv", header, rows), today=dt.date(2025, 4, 10))
    with db.unit_of_work(master_engine) as uow:
        now = month_compliance(uow.session, "2025-04", QuotaRule(), today=dt.date(2025, 4, 10))
        later = month_compliance(uow.session, "2025-04", QuotaRule(), today=dt.date(2025, 5, 2))
    c01 = next(c for c in now.canteens if c.canteen == "C01")
    p = c01.projection
    # 100 kg in 10 of 30 days: 300 kg by month end, 60 kg of it must be poverty-alleviation, 10 bought
    assert (p.days_elapsed, p.days_in_month, p.projected_total_mg, p.pa_mg_still_needed) == (10, 30, 300_000_000, 50_000_000)
    assert all(c.projection is None for c in later.canteens)
    assert '"pa_kg_still_needed": "50.000"' in to_json(now)


def test_amount_basis_and_per_category_scope(master_engine, tmp_path):
    header = ["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref"]
    rows = [["2025-04-01", "C01", "S07", "VEG", "青菜", "30", "kg", "100", "A"],   # pa
            ["2025-04-01", "C01", "S09", "VEG", "青菜", "70", "kg", "900", "B"],
            ["2025-04-01", "C01", "S09", "GRAIN", "米", "100", "kg", "500", "C"]]
    import_file(master_engine, write_csv(tmp_path / "p.csv", header, rows), today=TODAY)
    with db.unit_of_work(master_engine) as uow:
        get = lambda rule: next(c for c in month_compliance(uow.session, "2025-04", rule, today=TODAY).canteens
                                if c.canteen == "C01")
        assert get(QuotaRule()).status == "short"  # 30 of 200 kg
        assert get(QuotaRule(threshold=Decimal("0.15"))).status == "compliant"
        assert get(QuotaRule(threshold=Decimal("0.15"), scope="per_category")).status == "short"  # grain 0%
        amount = get(QuotaRule(threshold=Decimal("0.06"), basis="amount"))  # 100 of 1500 yuan
        assert amount.status == "compliant" and amount.shortfall_fen == 0
