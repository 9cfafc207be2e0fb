"""`fupin worker`: runs queued planning jobs with the same service functions as `fupin plan`.

Each job runs in a child process of its own (and its own process group, with the county pool it
may start), so that a cancel stops it at once, even inside one long solve, and a crash of the
model never takes the worker down. The worker meanwhile beats the job's heartbeat and passes on
its progress. The child writes the run folder all at once (common.files.run_folder); the worker
registers it only after that.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue as queues
import signal
import socket
import tempfile
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

import db
from common.errors import FupinError
from db.models import JobState, PlanDataSet, PlanJob, PlanScenario

from . import jobs
from .settings import SETTINGS, PlannerSettings

log = logging.getLogger("fupin.worker")


@dataclass(frozen=True)
class Writers:
    """The report writers of reports/ (planners/ does not import it); None: no report.pdf."""

    plan_report: Callable | None = None
    kindergarten_report: Callable | None = None


@dataclass(frozen=True)
class JobSpec:
    """What the child process needs: plain values only (it is started with spawn)."""

    job_id: int
    model: str
    data: str
    scenario_yaml: str | None
    counties: list[str]
    solver: str
    time_limit: float
    lang: str
    out: str
    writers: Writers


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def serve(engine: Engine, root: Path, writers: Writers, settings: PlannerSettings = SETTINGS, once: bool = False,
          should_stop: Callable[[], bool] = lambda: False, say: Callable[[str], None] = print) -> int:
    """Run queued jobs one after another until `should_stop()` (or, `once`, until none is queued).
    Returns the number of jobs run."""
    name, ran = worker_name(), 0
    (root / "runs").mkdir(parents=True, exist_ok=True)
    while not should_stop():
        job = _retrying(lambda: _claim_next(engine, root, name, settings))
        if job is None:
            if once:
                break
            time.sleep(settings.poll_seconds)
            continue
        say(f"run {job.id}: {job.model} started")
        state, reason = run_job(engine, root, job, name, writers, settings)
        say(f"run {job.id}: {state}" + (f": {reason}" if reason else ""))
        ran += 1
    return ran


def _claim_next(engine: Engine, root: Path, name: str, settings: PlannerSettings) -> PlanJob | None:
    with db.unit_of_work(engine, queue=True) as uow:
        jobs.reap(uow, root, settings)
    with db.unit_of_work(engine, queue=True) as uow:
        return jobs.claim(uow, name)


def _retrying(step: Callable, attempts: int = 30, pause: float = 1.0):
    """`step()`, again after a pause while the database is busy (SQLite's one writer may be a long import)."""
    for attempt in range(attempts):
        try:
            return step()
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(pause)


def spec_of(engine: Engine, root: Path, job: PlanJob, writers: Writers) -> JobSpec:
    import json

    with db.unit_of_work(engine) as uow:
        dataset = uow.session.get(PlanDataSet, job.dataset_id)
        scenario = uow.session.get(PlanScenario, job.scenario_id) if job.scenario_id else None
        return JobSpec(job.id, job.model, str(root / "datasets" / dataset.stored_as),
                       scenario.yaml_text if scenario else None, json.loads(job.counties), job.solver,
                       job.time_limit, job.lang, str(jobs.run_folder_of(root, job)), writers)


def run_job(engine: Engine, root: Path, job: PlanJob, name: str, writers: Writers,
            settings: PlannerSettings = SETTINGS) -> tuple[str, str]:
    """Run one claimed job to its end: (state, reason). Never raises for the model's sake."""
    try:
        spec = spec_of(engine, root, job, writers)
    except Exception as exc:  # e.g. the data set's folder is gone
        log.exception("run %s could not start", job.id)
        return _end(engine, root, job, name, JobState.FAILED, f"the run could not start: {exc}")
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    child = context.Process(target=_child, args=(spec, events), name=f"fupin-run-{job.id}")
    child.start()
    outcome: tuple[str, object] | None = None
    done = total = None
    next_beat = 0.0
    try:
        while outcome is None:
            try:
                kind, value = events.get(timeout=0.2)
            except queues.Empty:
                if not child.is_alive():
                    try:  # what it said just before it ended may still be in the pipe
                        kind, value = events.get(timeout=1.0)
                    except queues.Empty:
                        outcome = ("failed", f"the run stopped unexpectedly (exit code {child.exitcode}); "
                                             "nothing was written")
                        break
                else:
                    kind = None
            if kind == "total":
                total = value
            elif kind == "tick":
                done = value
            elif kind in ("finished", "failed"):
                outcome = (kind, value)
                break
            if time.monotonic() >= next_beat:
                verdict = _beat(engine, job.id, name, done, total)
                next_beat = time.monotonic() + settings.heartbeat_seconds
                if verdict == "cancel":
                    _stop(child)
                    return _end(engine, root, job, name, JobState.CANCELLED, "cancelled while running")
                if verdict == "lost":
                    _stop(child)
                    jobs.remove_run_files(root, job)
                    return "lost", "the job was given up while running (the worker was not heard of in time)"
    finally:
        if child.is_alive() and outcome is not None:
            child.join(timeout=10)
        if child.is_alive():
            _stop(child)
        events.close()
    kind, value = outcome
    if kind == "finished":
        return _end(engine, root, job, name, JobState.FINISHED, "", value, done=done, total=total)
    return _end(engine, root, job, name, JobState.FAILED, str(value))


def _beat(engine: Engine, job_id: int, name: str, done, total) -> str:
    try:
        with db.unit_of_work(engine, queue=True) as uow:
            return jobs.heartbeat(uow, job_id, name, done, total)
    except OperationalError:
        return "run"  # the database is busy: the next beat will do; stale_seconds allows for many


def _end(engine: Engine, root: Path, job: PlanJob, name: str, state: JobState, reason: str,
         messages: list | None = None, done=None, total=None) -> tuple[str, str]:
    def step():
        with db.unit_of_work(engine, queue=True) as uow:
            if done is not None:
                jobs.heartbeat(uow, job.id, name, done, total)
            return jobs.end(uow, job.id, name, state, reason, messages)

    try:
        kept = _retrying(step)
    except OperationalError:
        kept = False
    if state != JobState.FINISHED or not kept:
        jobs.remove_run_files(root, job)  # nothing half-done stays: only a finished run has a folder
    return (state.value if kept else "lost"), reason


def _stop(child) -> None:
    """Stop the child and every process it started (its own process group)."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(child.pid, sig)
        except (ProcessLookupError, PermissionError):  # not yet in a group of its own
            child.kill()
        child.join(timeout=wait)
        if not child.is_alive():
            return


# ---------------------------------------------------------------------------------------------
# The child process


def _child(spec: JobSpec, events) -> None:
    os.setpgid(0, 0)  # its own group: stopping it stops the county pool it starts too
    _end_with_parent()
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
    try:
        messages = run_spec(spec, events)
        events.put(("finished", messages))
    except FupinError as exc:
        events.put(("failed", str(exc)))
    except OSError as exc:
        events.put(("failed", f"{exc.filename or ''}: {exc.strerror}".strip(": ")))
    except Exception as exc:
        traceback.print_exc()  # into the worker's log; the planner gets the words below
        events.put(("failed", f"internal error ({type(exc).__name__}); the worker's log has the details"))
    finally:
        events.close()
        events.join_thread()


def _end_with_parent() -> None:
    """Linux: the child is sent SIGTERM when the worker dies, even by SIGKILL, so no run goes on unowned."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the worker died before prctl took effect
        os._exit(1)


def run_spec(spec: JobSpec, events=None) -> list[str]:
    """Run the model of `spec` with the services `fupin plan` uses; the lines the CLI would print."""
    from planning import services

    with _scenario_file(spec.scenario_yaml) as scenario:
        if spec.model == "kindergartens":
            outcome = services.plan_kindergartens(
                spec.data, scenario, spec.counties, None, spec.solver, spec.time_limit, "columns", spec.lang,
                spec.out, writer=spec.writers.kindergarten_report, report=spec.writers.kindergarten_report is not None,
                progress=_progress(events))
        else:
            run = services.plan_teachers if spec.model == "teachers" else services.plan_graduates
            outcome = run(spec.data, scenario, spec.solver, spec.time_limit, spec.lang, spec.out,
                          spec.writers.plan_report)
    return [line.replace(f"{spec.out}/", "") for line, _ in outcome.messages]


@contextmanager
def _scenario_file(text: str | None) -> Iterator[str | None]:
    if text is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="fupin-scenario-") as folder:
        path = Path(folder) / "scenario.yaml"
        path.write_text(text, encoding="utf-8")
        yield str(path)


def _progress(events):
    @contextmanager
    def progress(total: int):
        if events is not None:
            events.put(("total", total))
        count = 0

        def tick(_county) -> None:
            nonlocal count
            count += 1
            if events is not None:
                events.put(("tick", count))

        yield tick

    return progress
