"""Generate the SYNTHETIC Hainan kindergarten sample (fixed seed): python data/kindergartens/generate_sample.py

Only the county-level names and their rough positions are real. Townships, villages, positions,
children, populations and existing kindergartens are invented. Sansha (islands, no rural
villages of this kind) is left out.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
# code, name, approximate centre (lat, lon), number of townships, spread of townships (km)
COUNTIES = [
    ("HK", "海口市", 19.95, 110.35, 20, 18), ("SY", "三亚市", 18.30, 109.45, 10, 16),
    ("DZ", "儋州市", 19.55, 109.45, 17, 22), ("WZS", "五指山市", 18.85, 109.55, 7, 12),
    ("QH", "琼海市", 19.20, 110.40, 12, 16), ("WC", "文昌市", 19.60, 110.75, 17, 20),
    ("WN", "万宁市", 18.85, 110.30, 12, 17), ("DF", "东方市", 19.05, 108.80, 10, 20),
    ("DA", "定安县", 19.55, 110.30, 10, 14), ("TC", "屯昌县", 19.30, 110.05, 8, 13),
    ("CM", "澄迈县", 19.65, 110.00, 11, 17), ("LG", "临高县", 19.80, 109.70, 10, 14),
    ("BS", "白沙黎族自治县", 19.20, 109.40, 11, 18), ("CJ", "昌江黎族自治县", 19.25, 109.05, 8, 16),
    ("LD", "乐东黎族自治县", 18.65, 109.10, 11, 18), ("LS", "陵水黎族自治县", 18.50, 109.95, 11, 12),
    ("BT", "保亭黎族苗族自治县", 18.60, 109.65, 9, 12), ("QZ", "琼中黎族苗族自治县", 19.05, 109.85, 10, 18),
    ("YP", "洋浦经济开发区", 19.72, 109.20, 2, 5),
]
SYLLABLES = "安宝长大东福光和红华加金乐联龙美南平青仁三山石水太田新兴阳永岭坡湾头岭塘园"


def name(rng: random.Random, used: set[str], suffix: str) -> str:
    while True:
        text = "".join(rng.choice(SYLLABLES) for _ in range(2)) + suffix
        if text not in used:
            used.add(text)
            return text


def main(seed: int = 2018) -> None:
    rng = random.Random(seed)
    townships, villages = [], []
    for code, _, lat0, lon0, n_town, spread in COUNTIES:
        used: set[str] = set()
        kx = 111.320 * math.cos(math.radians(lat0))
        for t in range(1, n_town + 1):
            r, ang = spread * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
            tx, ty = r * math.cos(ang), r * math.sin(ang)
            tcode = f"{code}{t:02d}"
            n_vil = max(4, round(rng.gauss(12.2, 3)))
            seat = f"{tcode}-01"
            for k in range(1, n_vil + 1):
                vx, vy = (tx, ty) if k == 1 else (tx + rng.gauss(0, 2.8), ty + rng.gauss(0, 2.8))
                is_seat = k == 1
                children = min(round(rng.lognormvariate(math.log(55), 0.5) * (1.7 if is_seat else 1)),
                               230 if is_seat else 170)
                school = is_seat or rng.random() < 0.55
                if is_seat and rng.random() < 0.85:
                    places, central = rng.choice([90, 120, 180, 240, 270]), True
                elif not is_seat and rng.random() < 0.15:
                    places, central = rng.choice([30, 60, 90, 120]), False
                else:
                    places, central = 0, False
                villages.append({
                    "code": f"{tcode}-{k:02d}", "township": tcode, "name": name(rng, used, "村"),
                    "lat": f"{lat0 + vy / 110.574:.5f}", "lon": f"{lon0 + vx / kx:.5f}",
                    "children": children, "primary_school": "yes" if school else "no",
                    "kg_places": places, "kg_central": "yes" if central else "no"})
            population = round(rng.lognormvariate(math.log(28000), 0.6), -2)
            townships.append({"code": tcode, "county": code, "name": name(rng, used, "镇"),
                              "population": int(population), "seat": seat})
    write(HERE / "counties.csv", ["code", "name"], [{"code": c[0], "name": c[1]} for c in COUNTIES])
    write(HERE / "townships.csv", ["code", "county", "name", "population", "seat"], townships)
    write(HERE / "villages.csv", ["code", "township", "name", "lat", "lon", "children", "primary_school",
                                  "kg_places", "kg_central"], villages)
    print(f"{len(COUNTIES)} counties, {len(townships)} townships, {len(villages)} villages (synthetic)")


def write(path: Path, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
