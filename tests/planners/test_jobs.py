"""Jobs: claimed by one worker, given up when the worker dies (its child stops too, nothing is kept),
cancelled while queued or running; on both databases."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import db
from accounts import services as accounts
from accounts.access import access_of
from db.models import JobState, PlanJob, User
from planners import datasets, jobs
from planners.settings import PlannerSettings
from planners.worker import Writers, serve

ROOT = Path(__file__).resolve().parents[2]
KG = ROOT / "data" / "kindergartens"


@pytest.fixture
def desk(engine, tmp_path):
    """A planner, the sample kindergarten data set, and the instance folder."""
    with db.unit_of_work(engine, write=True) as uow:
        accounts.add_user(uow, "planner", "planner", "correct horse battery", [], [], "setup")
    with db.unit_of_work(engine) as uow:
        access = access_of(uow.session, uow.session.query(User).one())
    root = tmp_path / "instance"
    files = [(n, (KG / n).read_bytes()) for n in ("townships.csv", "villages.csv", "counties.csv")]
    with db.unit_of_work(engine, write=True) as uow:
        dataset = datasets.store_dataset(uow, access, "sample", files, root).dataset
    return access, dataset.id, root


def submit(engine, access, dataset_id, counties=("BT",), time_limit=5.0) -> int:
    with db.unit_of_work(engine, queue=True) as uow:
        return jobs.submit(uow, access, "kindergartens", dataset_id, None, list(counties), "highs", time_limit, "en").id


def state_of(engine, job_id) -> PlanJob:
    with db.unit_of_work(engine) as uow:
        return uow.session.get(PlanJob, job_id)


def wait_for(predicate, seconds=60.0, what="the condition"):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"waited {seconds} s for {what}")


def test_each_job_is_claimed_by_one_worker(engine, desk):
    access, dataset_id, _ = desk
    first, second = submit(engine, access, dataset_id), submit(engine, access, dataset_id)
    claimed = []
    for worker in ("w1", "w2", "w3"):
        with db.unit_of_work(engine, queue=True) as uow:
            job = jobs.claim(uow, worker)
            claimed.append(job.id if job else None)
    assert claimed == [first, second, None]
    assert state_of(engine, first).worker == "w1" and state_of(engine, first).state == JobState.RUNNING


@pytest.mark.postgres
def test_postgresql_workers_skip_a_job_another_is_claiming(engine, desk):
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    access, dataset_id, _ = desk
    first, second = submit(engine, access, dataset_id), submit(engine, access, dataset_id)
    with engine.connect() as other:
        other.execute(text("SELECT id FROM plan_jobs WHERE id = :id FOR UPDATE"), {"id": first})
        with db.unit_of_work(engine, queue=True) as uow:
            uow.session.execute(text("SET LOCAL lock_timeout = '3s'"))
            job = jobs.claim(uow, "w2")
        assert job.id == second
        other.rollback()


def test_a_job_given_up_is_no_longer_its_old_worker_s(engine, desk):
    access, dataset_id, root = desk
    job_id = submit(engine, access, dataset_id)
    with db.unit_of_work(engine, queue=True) as uow:
        job = jobs.claim(uow, "w1")
    folder = jobs.run_folder_of(root, job)
    folder.mkdir(parents=True)
    (folder.parent / f".{job.stored_as}.tmp-1234").mkdir()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    with db.unit_of_work(engine, queue=True) as uow:
        assert jobs.reap(uow, root, PlannerSettings(), now=later) == [job_id]
    given_up = state_of(engine, job_id)
    assert given_up.state == JobState.FAILED and "stopped answering" in given_up.reason
    assert not folder.exists() and not list(folder.parent.glob(f".{job.stored_as}*"))
    with db.unit_of_work(engine, queue=True) as uow:
        assert jobs.heartbeat(uow, job_id, "w1") == "lost"
    with db.unit_of_work(engine, queue=True) as uow:
        assert jobs.end(uow, job_id, "w1", JobState.FINISHED) is False
    assert state_of(engine, job_id).state == JobState.FAILED


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def _is_job_child(pid: int) -> bool:
    try:
        return "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_worker_leaves_a_failed_job_and_no_files(engine, desk):
    access, dataset_id, root = desk
    job_id = submit(engine, access, dataset_id, counties=(), time_limit=10)  # the province: minutes
    url = engine.url.render_as_string(hide_password=False)
    worker = subprocess.Popen([sys.executable, "-m", "cli", "--db", url, "worker", "--instance", str(root)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: state_of(engine, job_id).state == JobState.RUNNING, what="the worker to claim the job")
        wait_for(lambda: any(_is_job_child(p) for p in _children(worker.pid)), what="the job's process")
        (child,) = [p for p in _children(worker.pid) if _is_job_child(p)]
        time.sleep(2)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        wait_for(lambda: not _alive(child), seconds=15, what="the job's process to stop with its worker")
    finally:
        if worker.poll() is None:
            worker.kill()
    assert state_of(engine, job_id).state == JobState.RUNNING  # until someone notices
    time.sleep(1.5)
    with db.unit_of_work(engine, queue=True) as uow:
        assert jobs.reap(uow, root, PlannerSettings(stale_seconds=1)) == [job_id]
    job = state_of(engine, job_id)
    assert job.state == JobState.FAILED and "Start it again" in job.reason
    assert not list((root / "runs").iterdir())


def test_a_running_job_is_cancelled_within_seconds(engine, desk):
    access, dataset_id, root = desk
    job_id = submit(engine, access, dataset_id, counties=(), time_limit=10)
    worker = threading.Thread(target=serve, args=(engine, root, Writers()),
                              kwargs={"once": True, "say": lambda _: None}, daemon=True)
    worker.start()
    wait_for(lambda: state_of(engine, job_id).state == JobState.RUNNING, what="the job to start")
    with db.unit_of_work(engine, queue=True) as uow:
        assert jobs.cancel(uow, access, job_id).cancel_requested
    asked = time.monotonic()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert time.monotonic() - asked < 15
    job = state_of(engine, job_id)
    assert job.state == JobState.CANCELLED and not list((root / "runs").iterdir())
    with db.unit_of_work(engine, queue=True) as uow:
        with pytest.raises(Exception, match="already been cancelled"):
            jobs.cancel(uow, access, job_id)
