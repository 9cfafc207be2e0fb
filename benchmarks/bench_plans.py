"""The planners' pages of a finished whole-province kindergarten run, measured in one run.

Runs the sample province (data/kindergartens, 19 counties) as a job with the worker's own code,
then times through waitress on loopback, over --requests requests each: the run's page (every
county's status, figures and link) and the map page of its largest county, p50 and p95, each as a
ratio to the work the page asks of fupin done in this process (reading the run back; for the map
also reading the data set and drawing the SVG). The goal: the run's page under 1 s.
Usage: python benchmarks/bench_plans.py [--time-limit 10] [--requests 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import db  # noqa: E402
from accounts import services as accounts  # noqa: E402
from accounts.access import access_of  # noqa: E402
from bench_web import percentile, sign_in, timed  # noqa: E402
from commands.worker import writers  # noqa: E402
from db.models import PlanJob, User  # noqa: E402
from planners import datasets, jobs, results  # noqa: E402
from planners.worker import serve  # noqa: E402

SAMPLE = ROOT / "data" / "kindergartens"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per county for the run")
    ap.add_argument("--requests", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url, root = f"sqlite:///{tmp}/plans.db", Path(tmp) / "instance"
        engine = db.make_engine(url)
        db.upgrade(engine)
        with db.unit_of_work(engine, write=True) as uow:
            accounts.add_user(uow, "bench", "planner", "bench password 1", [], [], "bench")
        with db.unit_of_work(engine) as uow:
            access = access_of(uow.session, uow.session.query(User).one())
        files = [(n, (SAMPLE / n).read_bytes()) for n in ("townships.csv", "villages.csv", "counties.csv")]
        with db.unit_of_work(engine, write=True) as uow:
            dataset = datasets.store_dataset(uow, access, "sample", files, root).dataset
        with db.unit_of_work(engine, queue=True) as uow:
            job_id = jobs.submit(uow, access, "kindergartens", dataset.id, None, [], "highs", args.time_limit, "zh").id
        t0 = time.perf_counter()
        serve(engine, root, writers(), once=True, say=lambda _: None)
        print(f"whole-province run as a job (19 counties, --time-limit {args.time_limit:g}): "
              f"{time.perf_counter() - t0:.1f} s")
        with db.unit_of_work(engine) as uow:
            job = uow.session.get(PlanJob, job_id)
        assert job.state == "finished", job.reason
        folder = jobs.run_folder_of(root, job)
        view = results.kindergarten_view(folder, "zh")
        largest = max(view["counties"], key=lambda c: c.get("villages_served") or 0)["code"]

        from waitress.server import create_server

        from web import create_app

        app = create_app(url, instance_path=root)
        server = create_server(app, host="127.0.0.1", port=0, threads=4)
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{server.effective_port}"
        cookie = sign_in(base)

        def get(path: str) -> bytes:
            request = urllib.request.Request(base + path, headers={"Cookie": cookie})
            with urllib.request.urlopen(request) as response:
                assert response.status == 200
                return response.read()

        def in_process_map():
            from planning.kindergartens import read_province
            from reports.maps import county_map_svg

            sites, assignments = results.county_rows(folder, largest)
            county = next(c for c in read_province(datasets.dataset_folder(root, dataset)) if c.code == largest)
            county_map_svg(county, sites, assignments, "zh")

        for name, http, work in (
                ("run page (19 counties)", lambda: get(f"/plans/runs/{job_id}"),
                 lambda: results.kindergarten_view(folder, "zh")),
                (f"map page ({largest})", lambda: get(f"/plans/runs/{job_id}/counties/{largest}"), in_process_map)):
            http(), work()  # warm: imports, fonts, caches
            pages, baseline = timed(http, args.requests), timed(work, args.requests)
            p50, p95 = percentile(pages, 0.5), percentile(pages, 0.95)
            print(f"{name}: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; in-process work p50 "
                  f"{percentile(baseline, 0.5) * 1000:.1f} ms (ratio {p50 / percentile(baseline, 0.5):.1f}x)"
                  + (f"; goal p95 < 1 s: {'met' if p95 < 1 else 'NOT met'}" if name.startswith("run") else ""))
        server.close()
        engine.dispose()


if __name__ == "__main__":
    main()
