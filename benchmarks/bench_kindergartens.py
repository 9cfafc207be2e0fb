"""Kindergarten planning at country size: model-building seconds against solver seconds.

    python benchmarks/bench_kindergartens.py --counties 20 --jobs 2 --time-limit 10   # a sample
    python benchmarks/bench_kindergartens.py --counties 0 --jobs 2 --time-limit 3     # the whole country
    python benchmarks/bench_kindergartens.py --counties 0 --scheduler tcp://HOST:8786  # on a Dask cluster
    python benchmarks/bench_kindergartens.py --counties 1000 --csv counties.csv        # a row per county

Generates a SYNTHETIC country (default 2,800 counties, ~500,000 villages, i.e. ~178 villages per
county) and solves the first --counties of them (0: all). "Build" is our Python work (pricing,
enumeration, building models); "solver" is time inside HiGHS/CBC. For a sample, the whole is also
extrapolated. --method compact measures the compact model alone, the baseline. Not a test.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planning.kindergartens import KindergartenCounty as County, KindergartenScenario, Township, Village, plan_province  # noqa: E402


def make_county(k: int, villages_per_county: int, rng: random.Random) -> County:
    code = f"C{k:04d}"
    n_town = max(2, round(villages_per_county / 12.5))
    townships, villages = [], []
    spread = 4.0 * math.sqrt(n_town)
    for t in range(n_town):
        r, ang = spread * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        tx, ty = r * math.cos(ang), r * math.sin(ang)
        tcode = f"{code}-{t:02d}"
        count = villages_per_county // n_town + (1 if t < villages_per_county % n_town else 0)
        for i in range(count):
            seat = i == 0
            x, y = (tx, ty) if seat else (tx + rng.gauss(0, 2.8), ty + rng.gauss(0, 2.8))
            children = min(round(rng.lognormvariate(math.log(55), 0.5) * (1.7 if seat else 1)), 230 if seat else 170)
            if seat and rng.random() < 0.85:
                places, central = rng.choice([90, 120, 180, 240]), True
            elif not seat and rng.random() < 0.15:
                places, central = rng.choice([30, 60, 90, 120]), False
            else:
                places, central = 0, False
            villages.append(Village(f"{tcode}-{i:03d}", tcode, f"v{i}", x, y, children,
                                    seat or rng.random() < 0.55, places, central))
        townships.append(Township(tcode, code, f"t{t}", int(rng.lognormvariate(math.log(28000), 0.6)), f"{tcode}-000"))
    return County(code, code, townships, villages)


def wall_on(seconds: list[float], processes: int) -> float:
    """The wall time of counties taking `seconds` each, handed in this order to whichever of
    `processes` is free first (as the local pool and a Dask cluster do): list scheduling."""
    free = [0.0] * max(1, processes)
    for took in seconds:
        heapq.heapreplace(free, free[0] + took)
    return max(free)


def write_counties(path: str, plans) -> None:
    """One row per county: what a later look at the hard counties needs."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["county", "status", "proven_cost", "proven_children_km", "cost", "lower_bound", "gap",
                      "seconds", "build_seconds", "solver_seconds", "reason"])
        for c in plans:
            out.writerow([c.county, c.status, c.proven["cost"], c.proven["children_km"], c.cost, c.lower_bound,
                          "" if c.gap is None else f"{c.gap:.6f}", f"{c.seconds:.3f}", f"{c.build_seconds:.3f}",
                          f"{c.solver_seconds:.3f}", c.reason])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--total-counties", type=int, default=2800)
    ap.add_argument("--total-villages", type=int, default=500_000)
    ap.add_argument("--counties", type=int, default=20, help="how many counties to solve (0: every county)")
    ap.add_argument("--method", default="columns", choices=["columns", "compact"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler: the counties go to its workers "
                    "instead of --jobs local processes")
    ap.add_argument("--solver", default="highs")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per county")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--csv", metavar="PATH", help="also write one row per county (status, proven stages, gap, seconds)")
    args = ap.parse_args()
    per = args.total_villages // args.total_counties
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    wanted = args.total_counties if args.counties <= 0 else min(args.counties, args.total_counties)
    counties = [make_county(k, per, rng) for k in range(wanted)]
    gen = time.perf_counter() - t0
    done = []

    def progress(county_plan) -> None:
        done.append(county_plan)
        if len(done) % 100 == 0:
            both_so_far = sum(c.proven["children_km"] for c in done)
            print(f"  ... {len(done)}/{wanted} counties, {time.perf_counter() - t0:.0f} s, "
                  f"{both_so_far} proven in both stages", file=sys.stderr, flush=True)

    plan = plan_province(counties, KindergartenScenario(), args.solver, args.time_limit, args.jobs,
                         progress=progress, method=args.method, scheduler=args.scheduler)
    build = sum(c.build_seconds for c in plan.counties)
    solve = sum(c.solver_seconds for c in plan.counties)
    optimal = sum(c.status == "optimal" for c in plan.counties)
    both = sum(c.proven["children_km"] for c in plan.counties)
    n = len(counties)
    scale = args.total_counties / n
    planned = sorted((c for c in plan.counties if c.has_solution), key=lambda c: c.gap or 0.0)
    gaps = [c.gap or 0.0 for c in planned]
    label = "whole country" if n == args.total_counties else "sample"
    where = f"the Dask cluster at {args.scheduler}" if args.scheduler else f"{args.jobs} processes"
    print(f"{label}: {n} counties x {per} villages ({sum(len(c.villages) for c in counties):,} villages), "
          f"{where}, solver {args.solver}, method {args.method}, "
          f"time limit {args.time_limit:g} s per county (generation {gen:.1f} s)")
    print(f"  planned: {len(gaps)}/{n}; proven optimal: {optimal}/{n} (cost), {both}/{n} (both stages); gap median {gaps[len(gaps) // 2]:.2%}, "
          f"90th percentile {gaps[int(len(gaps) * 0.9)]:.2%}, worst {gaps[-1]:.2%} ({planned[-1].county})"
          if gaps else "  no county planned")
    print(f"  total cost {sum(c.cost for c in plan.counties if c.has_solution):,} yuan")
    print(f"  model building: {build:.2f} s   solver: {solve:.2f} s   ratio build/solve {build / max(solve, 1e-9):.3f}")
    print(f"  per county: build {build / n:.3f} s, solver {solve / n:.2f} s; wall {plan.seconds:.1f} s")
    if n < args.total_counties:
        print(f"whole country ({args.total_counties} counties), EXTRAPOLATED from the sample on {where}:")
        print(f"  build {build * scale:.0f} s, solver {solve * scale:.0f} s, wall ~{plan.seconds * scale:.0f} s "
              f"(~{plan.seconds * scale / 3600:.1f} h)")
    # The counties' own seconds, spread evenly: a floor, since a process's counties rarely end together.
    print(f"  within 30 minutes: at least {math.ceil((build + solve) * scale / 1800)} processes like these "
          f"(the counties' own {(build + solve) * scale:,.0f} s over 1,800 s)")
    # The sample's county seconds repeated to the whole country, in the order given, on N processes of
    # this speed each (more machines, not more processes sharing these cores).
    took = [plan.counties[k % n].seconds for k in range(args.total_counties)]
    print("  list-scheduled on N such processes (the county seconds measured here): " + ", ".join(
        f"{p}: {wall_on(took, p) / 60:,.0f} min" for p in (2, 4, 8, 16, 32)))
    if args.csv:
        write_counties(args.csv, plan.counties)
        print(f"  written: {args.csv}")


if __name__ == "__main__":
    main()
