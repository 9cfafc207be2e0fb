"""Kindergartens on a Dask cluster (`--scheduler`): the same plans as the local processes, a dead
worker's county re-run or reported (never lost), clear messages, and a progress callback that
raises stopping the run at once, on the cluster and on the local processes.

The stand-ins for `_solve_county` below run in the workers' processes (spawned: they import this
module again); they find their marker files through FUPIN_TEST_MARKERS.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402  (installed with distributed)

import commands.plan_kindergartens as kcli  # noqa: E402
import planning.cluster as cluster_module  # noqa: E402
from commands.plan import plan  # noqa: E402
from common.errors import FupinError  # noqa: E402
from planning import kindergartens  # noqa: E402
from planning.kindergartens import CountyPlan, plan_province, read_province  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "kindergartens"
CODES = ("YP", "QZ", "BT")  # sample counties proven optimal in about a second each
TIME_LIMIT = 20  # not reached by these three: their plans do not depend on the machine's speed
MARKERS = "FUPIN_TEST_MARKERS"
_real_solve_county = kindergartens._solve_county


# ---------------------------------------------------------------------------------------------
# Stand-ins for kindergartens._solve_county, run in the workers' processes


def _markers() -> Path:
    return Path(os.environ[MARKERS])


def _dies_once_on_qz(task) -> CountyPlan:
    """Kills its worker process the first time it is given QZ; solves as usual otherwise."""
    marker = _markers() / "qz-died"
    if task[0].code == "QZ" and not marker.exists():
        marker.touch()
        os._exit(1)
    return _real_solve_county(task)


def _always_dies_on_qz(task) -> CountyPlan:
    if task[0].code == "QZ":
        (_markers() / f"qz-died-{os.getpid()}").touch()
        os._exit(1)
    return _real_solve_county(task)


def _slow_but_yp(task) -> CountyPlan:
    """YP at once; every other county waits (up to 60 s) for the file `stop`."""
    county = task[0]
    if county.code != "YP":
        deadline = time.monotonic() + 60
        while not (_markers() / "stop").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return CountyPlan(county.code, county.name, "error", "highs", reason="stand-in")


class Cancelled(Exception):
    """A web job's cancellation, say."""


def _cancel(_plan):
    raise Cancelled("cancelled by the user")


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def counties():
    by_code = {c.code: c for c in read_province(SAMPLE)}
    return [by_code[code] for code in CODES]


@pytest.fixture(scope="module")
def markers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("markers")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MARKERS, str(folder))  # before the cluster: its workers (and restarted ones) inherit it
        yield folder


@pytest.fixture(scope="module")
def cluster(markers):
    # One failure allowed: a county whose worker dies once is re-run, twice is given up on.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as local:
            yield local


@pytest.fixture
def clean_markers(markers):
    for path in markers.iterdir():
        path.unlink()
    yield markers
    (markers / "stop").touch()  # frees any stand-in still waiting


@pytest.fixture(scope="module")
def pool_plan(counties):
    return plan_province(counties, time_limit=TIME_LIMIT, jobs=2)


def same_plan(a: CountyPlan, b: CountyPlan) -> bool:
    return (a.county, a.status, a.proven, a.cost, a.lower_bound, round(a.children_km, 6), a.sites, a.assignments) == \
           (b.county, b.status, b.proven, b.cost, b.lower_bound, round(b.children_km, 6), b.sites, b.assignments)


def invoke(*args):
    return CliRunner().invoke(plan, ["kindergartens", *map(str, args)], catch_exceptions=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# The same plans


def test_cluster_gives_the_plans_of_the_local_processes(cluster, counties, pool_plan):
    told = []
    on_cluster = plan_province(counties, time_limit=TIME_LIMIT, progress=lambda p: told.append(p.county),
                               scheduler=cluster.scheduler_address)
    assert [c.county for c in on_cluster.counties] == list(CODES)
    assert sorted(told) == sorted(CODES)  # once per county, as each finished
    assert all(c.status == "optimal" for c in pool_plan.counties)
    for here, there in zip(pool_plan.counties, on_cluster.counties):
        assert same_plan(here, there), here.county
    assert on_cluster.jobs == 2  # the cluster's threads
    total, total_pool = on_cluster.summary()["total"], pool_plan.summary()["total"]
    for key in ("status", "cost", "children_km", "counties_solved", "new", "attached", "expanded", "places_added"):
        assert total[key] == total_pool[key], key


def test_the_command_plans_on_the_cluster(cluster, pool_plan, tmp_path, monkeypatch):
    monkeypatch.setattr(kcli, "report_writer", lambda: None)
    out = tmp_path / "out"
    result = invoke("--data", SAMPLE, "--county", "YP", "--county", "BT", "--time-limit", TIME_LIMIT,
                    "--scheduler", cluster.scheduler_address, "--no-report", "--out", out)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    expected = {c.county: c.cost for c in pool_plan.counties}
    assert {code: s["cost"] for code, s in summary["counties"].items()} == {"YP": expected["YP"], "BT": expected["BT"]}


# ---------------------------------------------------------------------------------------------
# A worker that dies


def test_a_county_whose_worker_dies_once_is_run_again(cluster, counties, pool_plan, clean_markers, monkeypatch):
    monkeypatch.setattr(kindergartens, "_solve_county", _dies_once_on_qz)
    told = []
    on_cluster = plan_province(counties, time_limit=TIME_LIMIT, progress=lambda p: told.append(p.county),
                               scheduler=cluster.scheduler_address)
    assert (clean_markers / "qz-died").exists()  # it did die
    assert sorted(told) == sorted(CODES)
    for here, there in zip(pool_plan.counties, on_cluster.counties):
        assert same_plan(here, there), here.county


def test_a_county_whose_workers_keep_dying_is_reported_not_lost(cluster, counties, pool_plan, clean_markers,
                                                                  monkeypatch):
    monkeypatch.setattr(kindergartens, "_solve_county", _always_dies_on_qz)
    told = []
    on_cluster = plan_province(counties, time_limit=TIME_LIMIT, progress=lambda p: told.append(p.county),
                               scheduler=cluster.scheduler_address)
    assert len(list(clean_markers.glob("qz-died-*"))) == 2  # allowed-failures 1: tried twice
    assert [c.county for c in on_cluster.counties] == list(CODES) and sorted(told) == sorted(CODES)
    qz = on_cluster.counties[CODES.index("QZ")]
    assert qz.status == "error" and not qz.has_solution and qz.name == counties[1].name
    assert "died 2 times" in qz.reason and "gave up" in qz.reason
    assert "died 2 times" in on_cluster.summary()["counties"]["QZ"]["status_text"]
    assert on_cluster.summary()["total"]["counties_without_plan"] == ["QZ"] or \
        all("died" in c.reason for c in on_cluster.failed)  # Dask may blame a county that shared the worker
    for here, there in zip(pool_plan.counties, on_cluster.counties):
        if there.county != "QZ" and there.has_solution:
            assert same_plan(here, there), here.county


# ---------------------------------------------------------------------------------------------
# A progress callback that raises: the run stops at once


class _RecordingPool(ProcessPoolExecutor):
    """The pool plan_province makes, remembering every process it starts."""

    started: list = []

    def _spawn_process(self):
        super()._spawn_process()
        _RecordingPool.started.extend(p for p in self._processes.values() if p not in _RecordingPool.started)


def test_a_raising_progress_stops_the_local_processes_at_once(counties, clean_markers, monkeypatch):
    monkeypatch.setattr(kindergartens, "_solve_county", _slow_but_yp)
    monkeypatch.setattr(kindergartens, "ProcessPoolExecutor", _RecordingPool)
    _RecordingPool.started = []
    start = time.monotonic()
    with pytest.raises(Cancelled, match="cancelled by the user"):
        plan_province(counties, time_limit=TIME_LIMIT, jobs=2, progress=_cancel)
    assert time.monotonic() - start < 20  # not the 60 s the other counties would wait
    # The pool's own processes are gone (other tests' processes, a Dask nanny's restarted worker say,
    # may still be ending: they are not the pool's).
    assert len(_RecordingPool.started) == 2
    assert not [p for p in _RecordingPool.started if p.is_alive()]


def test_stopping_the_local_processes_waits_for_each_to_be_reaped():
    """The pool's manager thread reaps its processes too. Waiting with join() raced it for their exit
    status, and about one stop in ten saw a dead process as alive (and would SIGKILL its pid)."""
    spawn = multiprocessing.get_context("spawn")
    for _ in range(30):
        pool = ProcessPoolExecutor(max_workers=2, mp_context=spawn)
        first = pool.submit(abs, -1)  # stdlib functions: the processes start in a fraction of a second
        for _ in range(3):
            pool.submit(time.sleep, 60)
        first.result()
        processes = list(pool._processes.values())
        kindergartens._stop_processes(pool)
        assert len(processes) == 2 and not [p for p in processes if p.is_alive()]


def test_a_raising_progress_stops_the_cluster_run_at_once(cluster, counties, clean_markers, monkeypatch):
    monkeypatch.setattr(kindergartens, "_solve_county", _slow_but_yp)
    start = time.monotonic()
    with pytest.raises(Cancelled, match="cancelled by the user"):
        plan_province(counties, time_limit=TIME_LIMIT, progress=_cancel, scheduler=cluster.scheduler_address)
    assert time.monotonic() - start < 20
    deadline = time.monotonic() + 10
    while cluster.scheduler.tasks and time.monotonic() < deadline:  # the futures were let go
        time.sleep(0.05)
    assert not cluster.scheduler.tasks and not cluster.scheduler.clients.keys() - {"fire-and-forget"}


def test_a_scheduler_lost_mid_run_writes_nothing(counties, clean_markers, monkeypatch):
    monkeypatch.setattr(kindergartens, "_solve_county", _slow_but_yp)
    doomed = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0")

    def lose_the_scheduler(_plan):
        if doomed.status.name == "running":
            doomed.close()

    with pytest.raises(FupinError, match=f"the Dask scheduler at {doomed.scheduler_address} dropped the run before "
                                         "every county was solved .*nothing was written"):
        plan_province(counties, time_limit=TIME_LIMIT, progress=lose_the_scheduler, scheduler=doomed.scheduler_address)


def test_the_jobs_path_still_tells_each_county(counties):
    told = []
    plan = plan_province(counties[:1], time_limit=TIME_LIMIT, jobs=1, progress=lambda p: told.append(p.county))
    assert told == ["YP"] and plan.counties[0].status == "optimal"
    with pytest.raises(Cancelled):
        plan_province(counties, time_limit=TIME_LIMIT, jobs=1, progress=_cancel)


# ---------------------------------------------------------------------------------------------
# Messages


def test_an_unreachable_scheduler_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 1.5)
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    result = invoke("--data", SAMPLE, "--county", "YP", "--scheduler", address, "--no-report", "--out", tmp_path / "o")
    assert time.monotonic() - start < 10
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"cannot reach a Dask scheduler at {address} within 1.5 s" in result.output
    assert "dask scheduler" in result.output and not (tmp_path / "o").exists()
    result = invoke("--data", SAMPLE, "--scheduler", "nowhere", "--no-report", "--out", tmp_path / "o")
    assert result.exit_code == 1 and "'nowhere' is not a Dask scheduler's address" in result.output
    assert "tcp://HOST:8786" in result.output


def test_jobs_and_scheduler_together_are_refused(tmp_path):
    result = invoke("--data", SAMPLE, "--jobs", 2, "--scheduler", "tcp://127.0.0.1:8786", "--out", tmp_path / "o")
    assert result.exit_code == 1 and "--jobs and --scheduler do not go together" in result.output
    assert "leave out --jobs" in result.output


def test_a_scheduler_without_workers_or_with_another_fupin_is_a_clear_message(cluster, counties, monkeypatch):
    monkeypatch.setattr(cluster_module, "fupin_version", lambda: "0.0.0-elsewhere")
    with pytest.raises(FupinError, match="the Dask workers need fupin installed, the same version as here: "
                                         "tcp://.* has fupin .*, this machine 0.0.0-elsewhere"):
        plan_province(counties, scheduler=cluster.scheduler_address)
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 0.5)
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        with pytest.raises(FupinError, match="has no workers .* start some with `dask worker"):
            plan_province(counties, scheduler=empty.scheduler_address)
