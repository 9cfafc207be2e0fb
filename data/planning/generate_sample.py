"""Writes the synthetic planning sample. County names and the national poverty list are real;
every figure (shortages, capacities, vacancies, applicants) is invented. Run from the repo root:
    python data/planning/generate_sample.py
"""

import csv
import random
from pathlib import Path

HERE = Path(__file__).parent

# code, name, poverty (national = the plan's five; provincial = an illustrative synthetic choice)
COUNTIES = [
    ("HK", "海口市", "none"), ("SY", "三亚市", "none"), ("DZ", "儋州市", "none"),
    ("WZS", "五指山市", "national"), ("QH", "琼海市", "none"), ("WC", "文昌市", "none"),
    ("WN", "万宁市", "none"), ("DF", "东方市", "provincial"), ("DA", "定安县", "provincial"),
    ("TC", "屯昌县", "provincial"), ("CM", "澄迈县", "none"), ("LG", "临高县", "national"),
    ("BS", "白沙黎族自治县", "national"), ("CJ", "昌江黎族自治县", "provincial"),
    ("LD", "乐东黎族自治县", "provincial"), ("LS", "陵水黎族自治县", "provincial"),
    ("BT", "保亭黎族苗族自治县", "national"), ("QZ", "琼中黎族苗族自治县", "national"),
]
SIZE = {"HK": 3.0, "SY": 1.6, "DZ": 2.0, "CM": 1.3, "WC": 1.2, "WN": 1.2, "QH": 1.1, "LD": 1.2, "DF": 1.1,
        "LG": 1.1, "LS": 1.0, "DA": 0.8, "TC": 0.7, "CJ": 0.7, "BS": 0.7, "QZ": 0.7, "BT": 0.6, "WZS": 0.5}


def write(name, header, rows):
    with open(HERE / name, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main():
    rng = random.Random(2018)
    rural = {"national": 1.6, "provincial": 1.3, "none": 1.0}
    counties, needs = [], []
    for code, name, poverty in COUNTIES:
        need = {s: round(SIZE[code] * rural[poverty] * base * rng.uniform(0.6, 1.4))
                for s, base in (("primary", 14), ("junior", 8), ("preschool", 6))}
        capacity = round(sum(need.values()) * rng.uniform(0.5, 0.9))
        counties.append((code, name, poverty, capacity))
        needs += [(code, s, v) for s, v in need.items()]
    write("counties.csv", ["code", "name", "poverty", "special_post_capacity"], counties)
    write("teacher_needs.csv", ["county", "stage", "shortage"], needs)

    vacancies, applicants = [], []
    for code, _, poverty in COUNTIES:
        for programme, base, years in (("primary", 9, 4), ("preschool", 4, 3)):
            for intake in (2018, 2019, 2020):
                v = round(SIZE[code] * rural[poverty] * base * rng.uniform(0.7, 1.3))
                vacancies.append((code, programme, intake + years, v))
                a = round(v * rng.uniform(0.6, 1.8))
                applicants.append((code, programme, intake, a))
    write("graduate_needs.csv", ["county", "programme", "year", "vacancies"], vacancies)
    write("applicants.csv", ["county", "programme", "year", "applicants"], applicants)


if __name__ == "__main__":
    main()
