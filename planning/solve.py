"""Solver choice and one result type whose status is said in words."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass

import pulp

from .options import SOLVERS  # noqa: F401  (re-exported: solve.SOLVERS is where callers look)
from .status import SolveStatus, has_solution, status_sentence


@dataclass(frozen=True)
class SolveResult:
    status: SolveStatus
    solver: str
    seconds: float
    objective: float | None = None
    gap: float | None = None
    message: str = ""
    bound: float | None = None  # the best bound on the objective the solver proved (minimising)

    @property
    def has_solution(self) -> bool:
        return has_solution(self.status)

    def describe(self) -> str:
        return status_sentence(self.status, self.gap, "en", self.message)


def classify(status: int, sol_status: int) -> SolveStatus:
    """PuLP's two status codes in words; a time-limited run also reports status 'Optimal'."""
    if status == pulp.LpStatusOptimal:
        if sol_status == pulp.LpSolutionOptimal:
            return SolveStatus.OPTIMAL
        if sol_status == pulp.LpSolutionIntegerFeasible:
            return SolveStatus.TIME_LIMIT_FEASIBLE
        return SolveStatus.TIME_LIMIT_NO_SOLUTION
    if status == pulp.LpStatusInfeasible or sol_status == pulp.LpSolutionInfeasible:
        return SolveStatus.INFEASIBLE
    if status == pulp.LpStatusUnbounded or sol_status == pulp.LpSolutionUnbounded:
        return SolveStatus.UNBOUNDED
    if status == pulp.LpStatusNotSolved:
        return SolveStatus.TIME_LIMIT_NO_SOLUTION
    return SolveStatus.ERROR


_banner_shown = False


def _swallow_highs_banner() -> None:
    """HiGHS prints a copyright banner to file descriptor 1 on its first Highs(), even with output off."""
    global _banner_shown
    if _banner_shown:
        return
    _banner_shown = True
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class _HiGHSWithStart(pulp.HiGHS):
    """pulp.HiGHS that hands HiGHS a starting solution (values by variable name) before it runs, and
    counts PuLP's building of the model against the time limit (a pool of 57,000 columns took 1 s
    to hand over, and the county ran that much past its limit)."""

    def __init__(self, start: dict[str, float] | None = None, deadline: float | None = None,
                 **kwargs):  # kwargs: pulp.HiGHS's
        super().__init__(**kwargs)
        self.start = start
        self.deadline = deadline

    def callSolver(self, lp):
        variables = lp.variables()
        if self.start and all(self.start.get(var.name) is not None for var in variables):
            import highspy

            # A complete, dense solution: HiGHS 1.16's sparse setSolution(n, index, value) was seen
            # to end the search at once with the start reported optimal (tiny county, 8.4M vs 7.6M).
            values = [0.0] * lp.solverModel.getNumCol()
            for var in variables:
                values[var.index] = float(self.start[var.name])
            solution = highspy.HighsSolution()
            solution.col_value = values
            solution.value_valid = True
            lp.solverModel.setSolution(solution)
        if self.deadline is not None:
            lp.solverModel.setOptionValue("time_limit", max(self.deadline - time.perf_counter(), 0.01))
        lp.solverModel.run()


def run(prob: pulp.LpProblem, solver: str = "highs", time_limit: float | None = 60,
        start: dict[str, float] | None = None, highs_options: dict | None = None) -> SolveResult:
    """Solve `prob` in place; read variable values only when `has_solution`.

    `start` (values by variable name, HiGHS only) is a feasible solution for the search to begin
    from; PuLP's CBC call takes none. `highs_options` are HiGHS option values (ignored by CBC).
    Optimal means proven: HiGHS's own default stops a MIP within a relative gap of 1e-4 and calls
    that optimal (a 30 x 200 facility location: 20678 "optimal", the optimum is 20677), so its gap
    is 0 here unless the caller says otherwise.
    """
    options = {"mip_rel_gap": 0.0, **(highs_options or {})}
    _check_arguments(solver, start)
    limit = None if time_limit is None else max(float(time_limit), 0.01)
    log_path = None
    start_time = time.perf_counter()
    try:
        engine, log_path = _engine(solver, limit, start, options, start_time)
        _solve(prob, engine, start, options)
    except Exception as exc:  # the solver libraries raise many types; all mean "no result"
        return SolveResult(SolveStatus.ERROR, solver, time.perf_counter() - start_time,
                           message=str(exc) or type(exc).__name__)
    finally:
        seconds = time.perf_counter() - start_time
        cbc_gap = _cbc_gap(log_path) if log_path else None
        if log_path:
            os.unlink(log_path)
    status = _status(prob, solver)
    if solver == "highs" and status == SolveStatus.TIME_LIMIT_NO_SOLUTION and _highs_never_ran(prob):
        return SolveResult(SolveStatus.ERROR, solver, seconds, message=(
            "HiGHS did not start the search: its 'threads' option must stay what it was at this "
            "process's first solve"))
    objective = pulp.value(prob.objective) if status.has_solution else None
    gap, bound = _gap_and_bound(status, objective, _highs_gap(prob) if solver == "highs" else cbc_gap)
    return SolveResult(status, solver, seconds, objective, gap, bound=bound)


def _check_arguments(solver: str, start: dict[str, float] | None) -> None:
    """Refuse an unknown solver, and a starting solution for any solver but HiGHS."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver '{solver}': use one of {', '.join(SOLVERS)}")
    if start and solver != "highs":
        raise ValueError("a starting solution is only passed to HiGHS")


def _engine(solver: str, limit: float | None, start: dict[str, float] | None,
            options: dict, start_time: float) -> tuple[pulp.LpSolver, str | None]:
    """PuLP's solver object for `solver`, and the path of CBC's log (None for HiGHS)."""
    if solver == "highs":
        _swallow_highs_banner()
        deadline = None if limit is None else start_time + limit
        return _HiGHSWithStart(start, deadline, msg=False, timeLimit=limit, **options), None
    # CBC prints its bound only to the log, so the gap is read from there.
    fd, log_path = tempfile.mkstemp(prefix="fupin-cbc-", suffix=".log")
    os.close(fd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=limit, logPath=log_path), log_path


def _solve(prob: pulp.LpProblem, engine: pulp.LpSolver, start: dict[str, float] | None, options: dict) -> None:
    """Run the engine; when HiGHS handed back its start's values instead of its solution, solve again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(engine)
        if start and prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            # Seen with HiGHS 1.16 on a tiny model solved in presolve: the values handed back were
            # the start's, not those of the objective it reported. Then solve again without it.
            reported = prob.solverModel.getInfo().objective_function_value
            if abs(pulp.value(prob.objective) - reported) > 1e-6 * max(1.0, abs(reported)):
                prob.solve(_HiGHSWithStart(None, engine.deadline, msg=False, timeLimit=engine.timeLimit, **options))


def _status(prob: pulp.LpProblem, solver: str) -> SolveStatus:
    """The solved problem's status; HiGHS's 'infeasible or unbounded' is told apart."""
    status = classify(prob.status, prob.sol_status)
    if solver == "highs" and status == SolveStatus.INFEASIBLE:
        status = _highs_infeasible_or_unbounded(prob)
    return status


def _gap_and_bound(status: SolveStatus, objective: float | None,
                   solver_gap: float | None) -> tuple[float | None, float | None]:
    """The relative gap and the proven bound: 0 and the objective when optimal, the solver's gap
    (relative to the incumbent, as both solvers define it) when stopped at the time limit."""
    if status == SolveStatus.OPTIMAL:
        return 0.0, objective
    if status == SolveStatus.TIME_LIMIT_FEASIBLE:
        if solver_gap is None:
            return None, None
        return solver_gap, objective - solver_gap * max(abs(objective), 1e-9)
    return None, None


def _highs_infeasible_or_unbounded(prob: pulp.LpProblem) -> SolveStatus:
    """PuLP reports HiGHS's 'unbounded or infeasible' as infeasible; without presolve HiGHS can tell."""
    import highspy

    model = prob.solverModel
    if model.getModelStatus() != highspy.HighsModelStatus.kUnboundedOrInfeasible:
        return SolveStatus.INFEASIBLE
    model.setOptionValue("presolve", "off")
    model.run()
    if model.getModelStatus() == highspy.HighsModelStatus.kUnbounded:
        return SolveStatus.UNBOUNDED
    return SolveStatus.INFEASIBLE


def _highs_never_ran(prob: pulp.LpProblem) -> bool:
    """HiGHS left the model's status unset: it refused to run (seen when `threads` differs from the
    process's first solve: HiGHS starts its threads once), which PuLP reports as not solved."""
    import highspy

    try:
        return prob.solverModel.getModelStatus() == highspy.HighsModelStatus.kNotset
    except AttributeError:
        return False


def _highs_gap(prob: pulp.LpProblem) -> float | None:
    try:
        gap = float(prob.solverModel.getInfo().mip_gap)
    except Exception:
        return None
    return gap if gap == gap and gap != float("inf") else None


def _cbc_gap(log_path: str) -> float | None:
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            found = re.findall(r"^Gap:\s+([-+0-9.eE]+)", f.read(), re.MULTILINE)
    except OSError:
        return None
    return float(found[-1]) if found else None


def int_value(var: pulp.LpVariable | None) -> int:
    """The integer a solved integer variable holds (absent variables are fixed at 0)."""
    if var is None:
        return 0
    value = var.varValue
    if value is None:
        raise ValueError(f"{var.name} has no value")
    rounded = round(value)
    if abs(value - rounded) > 1e-6:
        raise ValueError(f"{var.name} = {value} is not an integer")
    return int(rounded)
