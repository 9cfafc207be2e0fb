"""The planners' pages: data sets, scenarios, runs as background jobs, results, maps, comparisons.

Every page is for planners and administrators only (accounts.access: `plans`); a page parses,
calls one service of planners/ (or reads a finished run folder) and renders.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from sqlalchemy.exc import OperationalError

import db
from common.errors import FupinError
from db.models import JobState, PlanDataSet, PlanJob, PlanScenario
from planners import datasets, jobs, results, scenarios
from planners.datasets import DataSetProblems
from planners.errors import NotAllowed, NotFound
from planning import scenarios as scenario_keys
from planning.options import SOLVERS

from .context import me, require, uow
from .i18n import TEXT

bp = Blueprint("plans", __name__, url_prefix="/plans")
FILE_TYPES = {".csv": "text/csv; charset=utf-8", ".json": "application/json", ".pdf": "application/pdf"}


@bp.before_request
@login_required
def _planners_only():
    require(me().plans)


def _root() -> Path:
    return Path(current_app.instance_path)


def _service(call):
    """Run a service; its 'not found' and 'not allowed' become 404 and 403."""
    try:
        return call()
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)


def _reap() -> None:
    """Give up jobs whose worker died, so no page shows one as running for ever (best effort; the
    page writes only when there is one, so it never waits behind a long import for nothing)."""
    with uow() as unit:
        if not jobs.any_stale(unit):
            return
    try:
        with db.unit_of_work(current_app.extensions["fupin_engine"], queue=True) as unit:
            jobs.reap(unit, _root())
    except OperationalError:
        pass


@bp.route("/")
def home():
    _reap()
    access = me()
    with uow() as unit:
        all_sets = datasets.list_datasets(unit, access)
        saved = scenarios.list_scenarios(unit, access)
        runs = jobs.list_jobs(unit, access)
        names = _dataset_names(unit)
    return render_template("plans.html", datasets=all_sets, scenarios=saved, runs=runs, names=names,
                           solvers=SOLVERS, models_of=datasets.models_of, counties_of=lambda d: json.loads(d.counties),
                           files_of=lambda d: json.loads(d.files))


def _dataset_names(unit) -> dict[int, str]:
    return {d.id: f"{d.name} v{d.version}" for d in unit.session.query(PlanDataSet)}


@bp.route("/datasets", methods=["POST"])
def upload():
    access = me()
    files = [(f.filename or "", f.read()) for f in request.files.getlist("files") if f and f.filename]
    try:
        with uow(write=True) as unit:
            stored = _service(lambda: datasets.store_dataset(unit, access, request.form.get("name", ""), files, _root()))
    except DataSetProblems as exc:
        return render_template("plan_problems.html", problems=exc.problems), 422
    t = TEXT[g.lang]
    row = stored.dataset
    flash((t["dataset_same"] if stored.unchanged else t["dataset_stored"]).format(name=row.name, v=row.version), "ok")
    return redirect(url_for("plans.home"))


@bp.route("/datasets/<int:dataset_id>/files/<name>")
def dataset_file(dataset_id: int, name: str):
    with uow() as unit:
        dataset = _service(lambda: datasets.get_dataset(unit, me(), dataset_id))
    if name not in json.loads(dataset.files):
        abort(404)  # only the data set's own files, by the names it keeps
    mimetype = FILE_TYPES.get(Path(name).suffix,
                              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return send_file(datasets.dataset_folder(_root(), dataset) / name, mimetype=mimetype, as_attachment=True,
                     download_name=f"{dataset.name}-v{dataset.version}-{name}")


@bp.route("/scenarios/new", methods=["GET", "POST"])
def new_scenario():
    access = me()
    kind = request.values.get("kind", "allocation")
    if kind not in scenario_keys.KINDS:
        abort(404)
    problems: list[str] = []
    based_on = request.values.get("from", type=int)
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "kind", "from")}
        try:
            with uow(write=True) as unit:
                row = _service(lambda: scenarios.save_scenario(unit, access, kind, values, based_on))
            flash(TEXT[g.lang]["scenario_saved"].format(name=row.name), "ok")
            return redirect(url_for("plans.home"))
        except FupinError as exc:
            problems = str(exc).splitlines()
    else:
        values = scenario_keys.form_values(kind)
        if based_on is not None:
            with uow() as unit:
                row = _service(lambda: scenarios.get_scenario(unit, access, based_on))
                if row.kind != kind:
                    abort(404)
                values = scenario_keys.form_values(kind, scenarios.scenario_of(row))
    keys = [{"key": k.key, "meaning": getattr(k, g.lang), "parts": k.parts} for k in scenario_keys.scenario_keys(kind)]
    defaults = scenario_keys.form_values(kind)
    return render_template("plan_scenario.html", kind=kind, keys=keys, values=values, defaults=defaults,
                           problems=problems, based_on=based_on), (422 if problems else 200)


@bp.route("/scenarios/<int:scenario_id>.yaml")
def scenario_yaml(scenario_id: int):
    with uow() as unit:
        row = _service(lambda: scenarios.get_scenario(unit, me(), scenario_id))
    return send_file(io.BytesIO(row.yaml_text.encode("utf-8")), mimetype="application/x-yaml; charset=utf-8",
                     as_attachment=True, download_name=f"scenario-{scenario_id}.yaml")


@bp.route("/runs", methods=["POST"])
def start_run():
    access = me()
    form = request.form
    try:
        time_limit = float(form.get("time_limit", "60"))
        dataset_id = int(form.get("dataset", ""))
    except ValueError:
        abort(400, TEXT[g.lang]["run_numbers"])
    scenario_id = form.get("scenario", type=int) or None
    counties = [c for c in form.getlist("county") if c]
    try:
        with uow(write=True) as unit:
            job = _service(lambda: jobs.submit(unit, access, form.get("model", ""), dataset_id, scenario_id, counties,
                                               form.get("solver", "highs"), time_limit, form.get("lang", g.lang)))
    except FupinError as exc:
        return render_template("plan_problems.html", problems=str(exc).splitlines()), 422
    return redirect(url_for("plans.run", job_id=job.id))


@bp.route("/runs/<int:job_id>/again", methods=["POST"])
def run_again(job_id: int):
    access = me()
    with uow(write=True) as unit:
        old = _service(lambda: jobs.get_job(unit, access, job_id))
        try:
            job = _service(lambda: jobs.submit(unit, access, old.model, old.dataset_id, old.scenario_id,
                                               json.loads(old.counties), old.solver, old.time_limit, old.lang))
        except FupinError as exc:
            return render_template("plan_problems.html", problems=str(exc).splitlines()), 422
    return redirect(url_for("plans.run", job_id=job.id))


@bp.route("/runs/<int:job_id>/cancel", methods=["POST"])
def cancel(job_id: int):
    try:
        with uow(write=True) as unit:
            _service(lambda: jobs.cancel(unit, me(), job_id))
        flash(TEXT[g.lang]["cancel_asked"], "ok")
    except FupinError as exc:
        flash(str(exc), "error")
    return redirect(url_for("plans.run", job_id=job_id))


def _job(unit, job_id: int) -> PlanJob:
    return _service(lambda: jobs.get_job(unit, me(), job_id))


@bp.route("/runs/<int:job_id>")
def run(job_id: int):
    _reap()
    with uow() as unit:
        job = _job(unit, job_id)
        dataset = unit.session.get(PlanDataSet, job.dataset_id)
        scenario = unit.session.get(PlanScenario, job.scenario_id) if job.scenario_id else None
    view = report = None
    if job.state == JobState.FINISHED:
        folder = jobs.run_folder_of(_root(), job)
        if job.model == "kindergartens":
            view = results.kindergarten_view(folder, g.lang)
        else:
            from reports.planning import build_plan_report, view_of_run

            report = build_plan_report(view_of_run(folder), g.lang, chart=False)
    live = job.state in (JobState.QUEUED, JobState.RUNNING)
    return render_template("plan_run.html", job=job, dataset=dataset, scenario=scenario, view=view, report=report,
                           live=live, files=results.RUN_FILES[job.model], messages=json.loads(job.messages),
                           counties=json.loads(job.counties), mine=job.created_by == me().user_id)


def _finished_folder(job_id: int) -> tuple[PlanJob, Path]:
    with uow() as unit:
        job = _job(unit, job_id)
    if job.state != JobState.FINISHED:
        abort(404)
    return job, jobs.run_folder_of(_root(), job)


@bp.route("/runs/<int:job_id>/files/<name>")
def run_file(job_id: int, name: str):
    job, folder = _finished_folder(job_id)
    if name not in results.RUN_FILES[job.model] or not (folder / name).is_file():
        abort(404)  # only the run's own files, by their fixed names: nothing the user typed is a path
    return send_file(folder / name, mimetype=FILE_TYPES[Path(name).suffix], as_attachment=True,
                     download_name=f"run{job.id}-{name}")


@bp.route("/runs/<int:job_id>/chart.png")
def run_chart(job_id: int):
    job, folder = _finished_folder(job_id)
    if job.model == "kindergartens":
        abort(404)
    from reports.planning import need_chart_png, view_of_run

    return send_file(io.BytesIO(need_chart_png(view_of_run(folder), g.lang)), mimetype="image/png")


@bp.route("/runs/<int:job_id>/counties/<code>")
def county(job_id: int, code: str):
    job, folder = _finished_folder(job_id)
    if job.model != "kindergartens":
        abort(404)
    view = results.kindergarten_view(folder, g.lang)
    row = next((c for c in view["counties"] if c["code"] == code), None)
    if row is None:
        abort(404)
    sites, assignments = results.county_rows(folder, code)
    with uow() as unit:
        dataset = unit.session.get(PlanDataSet, job.dataset_id)
    from planning.kindergartens import read_province
    from reports.maps import county_map_svg

    data = next((c for c in read_province(datasets.dataset_folder(_root(), dataset)) if c.code == code), None)
    svg = county_map_svg(data, sites, assignments, g.lang) if data is not None and sites else ""
    actions = [s for s in sites if s["action"] in results.ACTIONS]
    return render_template("plan_county.html", job=job, county=row, svg=svg, actions=actions,
                           assignments=assignments)


@bp.route("/compare")
def compare():
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    with uow() as unit:
        runs = jobs.finished_jobs(unit, me())
        names = _dataset_names(unit)
    view = _comparison(a, b) if a and b else None
    from reports.planning import LABELS

    return render_template("plan_compare.html", runs=runs, names=names, view=view, a=a, b=b, labels=LABELS[g.lang])


def _comparison(a: int, b: int) -> dict:
    from planning.compare import compare_runs

    with uow() as unit:
        ja, jb = _job(unit, a), _job(unit, b)
    if ja.state != JobState.FINISHED or jb.state != JobState.FINISHED:
        abort(404)
    try:
        view = compare_runs(jobs.run_folder_of(_root(), ja), jobs.run_folder_of(_root(), jb))
    except FupinError as exc:
        abort(400, str(exc))
    view["a"]["path"], view["b"]["path"] = f"run {a}", f"run {b}"  # not the server's folders
    return view


@bp.route("/compare.pdf")
def compare_pdf():
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    if not (a and b):
        abort(400, TEXT[g.lang]["compare_pick"])
    view = _comparison(a, b)
    from reports.planning import write_compare_report

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "compare.pdf"
        write_compare_report(view, path, g.lang)
        data = path.read_bytes()
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"compare-run{a}-run{b}.pdf")
