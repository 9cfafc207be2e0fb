"""The web application under load, against the same work done in-process, measured in one run.

With an N-line ledger (default 1,000,000): a canteen's month page and the compliance API, p50 and
p95 over 100 requests through waitress on loopback, as ratios to the same service call made in
this process; posting 1,000 lines through the API against the CLI import of the same lines; and 8
concurrent API writers, checking that no line is lost.
Usage: python benchmarks/bench_web.py [--rows 1000000] [--requests 100]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import db  # noqa: E402
from accounts import services as accounts  # noqa: E402
from bench_ledger import KINDS, SAMPLE, generate  # noqa: E402
from procure import ledger, masterdata, services  # noqa: E402
from procure.rules import DEFAULT_RULE  # noqa: E402

MONTH = "2025-05"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def line(i: int, canteen: str) -> dict:
    return {"date": "2025-11-03", "canteen": canteen, "supplier": "S06", "category": "VEG", "product": "青菜",
            "quantity": str(1 + i % 50), "unit": "斤", "amount": f"{2 + i % 90}.50", "ref": f"WEB-{canteen}-{i}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        url = f"sqlite:///{tmp / 'web.db'}"
        engine = db.make_engine(url)
        db.ensure_schema(engine)
        data = tmp / "purchases.csv"
        generate(data, args.rows)
        t0 = time.perf_counter()
        with db.unit_of_work(engine, write=True) as uow:
            for kind in KINDS:
                masterdata.import_master(uow.session, kind, SAMPLE / f"{kind}.csv", "bench")
            uow.commit()
        with db.unit_of_work(engine, write=True) as uow:
            ledger.import_purchases(uow.session, data, "bench", today=dt.date(2025, 12, 31))
            uow.commit()
        with db.unit_of_work(engine, write=True) as uow:
            accounts.add_user(uow, "bench", "admin", "bench password 1", [], [], "bench")
            token = accounts.new_token(uow, "bench", "bench")
        print(f"ledger of {args.rows:,} lines ready in {time.perf_counter() - t0:.0f} s")

        from waitress.server import create_server

        from web import create_app

        app = create_app(url, instance_path=tmp / "instance")
        server = create_server(app, host="127.0.0.1", port=0, threads=8)
        base = f"http://127.0.0.1:{server.effective_port}"
        threading.Thread(target=server.run, daemon=True).start()
        auth = {"Authorization": f"Bearer {token}"}

        def get(path: str, headers: dict | None = None, cookie: str | None = None) -> bytes:
            request = urllib.request.Request(base + path, headers={**(headers or {}),
                                                                   **({"Cookie": cookie} if cookie else {})})
            with urllib.request.urlopen(request) as response:
                return response.read()

        cookie = sign_in(base)
        # In-process baselines: the same service calls, no HTTP, no templates.
        def service_month():  # what the page asks of the services: the institution's month, one page of entries
            with db.unit_of_work(engine) as uow:
                services.month_compliance(uow, MONTH, DEFAULT_RULE, "HNU-S", dt.date(2025, 12, 31))
                page = services.month_entries(uow, MONTH, "C01", newest_first=True, limit=200)
                services.voided_among(uow, [e.id for e in page])

        def service_api():
            with db.unit_of_work(engine) as uow:
                services.month_compliance(uow, MONTH, DEFAULT_RULE, None, dt.date(2025, 12, 31))

        results = {}
        for name, http, base_fn in (("canteen month page", lambda: get(f"/canteens/C01?month={MONTH}", cookie=cookie),
                                     service_month),
                                    ("compliance API", lambda: get(f"/api/v1/compliance?month={MONTH}", auth),
                                     service_api)):
            http()
            base_fn()
            web_t, svc_t = timed(http, args.requests), timed(base_fn, args.requests)
            results[name] = (percentile(web_t, .5), percentile(web_t, .95), percentile(svc_t, .5),
                             percentile(svc_t, .95))
        for name, (w50, w95, s50, s95) in results.items():
            print(f"{name}: p50 {w50 * 1000:.0f} ms, p95 {w95 * 1000:.0f} ms over {args.requests} requests; "
                  f"in-process service p50 {s50 * 1000:.0f} ms; ratio p50 {w50 / s50:.2f}x "
                  f"(goal <= 1.5x, p95 <= 200 ms)")

        lines = [line(i, "C02") for i in range(1000)]
        body = json.dumps({"lines": lines}).encode()
        t0 = time.perf_counter()
        posted = json.loads(post(base, "/api/v1/purchases", body, auth))
        api_s = time.perf_counter() - t0
        assert posted["added"] == 1000, posted
        csv_path = tmp / "cli.csv"
        with open(csv_path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(lines[0]))
            writer.writeheader()
            writer.writerows([{**x, "canteen": "C03", "ref": x["ref"].replace("C02", "C03")} for x in lines])
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from cli import main; main()", "--db", url, "--user", "bench",
                        "procure", "import", str(csv_path)], check=True, capture_output=True, cwd=ROOT)
        cli_s = time.perf_counter() - t0
        print(f"1,000 lines: API {api_s:.2f} s, CLI import (whole process) {cli_s:.2f} s; ratio {api_s / cli_s:.2f}x "
              "(goal <= 2x)")

        def writer(k: int) -> int:
            mine = [line(i, "C04") | {"ref": f"W{k}-{i}"} for i in range(100)]
            return json.loads(post(base, "/api/v1/purchases", json.dumps({"lines": mine}).encode(), auth))["added"]

        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            added = sum(pool.map(writer, range(8)))
        with db.unit_of_work(engine) as uow:
            stored = sum(e.ref.startswith("W") for e in services.month_entries(uow, "2025-11", "C04"))
        print(f"8 concurrent API writers x 100 lines: {added} added, {stored} in the ledger "
              f"({'none lost' if stored == 800 == added else 'LOST LINES'}), {time.perf_counter() - t0:.1f} s")
        server.close()
        engine.dispose()


def sign_in(base: str) -> str:
    import http.cookiejar
    import re
    import urllib.parse

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    opener.open(base + "/login", urllib.parse.urlencode({"username": "bench", "password": "bench password 1",
                                                          "csrf_token": token}).encode())
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def post(base: str, path: str, body: bytes, headers: dict) -> bytes:
    request = urllib.request.Request(base + path, data=body, method="POST",
                                     headers={**headers, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return response.read()


if __name__ == "__main__":
    main()
