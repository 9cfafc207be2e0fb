"""Kindergarten places (plan item 2), county by county. See KINDERGARTENS.md §2.

Files in the data folder: townships.csv, villages.csv and, optionally, counties.csv (code, name)
for the counties' names. The model of one county is small (a few hundred villages); counties are
independent, so `plan_province` solves them in parallel processes.
"""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.connection
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import pulp

from common.cells import parse_bool, parse_count, parse_decimal, required_text
from common.errors import FupinError, InputFileError, RowProblem
from common.tables import Field, parse_rows, read_table, table_file

from .columns import ColumnOutcome, cost_step, round_up, solve_by_columns
from .columns import Plan as ColumnPlan
from .inputs import Scenario
from .solve import SolveResult, int_value, run
from .status import SolveStatus, has_solution, stages_sentence, stages_words, status_label

EARTH_RADIUS_KM = 6371.0088
ACTIONS = ("existing", "expand", "attached", "new")
from .options import METHODS  # noqa: E402

TOWNSHIP_FIELDS = [
    Field("code", ("代码", "乡镇代码", "编码")),
    Field("county", ("市县", "县", "县代码", "市县代码")),
    Field("name", ("名称", "乡镇", "乡镇名称")),
    Field("population", ("人口", "户籍人口", "常住人口")),
    Field("seat", ("驻地", "驻地村", "政府驻地")),
]
VILLAGE_FIELDS = [
    Field("code", ("代码", "村代码", "编码")),
    Field("township", ("乡镇", "乡镇代码")),
    Field("name", ("名称", "村名", "建制村")),
    Field("x_km", ("x", "东坐标"), required=False),
    Field("y_km", ("y", "北坐标"), required=False),
    Field("lat", ("latitude", "纬度"), required=False),
    Field("lon", ("longitude", "lng", "经度"), required=False),
    Field("children", ("幼儿数", "3-5岁幼儿", "适龄幼儿")),
    Field("primary_school", ("小学", "有小学")),
    Field("kg_places", ("幼儿园学位", "现有学位", "学位")),
    Field("kg_central", ("中心幼儿园", "公办中心园")),
]
COUNTY_FIELDS = [
    Field("code", ("代码", "县代码", "市县代码")),
    Field("name", ("名称", "市县", "市县名称")),
]
FILES = ("townships.csv", "villages.csv")


# ---------------------------------------------------------------------------------------------
# Scenario


@dataclass(frozen=True)
class KindergartenScenario:
    """The planner's choices; every field has the default of issue 5."""

    name: str = "default"
    description: str = ""
    village_threshold: int = 60
    max_distance_km: float = 5.0
    populous_population: int = 60000
    new_capacity: int = 180
    new_cost: int = 3_000_000
    attach_capacity: int = 60
    attach_cost: int = 600_000
    expand_max: int = 90
    expand_cost_per_place: int = 20_000

    # The YAML reading (file errors, YAML errors with line and column) is the planning Scenario's.
    from_yaml = classmethod(Scenario.from_yaml.__func__)
    from_yaml_text = classmethod(Scenario.from_yaml_text.__func__)

    @classmethod
    def from_dict(cls, doc: object) -> "KindergartenScenario":
        if not isinstance(doc, dict):
            raise FupinError("the scenario must be a mapping of keys to values (key: value)")
        known = list(asdict(cls()))
        problems, values = [], {}
        for key, value in doc.items():
            if key not in known:
                problems.append(f"unknown key '{key}'; known keys: {', '.join(known)}")
                continue
            if key in ("name", "description"):
                if not isinstance(value, (str, int)) or isinstance(value, bool):
                    problems.append(f"{key}: {value!r} is not text")
                else:
                    values[key] = str(value)
            elif key == "max_distance_km":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                    problems.append(f"{key}: {value!r} must be a number of kilometres above 0")
                else:
                    values[key] = float(value)
            else:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    problems.append(f"{key}: {value!r} must be a whole number, 0 or more")
                else:
                    values[key] = value
        if problems:
            raise FupinError("scenario problem(s):\n  " + "\n  ".join(problems))
        return cls(**{**asdict(cls()), **values})

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Township:
    code: str
    county: str
    name: str
    population: int
    seat: str


@dataclass(frozen=True)
class Village:
    code: str
    township: str
    name: str
    x: float  # x_km, or longitude when the county's villages are given as lat/lon
    y: float  # y_km, or latitude
    children: int
    primary_school: bool
    kg_places: int
    kg_central: bool


@dataclass
class KindergartenCounty:
    """One county's townships and villages (not planning.inputs.County, a county of the teacher plans)."""

    code: str
    name: str
    townships: list[Township]
    villages: list[Village]
    geographic: bool = False  # lat/lon (great-circle distance) rather than x_km/y_km


# The old name, still imported by benchmarks/bench_kindergartens.py; use KindergartenCounty.


def _number(value: object) -> float:
    return float(parse_decimal(value))


def _read_rows(path: Path, fields: list[Field], parsers: dict, optional_extra: tuple[str, ...] = ()):
    parsed, problems = parse_rows(read_table(path, fields, optional_extra), parsers,
                                  blank_is_none=("x_km", "y_km", "lat", "lon"))
    if problems:
        raise InputFileError(str(path), problems)
    return [({"row": row.number, **values}, row.columns) for row, values in parsed]


def read_province(data_dir: str | Path) -> list[KindergartenCounty]:
    """Read and check townships.csv and villages.csv; every problem is listed, with file, row and column."""
    data_dir = _data_folder(data_dir)
    tpath, vpath = table_file(data_dir, "townships.csv"), table_file(data_dir, "villages.csv")
    trows = _read_rows(tpath, TOWNSHIP_FIELDS, {"code": required_text, "county": required_text, "name": required_text,
                                                "population": parse_count, "seat": required_text})
    vrows = _read_rows(vpath, VILLAGE_FIELDS, {
        "code": required_text, "township": required_text, "name": required_text, "x_km": _number, "y_km": _number,
        "lat": _number, "lon": _number, "children": parse_count, "primary_school": parse_bool,
        "kg_places": parse_count, "kg_central": parse_bool})
    names = _county_names(data_dir)
    townships, trow, tproblems = _townships(trows)
    villages, kinds, vproblems = _villages(vrows, townships)
    seat_col = trows[-1][1]["seat"] if trows else "seat"
    tproblems += _seat_problems(townships, trow, villages, {rec["code"] for rec, _ in vrows}, seat_col)
    vproblems += _mixed_position_problems(kinds)
    _raise_problems(((tpath, tproblems), (vpath, vproblems)))
    return _counties(townships, villages, kinds, names)


def _data_folder(data_dir: str | Path) -> Path:
    """The data folder, which must exist and hold townships.csv and villages.csv."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FupinError(f"{data_dir}: no such folder; --data must be the folder holding townships.csv and villages.csv")
    missing = [f for f in FILES if not table_file(data_dir, f).exists()]
    if missing:
        raise FupinError(f"{data_dir}: missing file(s): {', '.join(missing)} (or the .xlsx of the same name)")
    return data_dir


def _county_names(data_dir: Path) -> dict[str, str]:
    """County code -> name from the optional counties.csv (empty without it)."""
    cpath = table_file(data_dir, "counties.csv")
    if not cpath.exists():
        return {}
    rows = _read_rows(cpath, COUNTY_FIELDS, {"code": required_text, "name": required_text},
                      optional_extra=("poverty", "special_post_capacity"))
    return {rec["code"]: rec["name"] for rec, _ in rows}


def _townships(trows: list) -> tuple[dict[str, Township], dict[str, int], list[RowProblem]]:
    """The townships by code, the row each came from, and every duplicate code as a problem."""
    townships: dict[str, Township] = {}
    row_of: dict[str, int] = {}
    problems: list[RowProblem] = []
    for rec, cols in trows:
        code = rec["code"]
        if code in townships:
            problems.append(RowProblem(rec["row"], cols["code"], f"duplicate township code '{code}' (first at row {row_of[code]})"))
            continue
        townships[code] = Township(code, rec["county"], rec["name"], rec["population"], rec["seat"])
        row_of[code] = rec["row"]
    return townships, row_of, problems


def _villages(vrows: list,
              townships: dict[str, Township]) -> tuple[dict[str, Village], dict[str, set], list[RowProblem]]:
    """The villages by code, the kinds of position ("xy", "ll") used in each county, and the problems.

    A village is refused for a duplicate code, an unknown township, no position or two (x_km,y_km
    and lat,lon), a position off the Earth, or a central kindergarten without places.
    """
    villages: dict[str, Village] = {}
    row_of: dict[str, int] = {}
    kinds: dict[str, set] = {}
    problems: list[RowProblem] = []
    for rec, cols in vrows:
        row, code = rec["row"], rec["code"]
        if code in villages:
            problems.append(RowProblem(row, cols["code"], f"duplicate village code '{code}' (first at row {row_of[code]})"))
            continue
        bad = False
        township = townships.get(rec["township"])
        if township is None:
            problems.append(RowProblem(row, cols["township"], f"unknown township '{rec['township']}': it is not in townships.csv"))
            bad = True
        xy = rec.get("x_km") is not None and rec.get("y_km") is not None
        ll = rec.get("lat") is not None and rec.get("lon") is not None
        if xy == ll:
            problems.append(RowProblem(row, None, "give the position either as x_km,y_km or as lat,lon (exactly one pair)"))
            bad = True
        elif ll and not (-90 <= rec["lat"] <= 90 and -180 <= rec["lon"] <= 180):
            problems.append(RowProblem(row, cols["lat"], f"lat {rec['lat']}, lon {rec['lon']} is not a position on Earth"))
            bad = True
        if rec["kg_central"] and rec["kg_places"] == 0:
            problems.append(RowProblem(row, cols["kg_central"], "kg_central is yes but kg_places is 0: a central kindergarten has places"))
            bad = True
        if bad:
            continue
        x, y = (rec["lon"], rec["lat"]) if ll else (rec["x_km"], rec["y_km"])
        villages[code] = Village(code, rec["township"], rec["name"], x, y, rec["children"], rec["primary_school"],
                                 rec["kg_places"], rec["kg_central"])
        row_of[code] = row
        kinds.setdefault(township.county, set()).add("ll" if ll else "xy")
    return villages, kinds, problems


def _seat_problems(townships: dict[str, Township], row_of: dict[str, int], villages: dict[str, Village],
                   listed: set[str], seat_col: str) -> list[RowProblem]:
    """Every township's seat must be a village of villages.csv, and of that township.

    A seat listed in villages.csv but refused there is not reported again.
    """
    problems = []
    for t in townships.values():
        seat = villages.get(t.seat)
        if seat is None and t.seat not in listed:
            problems.append(RowProblem(row_of[t.code], seat_col, f"township {t.code}: seat '{t.seat}' is not a village in villages.csv"))
        elif seat is not None and seat.township != t.code:
            problems.append(RowProblem(row_of[t.code], seat_col,
                                       f"township {t.code}: seat '{t.seat}' is a village of township {seat.township}, not of {t.code}"))
    return problems


def _mixed_position_problems(kinds: dict[str, set]) -> list[RowProblem]:
    """A county gives all its positions one way: x_km,y_km or lat,lon."""
    return [RowProblem(None, None, f"county {county} mixes x_km,y_km and lat,lon positions: use one kind per county")
            for county, k in kinds.items() if len(k) > 1]


def _raise_problems(found: tuple[tuple[Path, list[RowProblem]], ...]) -> None:
    """One FupinError listing every problem, file by file; nothing when there are none."""
    lines = []
    for path, problems in found:
        if problems:
            lines.append(f"{path}: {len(problems)} problem(s):")
            lines += [f"  {p}" for p in problems]
    if lines:
        raise FupinError("kindergarten data: nothing was solved or written:\n" + "\n".join(lines))


def _counties(townships: dict[str, Township], villages: dict[str, Village], kinds: dict[str, set],
              names: dict[str, str]) -> list[KindergartenCounty]:
    """The checked townships and villages grouped by county, in order of county code."""
    counties: dict[str, KindergartenCounty] = {}
    for t in townships.values():
        counties.setdefault(t.county, KindergartenCounty(t.county, names.get(t.county, t.county), [], []))
        counties[t.county].townships.append(t)
    for v in villages.values():
        c = counties[townships[v.township].county]
        c.villages.append(v)
        c.geographic = "ll" in kinds.get(c.code, set())
    return [counties[c] for c in sorted(counties)]


def distance_km(a: Village, b: Village, geographic: bool) -> float:
    if not geographic:
        return math.hypot(a.x - b.x, a.y - b.y)
    lat1, lat2 = math.radians(a.y), math.radians(b.y)
    dlat, dlon = lat2 - lat1, math.radians(b.x - a.x)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


# ---------------------------------------------------------------------------------------------
# Model and result


@dataclass
class CountyPlan:
    """One county's result; plain data so that it crosses process boundaries."""

    county: str
    name: str
    status: SolveStatus
    solver: str
    reason: str = ""
    method: str = "columns"
    cost: int | None = None
    lower_bound: int | None = None
    children_km: float | None = None
    gap: float | None = None
    build_seconds: float = 0.0
    solver_seconds: float = 0.0
    seconds: float = 0.0
    sites: list[dict] = field(default_factory=list)
    assignments: list[dict] = field(default_factory=list)
    villages: list[dict] = field(default_factory=list)  # for the map
    # Stage 2 (least children-km at the least cost) proven by an exact solve over every cheapest plan.
    km_proven: bool = False

    @property
    def has_solution(self) -> bool:
        return has_solution(self.status)

    @property
    def proven(self) -> dict[str, bool]:
        cost = self.status == SolveStatus.OPTIMAL
        return {"cost": cost, "children_km": cost and self.km_proven}

    def stage_sentence(self, lang: str = "en") -> str:
        """The status in words, saying which stage is proven (and the gap of an unproven cost)."""
        return stages_sentence(self.status, self.has_solution, self.proven["cost"], self.proven["children_km"],
                               self.gap, lang)

    def describe(self, lang: str = "en") -> str:
        return self.stage_sentence(lang) + (f": {self.reason}" if self.reason else "")

    def status_label(self, lang: str = "en") -> str:
        if not self.has_solution:
            return status_label(self.status, lang)
        return stages_words(self.proven["cost"], self.proven["children_km"], lang).label

    def summary(self) -> dict:
        count = {a: sum(1 for s in self.sites if s["action"] == a) for a in ACTIONS}
        return {
            "name": self.name, "status": self.status, "proven": self.proven, "status_text": self.describe(),
            "cost": self.cost, "children_km": None if self.children_km is None else round(self.children_km, 3),
            "solve_seconds": round(self.seconds, 3), "build_seconds": round(self.build_seconds, 3),
            "solver_seconds": round(self.solver_seconds, 3),
            "mip_gap": self.gap, "lower_bound": self.lower_bound, "method": self.method, "new": count["new"], "attached": count["attached"], "expanded": count["expand"],
            "places_added": sum(s["places_added"] for s in self.sites),
            "villages_served": len(self.assignments),
        }


def _seconds_left(deadline: float | None, share: float = 1.0) -> float | None:
    """`share` of the seconds left before `deadline` (at least 0.01); None without a deadline."""
    return None if deadline is None else max((deadline - time.perf_counter()) * share, 0.01)


@dataclass
class CompactModel:
    """The compact model while it is built: the problem, its variables by village code, each site's load."""

    prob: pulp.LpProblem
    n: dict = field(default_factory=dict)  # village -> new kindergarten (0/1)
    a: dict = field(default_factory=dict)  # village -> attached kindergarten (0/1)
    e: dict = field(default_factory=dict)  # village -> places added by expansion
    x: dict = field(default_factory=dict)  # (village served, site) -> 0/1
    load: dict = field(default_factory=dict)  # site -> [(x_ds, children_d)]


class KindergartenModel:
    """One county: n[v] new, a[v] attached, e[v] extra places; x[d,s] village d served at s."""

    def __init__(self, county: KindergartenCounty, scenario: KindergartenScenario | None = None):
        self.county = county
        self.scenario = scenario or KindergartenScenario()
        sc = self.scenario
        self.villages = {v.code: v for v in county.villages}
        self.index = {code: k for k, code in enumerate(self.villages)}
        self.demand = [v for v in county.villages if v.children >= sc.village_threshold]
        self.reach: dict[str, list[tuple[str, float]]] = {}
        for d in self.demand:
            near = []
            for s in county.villages:
                dist = 0.0 if s.code == d.code else distance_km(d, s, county.geographic)
                if dist <= sc.max_distance_km + 1e-9:
                    near.append((s.code, dist))
            self.reach[d.code] = near
        self.seat_of = {t.seat: t for t in county.townships}

    # capacities -------------------------------------------------------------------------------
    def can_attach(self, v: Village) -> bool:
        return v.primary_school and self.scenario.attach_capacity > 0

    def can_expand(self, v: Village) -> bool:
        return v.kg_places > 0 and self.scenario.expand_max > 0

    def max_capacity(self, v: Village) -> int:
        sc = self.scenario
        return (v.kg_places + (sc.expand_max if self.can_expand(v) else 0)
                + (sc.attach_capacity if self.can_attach(v) else 0) + sc.new_capacity)

    def infeasibility_reasons(self) -> list[str]:
        """Reasons seen without solving: a village no site in reach can hold, a populous township too small."""
        sc = self.scenario
        out = []
        for d in self.demand:
            sites = [(self.villages[s], dist) for s, dist in self.reach[d.code]]
            caps = [(self.max_capacity(s), s) for s, _ in sites]
            best, where = max(caps, key=lambda c: c[0])
            if best == 0:
                out.append(f"village {d.code} {d.name} ({d.children} children) has no site within "
                           f"{sc.max_distance_km:g} km that can have a kindergarten")
            elif d.children > best:
                out.append(f"village {d.code} {d.name} has {d.children} children, but no site within "
                           f"{sc.max_distance_km:g} km can reach that many places (at most {best} at {where.code} {where.name})")
        for t in self.county.townships:
            if need := self.kindergartens_to_add(t):
                members = [v for v in self.county.villages if v.township == t.code]
                possible = sum(self.can_attach(v) + (sc.new_capacity > 0) for v in members)
                if possible < need:
                    out.append(f"township {t.code} {t.name} (population {t.population}) must have two kindergartens, "
                               f"but its villages allow only {possible + 2 - need}")
        return out

    def build(self):
        """The compact model of KINDERGARTENS.md §2, one constraint family at a time.

        Returns (problem, n, a, e, x, cost, travel, dist): the variables by village code (x by
        (village served, site)), the cost C and the children-km as expressions (no objective is
        set), and the distance of every pair within reach.
        """
        m = CompactModel(pulp.LpProblem(f"kindergartens_{self.county.code}", pulp.LpMinimize))
        self._add_site_variables(m)
        self._add_seat_rows(m)
        self._add_assignments(m)
        self._add_capacity_rows(m)
        self._add_populous_rows(m)
        dist = self._distances()
        return m.prob, m.n, m.a, m.e, m.x, self._cost_expression(m), self._travel_expression(m, dist), dist

    def _add_site_variables(self, m: CompactModel) -> None:
        """n_v ∈ {0,1} (a new kindergarten; also at a seat that needs one, whatever new_capacity is),
        a_v ∈ {0,1} only if v has a primary school, e_v ∈ {0..E} only if v has places (k_v > 0)."""
        sc = self.scenario
        for v in self.county.villages:
            k = self.index[v.code]
            if sc.new_capacity > 0 or self.must_build_seat(v):
                m.n[v.code] = m.prob.add_variable(f"n_{k}", cat=pulp.LpBinary)
            if self.can_attach(v):
                m.a[v.code] = m.prob.add_variable(f"a_{k}", cat=pulp.LpBinary)
            if self.can_expand(v):
                m.e[v.code] = m.prob.add_variable(f"e_{k}", lowBound=0, upBound=sc.expand_max, cat=pulp.LpInteger)

    def must_build_seat(self, v: Village) -> bool:
        """A township seat without a central kindergarten gets a new, public central one."""
        return v.code in self.seat_of and not v.kg_central

    def existing_kindergartens(self, township: str) -> int:
        """How many villages of `township` have a kindergarten already (the populous rule counts them)."""
        return sum(1 for v in self.county.villages if v.township == township and v.kg_places > 0)

    def _add_seat_rows(self, m: CompactModel) -> None:
        """(seat)  n_seat(t) = 1 for each township t whose seat has no kg_central (written n ≥ 1)."""
        for v in self.county.villages:
            if self.must_build_seat(v):
                m.prob += pulp.LpAffineExpression([(m.n[v.code], 1)]) >= 1, f"seat_{self.index[v.code]}"

    def _add_assignments(self, m: CompactModel) -> None:
        """x_ds ∈ {0,1} for s ∈ R(d) that may hold d, with (serve) and (link):

        (serve)  Σ_{s∈R(d)} x_ds = 1                       ∀ d ∈ D
        (link)   x_ds ≤ n_s        if children_d > k_s + E + A (only a new kindergarten holds d)
                 x_ds ≤ a_s + n_s  if k_s = 0, or children_d > k_s + E
                 x_ds = 0          (no variable) if s can have no kindergarten, or only a new one
                                   could hold d and s cannot have one
        (E and A count only where s may expand or attach; (capacity) does the rest.)
        """
        sc, idx = self.scenario, self.index
        n, a, e = m.n, m.a, m.e
        for d in self.demand:
            terms = []
            for s, _ in self.reach[d.code]:
                site = self.villages[s]
                if site.kg_places == 0 and s not in n and s not in a:
                    continue
                # Strong links: d is served at s only if s has a kindergarten big enough for d alone.
                without_new = site.kg_places + (sc.expand_max if s in e else 0) + (sc.attach_capacity if s in a else 0)
                if d.children > without_new and s not in n:
                    continue  # s can never hold d
                var = m.prob.add_variable(f"x_{idx[d.code]}_{idx[s]}", cat=pulp.LpBinary)
                m.x[(d.code, s)] = var
                terms.append(var)
                m.load.setdefault(s, []).append((var, d.children))
                if d.children > without_new:
                    m.prob += pulp.LpAffineExpression([(var, 1), (n[s], -1)]) <= 0, f"link_{idx[d.code]}_{idx[s]}"
                elif site.kg_places + (sc.expand_max if s in e else 0) < d.children or site.kg_places == 0:
                    opened = [(var, 1)] + [(v[s], -1) for v in (n, a) if s in v]
                    m.prob += pulp.LpAffineExpression(opened) <= 0, f"link_{idx[d.code]}_{idx[s]}"
            m.prob += pulp.lpSum(terms) == 1, f"serve_{idx[d.code]}"

    def _add_capacity_rows(self, m: CompactModel) -> None:
        """(capacity)  Σ_d children_d x_ds ≤ k_s + e_s + A a_s + N n_s   for every site s serving anyone."""
        sc = self.scenario
        for s, served in m.load.items():
            expr = list(served)
            if s in m.e:
                expr.append((m.e[s], -1))
            if s in m.a:
                expr.append((m.a[s], -sc.attach_capacity))
            if s in m.n:
                expr.append((m.n[s], -sc.new_capacity))
            m.prob += pulp.LpAffineExpression(expr) <= self.villages[s].kg_places, f"capacity_{self.index[s]}"

    def kindergartens_to_add(self, t: Township) -> int:
        """(populous) How many kindergartens township t must gain: 2 less those it has when its
        population is at least populous_population, else none. The compact model, the column
        master and the infeasibility reasons all ask this."""
        if t.population < self.scenario.populous_population:
            return 0
        return max(0, 2 - self.existing_kindergartens(t.code))

    def _add_populous_rows(self, m: CompactModel) -> None:
        """(populous)  #{v ∈ t : k_v > 0} + Σ_{v∈t} (a_v + n_v) ≥ 2   if population_t ≥ populous_population."""
        for t in self.county.townships:
            if need := self.kindergartens_to_add(t):
                members = [v for v in self.county.villages if v.township == t.code]
                terms = [(d[v.code], 1) for v in members for d in (m.n, m.a) if v.code in d]
                m.prob += pulp.LpAffineExpression(terms) >= need, f"populous_{t.code}"

    def _cost_expression(self, m: CompactModel) -> pulp.LpAffineExpression:
        """C = new_cost Σ n + attach_cost Σ a + expand_cost_per_place Σ e (whole yuan)."""
        sc = self.scenario
        return pulp.LpAffineExpression([(var, sc.new_cost) for var in m.n.values()]
                                       + [(var, sc.attach_cost) for var in m.a.values()]
                                       + [(var, sc.expand_cost_per_place) for var in m.e.values()])

    def _travel_expression(self, m: CompactModel, dist: dict) -> pulp.LpAffineExpression:
        """Children-km: Σ children_d dist_ds x_ds."""
        children = {d.code: d.children for d in self.demand}
        return pulp.LpAffineExpression([(var, children[k[0]] * dist[k]) for k, var in m.x.items()])

    def solve(self, solver: str = "highs", time_limit: float | None = 60, method: str = "columns") -> CountyPlan:
        """Least cost, then least children-km at that cost (KINDERGARTENS.md §2 and §4).

        method "columns": column generation, exact when it finishes (the compact model takes over,
        from its plan, when it does not); "compact": the compact model alone.
        """
        if method not in METHODS:
            raise ValueError(f"unknown method '{method}': use one of {', '.join(METHODS)}")
        start = time.perf_counter()
        plan = self._empty_plan(solver, method)
        reasons = self.infeasibility_reasons()
        if reasons:
            plan.reason = "; ".join(reasons)
        else:
            deadline = None if time_limit is None else start + time_limit
            outcome = solve_by_columns(self, solver, time_limit) if method == "columns" else None
            if outcome is None or not self._take_column_outcome(plan, outcome, deadline):
                self._solve_compact(plan, solver, deadline, outcome)
        plan.seconds = time.perf_counter() - start
        return plan

    INFEASIBLE = ("the villages' children do not fit the places the sites within reach can offer together; "
                  "raise max_distance_km or the capacities")
    KM_NOT_PROVEN = "children-km not proven least (time limit in the second solve)"
    KM_STAGE_ONE_SITES = "children-km least only among plans with stage 1's sites (CBC takes no starting plan)"

    def _empty_plan(self, solver: str, method: str) -> CountyPlan:
        """The county's plan before solving: infeasible until a plan is found, its villages for the map."""
        plan = CountyPlan(self.county.code, self.county.name, SolveStatus.INFEASIBLE, solver, method=method)
        plan.villages = [{"code": v.code, "name": v.name, "x": v.x, "y": v.y, "children": v.children,
                          "demand": v.children >= self.scenario.village_threshold} for v in self.county.villages]
        return plan

    def _take_column_outcome(self, plan: CountyPlan, outcome: ColumnOutcome, deadline: float | None) -> bool:
        """Fill `plan` from the columns' outcome; False when the compact model is to go on from it.

        Final when the columns proved the county infeasible or their plan optimal, or when less
        than a second is left for the compact model: then the column plan is kept with its gap.
        """
        plan.solver_seconds = outcome.solver_seconds
        plan.build_seconds = outcome.seconds - outcome.solver_seconds  # pricing, enumeration, masters
        plan.lower_bound = outcome.lower_bound
        if outcome.status == SolveStatus.INFEASIBLE:
            plan.reason = self.INFEASIBLE
            return True
        if outcome.status == SolveStatus.OPTIMAL:
            plan.status, plan.gap = SolveStatus.OPTIMAL, 0.0
            plan.km_proven = outcome.km_proven
            if not outcome.km_proven:
                plan.reason = self.KM_NOT_PROVEN
            self._fill(plan, self._plan_values(outcome.plan), self._distances())
            return True
        plan.method = "columns+compact"
        if outcome.plan is not None and deadline is not None and deadline - time.perf_counter() < 1.0:
            plan.method = "columns"  # no time for the compact model: the column plan, with its gap
            plan.status = SolveStatus.TIME_LIMIT_FEASIBLE
            plan.gap = (outcome.plan.cost - (plan.lower_bound or 0)) / outcome.plan.cost if outcome.plan.cost else 0.0
            plan.reason = "" if outcome.out_of_time else outcome.note
            self._fill(plan, self._plan_values(outcome.plan), self._distances())
            return True
        return False

    def _distances(self) -> dict:
        return {(d.code, s): km for d in self.demand for s, km in self.reach[d.code]}

    def _plan_values(self, p):
        return (dict(p.new), dict(p.attach), dict(p.expand), dict(p.served))

    def _solve_compact(self, plan: CountyPlan, solver: str, deadline: float | None,
                       outcome: ColumnOutcome | None) -> None:
        """The compact model: stage 1 (least cost), then stage 2 (least children-km at that cost).

        A column plan (`outcome.plan`), when there is one, starts stage 1 and is kept if cheaper.
        """
        t0 = time.perf_counter()
        prob, n, a, e, x, cost, travel, dist = self.build()
        prob.setObjective(cost)
        plan.build_seconds += time.perf_counter() - t0
        variables = (n, a, e, x)
        known = outcome.plan if outcome is not None else None
        values = self._compact_least_cost(plan, prob, variables, solver, deadline, known)
        if values is None:
            return
        values = self._compact_least_km(plan, prob, variables, cost, travel, values, solver, deadline)
        self._fill(plan, values, dist)

    def _compact_least_cost(self, plan: CountyPlan, prob: pulp.LpProblem, variables, solver: str,
                            deadline: float | None, known: ColumnPlan | None):
        """Stage 1: min C, in 80% of the time left (a fifth is kept for stage 2).

        Returns the cheaper of its plan and the column plan `known`, and sets the plan's status,
        bound and gap; None, with the status and reason set, when neither exists.
        """
        n, a, e, x = variables
        start_values = self._start(known, n, a, e, x) if known is not None and solver == "highs" else None
        first = run(prob, solver, _seconds_left(deadline, 0.8), start=start_values)
        plan.solver_seconds += first.seconds
        values = self._values(n, a, e, x) if first.has_solution else None
        if values is not None and known is not None and self._cost(values) > known.cost:
            values = None  # the column plan is cheaper than what the compact model found
        if values is None and known is not None:
            values = self._plan_values(known)
        if values is None:
            plan.status = first.status
            plan.reason = self.INFEASIBLE if first.status == SolveStatus.INFEASIBLE else first.message
            return None
        self._set_cost_status(plan, first, self._cost(values))
        return values

    def _set_cost_status(self, plan: CountyPlan, first: SolveResult, best: int) -> None:
        """Optimal when stage 1 was proven or its cost `best` reaches the bound; otherwise stopped at
        the time limit, gap (best - bound) / best. The bound is the better of stage 1's and the
        columns', rounded up to a cost step."""
        bounds = [b for b in (first.bound, plan.lower_bound) if b is not None]
        bound = max(bounds) if bounds else None
        plan.lower_bound = None if bound is None else round_up(bound, cost_step(self))
        if first.status == SolveStatus.OPTIMAL or (plan.lower_bound is not None and best <= plan.lower_bound):
            plan.status, plan.gap = SolveStatus.OPTIMAL, 0.0
        else:
            plan.status = SolveStatus.TIME_LIMIT_FEASIBLE
            plan.gap = None if plan.lower_bound is None else (best - plan.lower_bound) / best

    def _compact_least_km(self, plan: CountyPlan, prob: pulp.LpProblem, variables, cost, travel, values,
                          solver: str, deadline: float | None):
        """Stage 2: min Σ children_d dist_ds x_ds subject to C ≤ C* + 0.5, from stage 1's plan `values`.

        Returns stage 2's plan, or `values` when stage 2 found none.
        """
        n, a, e, x = variables
        self._load(values, n, a, e, x)
        # Costs are whole yuan, so "cost <= best + 0.5" fixes the cost and leaves room for tolerances.
        t0 = time.perf_counter()
        prob += cost <= self._cost(values) + 0.5, "cheapest_cost"
        if solver == "highs":
            # Exact lexicographic rule: openings, expansions and assignments all free at the cheapest
            # cost, from stage 1's plan (without a start HiGHS found none within 60 s: KINDERGARTENS.md §3).
            start_values = {var.name: var.varValue for var in prob.variables()}
        else:
            # CBC (through PuLP here) takes no starting solution: the sites opened (new, attached)
            # stay as stage 1 chose them; expansions and assignments may change at the same cost.
            start_values = None
            for var in (*n.values(), *a.values()):
                var.lowBound = var.upBound = int_value(var)
        prob.setObjective(travel)
        plan.build_seconds += time.perf_counter() - t0
        second = run(prob, solver, _seconds_left(deadline), start=start_values)
        plan.solver_seconds += second.seconds
        # With CBC the sites stay as stage 1 chose them: least children-km among those plans only.
        plan.km_proven = solver == "highs" and second.status == SolveStatus.OPTIMAL
        if plan.status == SolveStatus.OPTIMAL and not plan.km_proven:
            plan.reason = self.KM_NOT_PROVEN if solver == "highs" else self.KM_STAGE_ONE_SITES
        if not second.has_solution:
            return values
        return self._values(n, a, e, x)

    def _start(self, p, n, a, e, x) -> dict[str, float]:
        """A column plan as values of the compact model's variables."""
        self._load(self._plan_values(p), n, a, e, x)
        return {var.name: var.varValue for var in (*n.values(), *a.values(), *e.values(), *x.values())}

    def _load(self, values, n, a, e, x) -> None:
        nv, av, ev, served = values
        for group, chosen in ((n, nv), (a, av), (e, ev)):
            for k, var in group.items():
                var.varValue = chosen.get(k, 0)
        for (d, s), var in x.items():
            var.varValue = 1 if served.get(d) == s else 0

    def _values(self, n, a, e, x):
        return ({k: int_value(v) for k, v in n.items()}, {k: int_value(v) for k, v in a.items()},
                {k: int_value(v) for k, v in e.items()},
                {k: s for (k, s), v in x.items() if v.varValue is not None and v.varValue > 0.5})

    def _cost(self, values) -> int:
        sc = self.scenario
        n, a, e, _ = values
        return sum(n.values()) * sc.new_cost + sum(a.values()) * sc.attach_cost + sum(e.values()) * sc.expand_cost_per_place

    def _fill(self, plan: CountyPlan, values, dist) -> None:
        sc = self.scenario
        n, a, e, served = values
        township = {t.code: t for t in self.county.townships}
        for v in self.county.villages:
            added = {"expand": e.get(v.code, 0), "attached": sc.attach_capacity * a.get(v.code, 0),
                     "new": sc.new_capacity * n.get(v.code, 0)}
            capacity = v.kg_places + sum(added.values())
            rows = []
            if v.kg_places > 0 and added["expand"] == 0:
                rows.append(("existing", 0, v.kg_central, 0))
            if added["expand"]:
                rows.append(("expand", added["expand"], v.kg_central, added["expand"] * sc.expand_cost_per_place))
            if a.get(v.code):
                rows.append(("attached", sc.attach_capacity, False, sc.attach_cost))
            if n.get(v.code):
                rows.append(("new", sc.new_capacity, v.code in self.seat_of, sc.new_cost))
            for action, places, central, cost in rows:
                plan.sites.append({"county": self.county.code, "township": v.township, "village": v.code,
                                   "village_name": v.name, "township_name": township[v.township].name,
                                   "action": action, "places_added": places, "capacity": capacity,
                                   "central": "yes" if central else "no", "cost": cost})
        for d in self.demand:
            s = served[d.code]
            plan.assignments.append({"county": self.county.code, "village": d.code, "site": s,
                                     "distance_km": round(dist[(d.code, s)], 3), "children": d.children})
        plan.cost = self._cost(values)
        plan.children_km = sum(r["children"] * dist[(r["village"], r["site"])] for r in plan.assignments)


# ---------------------------------------------------------------------------------------------
# The province: counties in parallel


@dataclass
class ProvincePlan:
    scenario: KindergartenScenario
    solver: str
    counties: list[CountyPlan]
    seconds: float = 0.0
    jobs: int = 1

    @property
    def solved(self) -> list[CountyPlan]:
        return [c for c in self.counties if c.has_solution]

    @property
    def failed(self) -> list[CountyPlan]:
        return [c for c in self.counties if not c.has_solution]

    def summary(self) -> dict:
        solved = self.solved
        gaps = [c.gap for c in solved if c.gap is not None]
        return {
            "kind": "kindergartens",
            "scenario": self.scenario.as_dict(),
            "solver": self.solver,
            "jobs": self.jobs,
            "total": {
                # "optimal" only when every county is proven in both stages (cost, then children-km).
                "status": SolveStatus.OPTIMAL if solved and all(c.proven["children_km"] for c in self.counties)
                else ("partial" if solved else SolveStatus.INFEASIBLE),
                "counties": len(self.counties), "counties_solved": len(solved),
                "proven": {"cost": sum(c.proven["cost"] for c in self.counties),
                           "children_km": sum(c.proven["children_km"] for c in self.counties)},
                "counties_without_plan": [c.county for c in self.failed],
                "cost": sum(c.cost for c in solved),
                "children_km": round(sum(c.children_km for c in solved), 3),
                "solve_seconds": round(sum(c.seconds for c in self.counties), 3),
                "wall_seconds": round(self.seconds, 3),
                "mip_gap": max(gaps) if gaps else None,
                "new": sum(1 for c in solved for s in c.sites if s["action"] == "new"),
                "attached": sum(1 for c in solved for s in c.sites if s["action"] == "attached"),
                "expanded": sum(1 for c in solved for s in c.sites if s["action"] == "expand"),
                "places_added": sum(s["places_added"] for c in solved for s in c.sites),
            },
            "counties": {c.county: c.summary() for c in self.counties},
        }


def _solve_county(args) -> CountyPlan:
    county, scenario, solver, time_limit, method = args
    try:
        return KindergartenModel(county, scenario).solve(solver, time_limit, method)
    except Exception as exc:  # one county's failure must not lose the others' plans
        return CountyPlan(county.code, county.name, SolveStatus.ERROR, solver, reason=f"{type(exc).__name__}: {exc}")


def plan_province(counties: list[KindergartenCounty], scenario: KindergartenScenario | None = None,
                  solver: str = "highs", time_limit: float | None = 60, jobs: int | None = None,
                  progress: Callable[[CountyPlan], None] | None = None, method: str = "columns",
                  scheduler: str | None = None) -> ProvincePlan:
    """Solve every county independently: on `jobs` processes here (1 = in this process), or on the
    Dask cluster whose scheduler is at `scheduler` (then `jobs` is not used: the cluster's workers
    decide how many counties are solved at once).

    `progress(plan)` is called once per county solved, in the order they finish. When it raises
    (e.g. a job's cancellation), the counties not yet solved are cancelled, the processes or the
    cluster's tasks let go, and the exception propagates.
    """
    scenario = scenario or KindergartenScenario()
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(counties) or 1))
    start = time.perf_counter()
    tasks = [(c, scenario, solver, time_limit, method) for c in counties]
    results: dict[str, CountyPlan] = {}

    def solved(plan: CountyPlan) -> None:
        results[plan.county] = plan
        if progress:
            progress(plan)

    if scheduler is not None:
        from .cluster import map_on_cluster  # dask loads only here

        def lost(index: int, reason: str) -> None:  # the cluster could not run it: said in its plan
            solved(CountyPlan(counties[index].code, counties[index].name, SolveStatus.ERROR, solver, reason=reason,
                              method=method))

        # _solve_county looked up here, at call time (a test may stand in for it)
        jobs = map_on_cluster(scheduler, _solve_county, tasks, lambda _index, plan: solved(plan), lost)
    elif jobs == 1:
        for task in tasks:
            solved(_solve_county(task))
    else:
        _solve_in_processes(tasks, jobs, solved)
    return ProvincePlan(scenario, solver, [results[c.code] for c in counties], time.perf_counter() - start, jobs)


def _solve_in_processes(tasks: list[tuple], jobs: int, solved: Callable[[CountyPlan], None]) -> None:
    """`_solve_county` of every task on `jobs` processes, `solved(plan)` as each one finishes."""
    # spawn, not fork: a forked child can inherit a solver library's lock held by another thread.
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        try:
            futures = [pool.submit(_solve_county, t) for t in tasks]
        except RuntimeError as exc:  # e.g. spawn refused outside a `__main__` guard
            raise FupinError(f"could not start the worker processes ({exc}); run again with --jobs 1") from None
        for future in as_completed(futures):
            try:
                plan = future.result()
            except BrokenProcessPool as exc:  # a process died (killed, out of memory): the run is lost
                raise FupinError(f"a worker process failed ({type(exc).__name__}); run again with --jobs 1") from None
            solved(plan)  # outside the try: its exception, whatever it is, goes up as it is
    except BaseException:
        _stop_processes(pool)
        raise
    pool.shutdown()


def _stop_processes(pool: ProcessPoolExecutor) -> None:
    """Cancel the counties not started and end the processes solving the others at once, returning
    when they are gone (`shutdown` alone would wait for each running county's time limit, and
    Python 3.14's `terminate_workers` does not wait)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    # Waiting on the sentinels, not with join(): the pool's manager thread reaps the processes, and a
    # second waiter racing it for the exit status can see a dead process as alive.
    running = {process.sentinel: process for process in processes}
    deadline = time.monotonic() + 5
    while running and time.monotonic() < deadline:
        for sentinel in multiprocessing.connection.wait(list(running), timeout=max(0.0, deadline - time.monotonic())):
            del running[sentinel]
    for process in running.values():  # SIGTERM can be ignored (a disposition inherited at spawn); SIGKILL cannot
        process.kill()
    if manager is not None:
        manager.join(timeout=10)
