"""Writes data/sample/: a SYNTHETIC Hainan canteen sample (fixed seed, so the files are stable).

County names are Hainan's real ones; every institution, canteen, supplier, certificate and
purchase is invented for demonstration and testing. Run: python data/generate_sample.py
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "sample"
YEAR = 2025

INSTITUTIONS = [
    ("HNU-S", "琼州示例大学", "university"),
    ("HNNU-S", "椰城示例师范大学", "university"),
    ("HKVC-S", "海口示例职业技术学院", "higher_vocational"),
    ("SYVC-S", "三亚示例职业学院", "higher_vocational"),
    ("QHVC-S", "琼海示例职业学院", "higher_vocational"),
    ("WZSS-S", "五指山示例中等职业学校", "secondary_vocational"),
    ("DZSS-S", "儋州示例中等职业学校", "secondary_vocational"),
    ("LGSS-S", "临高示例中等职业学校", "secondary_vocational"),
]
CANTEENS = [
    ("C01", "HNU-S", "第一食堂", "self", ""), ("C02", "HNU-S", "第二食堂", "contractor", "示例餐饮管理有限公司"),
    ("C03", "HNU-S", "清真食堂", "self", ""), ("C04", "HNNU-S", "桂林洋食堂", "self", ""),
    ("C05", "HNNU-S", "龙昆南食堂", "contractor", "示例后勤服务公司"), ("C06", "HKVC-S", "学生食堂", "self", ""),
    ("C07", "HKVC-S", "教工食堂", "self", ""), ("C08", "SYVC-S", "学生食堂", "contractor", "三亚示例膳食公司"),
    ("C09", "QHVC-S", "学生食堂", "self", ""), ("C10", "WZSS-S", "学生食堂", "self", ""),
    ("C11", "DZSS-S", "学生食堂", "self", ""), ("C12", "LGSS-S", "学生食堂", "self", ""),
]
# code, name, eligibility, certificate, county, valid_from, valid_to
SUPPLIERS = [
    ("S01", "五指山示例茶园合作社", "certified", "HNFP-2024-WZS-0012", "五指山市", "2024-03-01", "2026-02-28"),
    ("S02", "白沙示例蔬菜合作社", "certified", "HNFP-2024-BS-0031", "白沙黎族自治县", "2024-06-01", "2025-06-30"),
    ("S03", "保亭示例红毛丹合作社", "certified", "HNFP-2025-BT-0007", "保亭黎族苗族自治县", "2025-01-01", "2026-12-31"),
    ("S04", "琼中示例养殖合作社", "certified", "HNFP-2024-QZ-0044", "琼中黎族苗族自治县", "2024-01-01", "2025-12-31"),
    ("S05", "临高示例渔业合作社", "certified", "HNFP-2025-LG-0003", "临高县", "2025-04-01", "2027-03-31"),
    ("S06", "海南爱心扶贫网(示例订单)", "mall", "", "", "", ""),
    ("S07", "屯昌示例帮扶村", "village", "", "屯昌县", "", ""),
    ("S08", "定安示例帮扶村", "village", "", "定安县", "", ""),
    ("S09", "海口示例农产品批发公司", "none", "", "", "", ""),
    ("S10", "三亚示例生鲜配送公司", "none", "", "", "", ""),
    ("S11", "儋州示例粮油贸易公司", "none", "", "", "", ""),
    ("S12", "琼海示例肉联厂", "none", "", "", "", ""),
]
CATEGORIES = [
    ("GRAIN", "粮油", "yes"), ("VEG", "蔬菜", "yes"), ("MEAT", "肉禽蛋", "yes"), ("FISH", "水产", "yes"),
    ("FRUIT", "水果", "yes"), ("SEAS", "调味品", "no"),
]
PACKAGING = [("大米", "袋", "25"), ("鸡蛋", "箱", "15"), ("花生油", "桶", "5")]
# product, category, unit, yuan per kg, pa suppliers, ordinary suppliers
PRODUCTS = [
    ("大米", "GRAIN", "袋", "5.20", ["S06"], ["S11"]),
    ("花生油", "GRAIN", "桶", "26.00", ["S06"], ["S11"]),
    ("青菜", "VEG", "斤", "6.40", ["S02", "S07"], ["S09", "S10"]),
    ("空心菜", "VEG", "公斤", "7.00", ["S08"], ["S09", "S10"]),
    ("鸡蛋", "MEAT", "箱", "12.00", ["S04"], ["S12"]),
    ("猪肉", "MEAT", "kg", "30.00", ["S04"], ["S12"]),
    ("鱼", "FISH", "kg", "24.00", ["S05"], ["S10"]),
    ("红毛丹", "FRUIT", "斤", "16.00", ["S03"], ["S09"]),
    ("酱油", "SEAS", "kg", "9.00", [], ["S09"]),
]


def operating(day: dt.date) -> bool:
    """Canteens close for the winter break (late Jan to mid Feb) and the summer (mid Jul to Aug)."""
    if day.weekday() == 6:
        return False
    if dt.date(YEAR, 1, 25) <= day <= dt.date(YEAR, 2, 16):
        return False
    return not (dt.date(YEAR, 7, 12) <= day <= dt.date(YEAR, 8, 31))


def main() -> None:
    rng = random.Random(2018411)
    OUT.mkdir(exist_ok=True)
    tables = {
        "institutions.csv": (["code", "name", "kind"], INSTITUTIONS),
        "canteens.csv": (["code", "institution", "name", "operator", "contractor"], CANTEENS),
        "suppliers.csv": (["code", "name", "eligibility", "certificate", "county", "valid_from", "valid_to"], SUPPLIERS),
        "categories.csv": (["code", "name", "counts_toward_quota"], CATEGORIES),
        "packaging.csv": (["product", "unit", "kg_per_unit"], PACKAGING),
    }
    for name, (header, rows) in tables.items():
        with open(OUT / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
    size = {c[0]: rng.choice([0.6, 1.0, 1.5, 2.2]) for c in CANTEENS}
    # Each canteen has its own habit, drifting month to month: some comply, some fall short.
    habit = {c[0]: rng.uniform(0.12, 0.34) for c in CANTEENS}
    lines = []
    day = dt.date(YEAR, 1, 1)
    while day.year == YEAR:
        if operating(day):
            for code, *_ in CANTEENS:
                pa_share = min(0.9, max(0.0, habit[code] + 0.06 * rng.uniform(-1, 1) + (0.05 if day.month in (4, 10) else 0)))
                invoice = f"INV-{code}-{day:%Y%m%d}"
                n = 0
                for product, category, unit, price, pa, ordinary in rng.sample(PRODUCTS, 3):
                    pa_pick = pa and rng.random() < pa_share
                    supplier = rng.choice(pa if pa_pick else ordinary)
                    kg_per = {"袋": 25, "箱": 15, "桶": 5, "斤": 0.5}.get(unit, 1)
                    qty = max(1, round(rng.uniform(20, 120) * size[code] / kg_per))
                    if unit in ("kg", "公斤"):
                        qty = round(rng.uniform(20, 120) * size[code], 1)
                    kg = qty * kg_per
                    amount = f"{float(price) * kg * rng.uniform(0.93, 1.07):.2f}"
                    ref = f"HNFP-MALL-{day:%Y%m%d}{rng.randrange(10**6):06d}" if supplier == "S06" else invoice
                    n = n + 1 if ref == invoice else 1
                    lines.append([day.isoformat(), code, supplier, category, product, qty, unit, amount, ref, n])
        day += dt.timedelta(days=1)
    with open(OUT / f"purchases_{YEAR}_synthetic.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "canteen", "supplier", "category", "product", "quantity", "unit", "amount", "ref", "line"])
        w.writerows(lines)
    print(f"wrote {OUT} ({len(lines)} purchase lines)")


if __name__ == "__main__":
    main()
