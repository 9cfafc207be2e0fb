"""Single-source capacitated facility location: the engine against the plain compact MIP in HiGHS.

    python benchmarks/bench_location.py --time-limit 60                       # reference + generated
    python benchmarks/bench_location.py --dir /path/to/orlib-cap --generated 0  # files only

Every OR-Library 'cap' file in --dir (default: shared/reference/orlib-cap beside the clone) with at
least --min-points points is solved, its published optimum read from the README table there when
listed; then --generated seeded instances of 30 sites x 200 points in the style of Holmberg et al.
(1999): demand 10-50, fixed cost 300-700, capacities scaled to --ratios times the total demand,
cost = distance x demand / 10. Each is solved by the engine (`solve_facility_location`) and by the
plain compact MIP (method "compact") with the same time limit; the seconds' ratio is printed with
the machine's load average, since the machine may be shared. Not a test.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planning.location import read_orlib_cap, solve_facility_location  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "orlib-cap"


def holmberg_style(seed: int, ratio: float, sites: int = 30, points: int = 200):
    rng = random.Random(seed)
    where = [(rng.uniform(10, 200), rng.uniform(10, 200)) for _ in range(sites)]
    at = [(rng.uniform(10, 200), rng.uniform(10, 200)) for _ in range(points)]
    demand = {i: rng.randint(10, 50) for i in range(1, points + 1)}
    raw = [rng.uniform(100, 500) for _ in range(sites)]
    scale = ratio * sum(demand.values()) / sum(raw)
    capacity = {j: max(50, round(raw[j - 1] * scale)) for j in range(1, sites + 1)}
    fixed = {j: rng.randint(300, 700) for j in range(1, sites + 1)}
    cost = {(i, j): round(math.dist(at[i - 1], where[j - 1]) * demand[i] / 10)
            for i in range(1, points + 1) for j in range(1, sites + 1)}
    return fixed, capacity, demand, cost


def published_optima(folder: Path) -> dict[str, float]:
    """file name -> optimum, from the README's table rows `| name.txt | ... | optimum | ... |`."""
    readme = folder / "README.md"
    out = {}
    if readme.exists():
        for line in readme.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 4 and cells[0].endswith(".txt") and re.fullmatch(r"[0-9.]+", cells[3]):
                out[cells[0]] = float(cells[3])
    return out


def instances(args) -> list[tuple[str, tuple, float | None]]:
    found = []
    folder = Path(args.dir)
    optima = published_optima(folder) if folder.is_dir() else {}
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
        inst = read_orlib_cap(path)
        if len(inst.demand) >= args.min_points:
            found.append((path.name, (inst.fixed_cost, inst.capacity, inst.demand, inst.cost), optima.get(path.name)))
    for k in range(args.generated):
        ratio = args.ratios[k % len(args.ratios)]
        found.append((f"gen-{k + 1}-r{ratio:g}", holmberg_style(1000 + k, ratio), None))
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=str(REFERENCE))
    ap.add_argument("--min-points", type=int, default=200, help="only files with at least this many points")
    ap.add_argument("--generated", type=int, default=6)
    ap.add_argument("--ratios", type=float, nargs="+", default=[3.0, 2.0, 1.5])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--no-baseline", action="store_true", help="skip the compact MIP")
    args = ap.parse_args()
    print(f"cores {os.cpu_count()}, load average before {os.getloadavg()[0]:.2f}, time limit {args.time_limit:g} s")
    print(f"{'instance':<14} {'engine s':>8} {'objective':>12} {'optimum':>12} {'proven':>6} {'gap':>7} "
          f"{'nodes':>5} | {'MIP s':>6} {'MIP obj':>10} {'proven':>6} {'ratio':>6} {'load':>5}")
    for name, (fixed, capacity, demand, cost), optimum in instances(args):
        t0 = time.perf_counter()
        engine = solve_facility_location(fixed, capacity, demand, cost, True, time_limit=args.time_limit)
        engine_s = time.perf_counter() - t0
        mip_text = ""
        if not args.no_baseline:
            t0 = time.perf_counter()
            mip = solve_facility_location(fixed, capacity, demand, cost, True, time_limit=args.time_limit,
                                          method="compact")
            mip_s = time.perf_counter() - t0
            mip_obj = "-" if mip.objective is None else f"{mip.objective:.1f}"
            mip_text = (f"{mip_s:6.1f} {mip_obj:>10} {'yes' if mip.status == 'optimal' else 'no':>6} "
                        f"{mip_s / engine_s:6.1f}")
        objective = "-" if engine.objective is None else f"{engine.objective:.1f}"
        gap = "-" if engine.gap is None else f"{engine.gap:.2%}"
        print(f"{name:<14} {engine_s:8.1f} {objective:>12} {'-' if optimum is None else f'{optimum:.1f}':>12} "
              f"{'yes' if engine.status == 'optimal' else 'no':>6} {gap:>7} {engine.steps.get('nodes', '-'):>5} | "
              f"{mip_text} {os.getloadavg()[0]:5.2f}", flush=True)


if __name__ == "__main__":
    main()
