"""Model runs as background jobs: queued, running, finished, failed or cancelled.

A job is claimed by one worker at a time: on PostgreSQL with `SELECT ... FOR UPDATE SKIP LOCKED`
(several workers, on several machines sharing the instance folder), on SQLite inside its one
writer's transaction (one worker). A worker that stops hearing from itself is not trusted: every
write of a running job names the worker, so a job that was given up (see `reap`) cannot be
finished by a worker that comes back. The run folder appears all at once (common.files.run_folder)
and is registered only then.

A worker killed mid-job stops sending heartbeats; after `stale_seconds` any worker (or a page that
lists jobs) marks the job failed, with the reason in words, and removes whatever of its run folder
exists. It is not re-queued: a job that kills its worker (memory, say) would otherwise kill every
worker in turn; the planner runs it again with one click.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
from pathlib import Path

from sqlalchemy import select, update

from accounts.access import Access, Role
from common.errors import FupinError
from db.engine import UnitOfWork
from db.models import JobState, PlanDataSet, PlanJob, as_utc, utcnow
from planning.options import SOLVERS
from planning.scenarios import MODEL_KIND

from .datasets import models_of
from .errors import NotAllowed, NotFound, require_planner
from .scenarios import get_scenario
from .settings import SETTINGS, PlannerSettings

MODELS = ("teachers", "graduates", "kindergartens")
LIVE = (JobState.QUEUED, JobState.RUNNING)


def submit(uow: UnitOfWork, access: Access, model: str, dataset_id: int, scenario_id: int | None,
           counties: list[str], solver: str, time_limit: float, lang: str,
           settings: PlannerSettings = SETTINGS) -> PlanJob:
    """Queue a run of `model` on a data set with a scenario (None: the defaults); commits."""
    require_planner(access)
    dataset = uow.session.get(PlanDataSet, dataset_id)
    if dataset is None:
        raise NotFound(f"data set {dataset_id}: no such data set")
    problems = []
    if model not in MODELS:
        problems.append(f"model '{model}': use one of {', '.join(MODELS)}")
    elif model not in models_of(dataset):
        problems.append(f"data set {dataset.name} v{dataset.version} has no {model} inputs; it can run "
                        + (", ".join(models_of(dataset)) or "nothing"))
    if scenario_id is not None and model in MODELS:
        scenario = get_scenario(uow, access, scenario_id)
        if scenario.kind != MODEL_KIND[model]:
            problems.append(f"scenario {scenario.name} is for {scenario.kind}, not for {model}")
    if solver not in SOLVERS:
        problems.append(f"solver '{solver}': use one of {', '.join(SOLVERS)}")
    if not 0.1 <= time_limit <= settings.max_time_limit:
        problems.append(f"time limit {time_limit:g} s: give 0.1 to {settings.max_time_limit:g} seconds")
    if lang not in ("zh", "en"):
        problems.append(f"language '{lang}': use zh or en")
    known = {code for code, _ in json.loads(dataset.counties)}
    unknown = [c for c in counties if c not in known]
    if counties and model != "kindergartens":
        problems.append("a county selection is for kindergarten runs only")
    elif unknown:
        problems.append(f"county {', '.join(unknown)}: not in data set {dataset.name} v{dataset.version}")
    if problems:
        raise FupinError("the run was not started:\n  " + "\n  ".join(problems))
    job = PlanJob(model=model, dataset_id=dataset.id, scenario_id=scenario_id, counties=json.dumps(sorted(set(counties))),
                  solver=solver, time_limit=float(time_limit), lang=lang, stored_as=secrets.token_hex(16),
                  created_by=access.user_id, total=len(set(counties)) if counties else len(known))
    uow.session.add(job)
    uow.commit()
    return job


def cancel(uow: UnitOfWork, access: Access, job_id: int) -> PlanJob:
    """A queued job is cancelled at once, a running one when its worker next looks (seconds); commits."""
    job = get_job(uow, access, job_id)
    if access.role != Role.ADMIN and job.created_by != access.user_id:
        raise NotAllowed("only the planner who started a run (or an administrator) can cancel it")
    if job.state == JobState.QUEUED:
        uow.session.execute(update(PlanJob).where(PlanJob.id == job.id, PlanJob.state == JobState.QUEUED)
                            .values(state=JobState.CANCELLED, finished_at=utcnow(), reason="cancelled before it started"))
    elif job.state == JobState.RUNNING:
        job.cancel_requested = True
    else:
        raise FupinError(f"run {job.id} has already {_ended_words(job.state)}; nothing to cancel")
    uow.commit()
    uow.session.refresh(job)
    return job


def _ended_words(state: str) -> str:
    return {"finished": "finished", "failed": "failed", "cancelled": "been cancelled"}.get(state, state)


def get_job(uow: UnitOfWork, access: Access, job_id: int) -> PlanJob:
    require_planner(access)
    job = uow.session.get(PlanJob, job_id)
    if job is None:
        raise NotFound(f"run {job_id}: no such run")
    return job


def list_jobs(uow: UnitOfWork, access: Access, limit: int = 100) -> list[PlanJob]:
    require_planner(access)
    return list(uow.session.scalars(select(PlanJob).order_by(PlanJob.id.desc()).limit(limit)))


def finished_jobs(uow: UnitOfWork, access: Access, model: str | None = None) -> list[PlanJob]:
    require_planner(access)
    q = select(PlanJob).where(PlanJob.state == JobState.FINISHED).order_by(PlanJob.id.desc())
    if model:
        q = q.where(PlanJob.model == model)
    return list(uow.session.scalars(q))


def run_folder_of(root: Path, job: PlanJob) -> Path:
    return root / "runs" / job.stored_as


# ---------------------------------------------------------------------------------------------
# The worker's side. Each takes a `queue` unit of work (db.unit_of_work(engine, queue=True)).


def claim(uow: UnitOfWork, worker: str) -> PlanJob | None:
    """The oldest queued job, now running under `worker`; None when there is none. Commits."""
    job = uow.session.scalars(select(PlanJob).where(PlanJob.state == JobState.QUEUED).order_by(PlanJob.id)
                              .limit(1).with_for_update(skip_locked=True)).first()
    if job is None:
        return None
    now = utcnow()
    job.state, job.worker, job.started_at, job.heartbeat_at = JobState.RUNNING, worker, now, now
    uow.commit()
    return job


def heartbeat(uow: UnitOfWork, job_id: int, worker: str, done: int | None = None,
              total: int | None = None) -> str:
    """Say the job is alive (and how far it got); commits. Returns "run" to go on, "cancel" when
    the planner asked to cancel, "lost" when the job is no longer this worker's (it was given up)."""
    values: dict = {"heartbeat_at": utcnow()}
    if done is not None:
        values["done"] = done
    if total is not None:
        values["total"] = total
    changed = uow.session.execute(update(PlanJob).where(PlanJob.id == job_id, PlanJob.worker == worker,
                                                        PlanJob.state == JobState.RUNNING).values(**values)).rowcount
    cancel = uow.session.scalar(select(PlanJob.cancel_requested).where(PlanJob.id == job_id))
    uow.commit()
    if not changed:
        return "lost"
    return "cancel" if cancel else "run"


def end(uow: UnitOfWork, job_id: int, worker: str, state: JobState, reason: str = "",
        messages: list | None = None) -> bool:
    """Finish, fail or cancel a running job of `worker`; False when it was no longer its own. Commits."""
    values: dict = {"state": state, "finished_at": utcnow(), "reason": reason}
    if messages is not None:
        values["messages"] = json.dumps(messages, ensure_ascii=False)
    ended = uow.session.execute(update(PlanJob).where(PlanJob.id == job_id, PlanJob.worker == worker,
                                                      PlanJob.state == JobState.RUNNING).values(**values)).rowcount
    uow.commit()
    return bool(ended)


def _stale(now: dt.datetime | None, settings: PlannerSettings):
    cutoff = (now or utcnow()) - dt.timedelta(seconds=settings.stale_seconds)
    return select(PlanJob).where(PlanJob.state == JobState.RUNNING, PlanJob.heartbeat_at < cutoff)


def any_stale(uow: UnitOfWork, settings: PlannerSettings = SETTINGS) -> bool:
    """Whether a running job has lost its worker (a read: pages ask before they write)."""
    return uow.session.scalars(_stale(None, settings).limit(1)).first() is not None


def reap(uow: UnitOfWork, root: Path | None, settings: PlannerSettings = SETTINGS,
         now: dt.datetime | None = None) -> list[int]:
    """Mark failed every running job whose worker has not been heard of for `stale_seconds`, and
    remove what of its run folder exists; commits. The ids of the jobs given up."""
    now = now or utcnow()
    stale = list(uow.session.scalars(_stale(now, settings).with_for_update(skip_locked=True)))
    for job in stale:
        last = as_utc(job.heartbeat_at)
        job.state, job.finished_at = JobState.FAILED, now
        job.reason = (f"the worker running it ({job.worker}) stopped answering at {last:%Y-%m-%d %H:%M:%S} UTC "
                      "(killed, crashed or cut off); nothing of the run was kept. Start it again.")
    uow.commit()
    if root is not None:
        for job in stale:
            remove_run_files(root, job)
    return [job.id for job in stale]


def remove_run_files(root: Path, job: PlanJob) -> None:
    """The job's run folder and any half-written temporary one beside it."""
    folder = run_folder_of(root, job)
    for path in [folder, *folder.parent.glob(f".{job.stored_as}.*")]:
        shutil.rmtree(path, ignore_errors=True)

