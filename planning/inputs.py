"""Reading the planning CSV files (English or Chinese headers) and the scenario YAML.

Each reader returns a pandas DataFrame with English column names, exact integers and a `row`
column holding the spreadsheet row (header = row 1) so that later checks can point at it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from common.errors import FupinError, InputFileError
from common.cells import choice, clean_text, parse_count, required_text
from common.tables import Field, parse_rows, read_table, table_file

if TYPE_CHECKING:
    import pandas as pd

POVERTY = ("national", "provincial", "none")
STAGES = ("primary", "junior", "preschool")
PROGRAMMES = ("primary", "preschool")

POVERTY_ALIASES = {
    "national": "national", "国家级": "national", "国家级贫困县": "national", "国贫": "national",
    "provincial": "provincial", "省级": "provincial", "省级贫困县": "provincial", "省贫": "provincial",
    "none": "none", "无": "none", "非贫困": "none", "非贫困县": "none", "否": "none",
}
STAGE_ALIASES = {
    "primary": "primary", "小学": "primary",
    "junior": "junior", "初中": "junior",
    "preschool": "preschool", "学前": "preschool", "学前教育": "preschool", "幼儿园": "preschool",
}
PROGRAMME_ALIASES = {
    "primary": "primary", "小学": "primary", "农村小学": "primary", "小学教育": "primary",
    "preschool": "preschool", "学前": "preschool", "学前教育": "preschool", "幼儿园": "preschool",
}

COUNTY_FIELDS = [
    Field("code", ("代码", "县代码", "市县代码", "编码")),
    Field("name", ("名称", "市县", "市县名称", "县名")),
    Field("poverty", ("贫困类别", "贫困县类别", "贫困等级")),
    Field("special_post_capacity", ("特岗容量", "特岗岗位容量", "可设特岗数"), required=False),
]
TEACHER_NEED_FIELDS = [
    Field("county", ("市县", "县", "县代码")),
    Field("stage", ("学段",)),
    Field("shortage", ("缺编", "缺口", "教师缺口", "缺编人数")),
]
GRADUATE_NEED_FIELDS = [
    Field("county", ("市县", "县", "县代码")),
    Field("programme", ("专业", "培养类别", "项目")),
    Field("year", ("毕业年份", "年份", "年度")),
    Field("vacancies", ("岗位空缺", "空缺", "空缺岗位", "空编")),
]
APPLICANT_FIELDS = [
    Field("county", ("市县", "县", "县代码")),
    Field("programme", ("专业", "培养类别", "项目")),
    Field("year", ("入学年份", "招生年份", "年份", "年度")),
    Field("applicants", ("报名人数", "申请人数", "生源")),
]

FILES = {
    "counties": "counties.csv",
    "teacher_needs": "teacher_needs.csv",
    "graduate_needs": "graduate_needs.csv",
    "applicants": "applicants.csv",
}


def parse_year(value: object) -> int:
    year = parse_count(value)
    if not 1990 <= year <= 2100:
        raise ValueError(f"'{clean_text(value)}' is not a year such as 2019")
    return year


def _read(path: Path, fields: list[Field], parsers: dict) -> pd.DataFrame:
    if not path.exists():
        raise FupinError(f"{path}: no such file; the planning data folder needs {path.name}")
    parsed, problems = parse_rows(read_table(path, fields), parsers)
    if problems:
        raise InputFileError(str(path), problems)
    records = [{"row": row.number, **values} for row, values in parsed]
    import pandas as pd  # here: the kindergarten planner and `fupin plan --help` do without it

    frame = pd.DataFrame.from_records(records, columns=["row", *parsers])
    frame.attrs["source"] = str(path)
    return frame


def _optional_capacity(value: object) -> int | None:
    return None if clean_text(value) == "" else parse_count(value)


def read_counties(path: Path | str) -> pd.DataFrame:
    """code, name, poverty (national/provincial/none), special_post_capacity (may be blank)."""
    return _read(Path(path), COUNTY_FIELDS, {
        "code": required_text, "name": required_text, "poverty": choice(POVERTY_ALIASES, "known poverty level"),
        "special_post_capacity": _optional_capacity})


def read_teacher_needs(path: Path | str) -> pd.DataFrame:
    return _read(Path(path), TEACHER_NEED_FIELDS, {
        "county": required_text, "stage": choice(STAGE_ALIASES, "known school stage"), "shortage": parse_count})


def read_graduate_needs(path: Path | str) -> pd.DataFrame:
    return _read(Path(path), GRADUATE_NEED_FIELDS, {
        "county": required_text, "programme": choice(PROGRAMME_ALIASES, "known programme"), "year": parse_year,
        "vacancies": parse_count})


def read_applicants(path: Path | str) -> pd.DataFrame:
    return _read(Path(path), APPLICANT_FIELDS, {
        "county": required_text, "programme": choice(PROGRAMME_ALIASES, "known programme"), "year": parse_year,
        "applicants": parse_count})


READERS = {"counties": read_counties, "teacher_needs": read_teacher_needs,
           "graduate_needs": read_graduate_needs, "applicants": read_applicants}


def read_data_dir(data_dir: Path | str, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FupinError(f"{data_dir}: no such folder; --data must be the folder holding "
                         + ", ".join(FILES[n] for n in names))
    missing = [FILES[n] for n in names if not table_file(data_dir, FILES[n]).exists()]
    if missing:
        raise FupinError(f"{data_dir}: missing file(s): {', '.join(missing)} (or the .xlsx of the same name)")
    return {n: READERS[n](table_file(data_dir, FILES[n])) for n in names}


@dataclass(frozen=True)
class Scenario:
    """The planner's choices; every field has the plan's default."""

    name: str = "default"
    description: str = ""
    total_posts: int = 400
    poverty_floor: int = 0
    weights: dict[str, int] = field(default_factory=lambda: {"national": 3, "provincial": 2, "none": 1})
    annual_intake: dict[str, int] = field(default_factory=lambda: {"primary": 200, "preschool": 100})
    years_of_study: dict[str, int] = field(default_factory=lambda: {"primary": 4, "preschool": 3})
    intake_years: tuple[int, ...] = (2018, 2019, 2020)
    surplus_penalty: int = 10

    @classmethod
    def from_yaml(cls, path: Path | str | None) -> "Scenario":
        if path is None:
            return cls()
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise FupinError(f"{path}: no such scenario file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise FupinError(f"{path}: cannot read the scenario file: {exc}") from None
        try:
            return cls.from_yaml_text(text)
        except FupinError as exc:
            raise FupinError(f"{path}: {exc}") from None

    @classmethod
    def from_yaml_text(cls, text: str) -> "Scenario":
        """The scenario a YAML text describes (empty: the defaults); bad YAML named by line and column."""
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise FupinError(f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
        return cls.from_dict({} if doc is None else doc)

    @classmethod
    def from_dict(cls, doc: object) -> "Scenario":
        """Defaults overridden by `doc`; unknown keys and wrong types are refused, all listed at once."""
        if not isinstance(doc, dict):
            raise FupinError("the scenario must be a mapping of keys to values (key: value)")
        base = cls()
        problems: list[str] = []
        known = [f for f in asdict(base)]
        for key in doc:
            if key not in known:
                problems.append(f"unknown key '{key}'; known keys: {', '.join(known)}")
        values = {}
        for key, value in doc.items():
            if key not in known:
                continue
            try:
                values[key] = _SCENARIO_PARSERS[key](value)
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
        if problems:
            raise FupinError("scenario problem(s):\n  " + "\n  ".join(problems))
        for key in ("weights", "annual_intake", "years_of_study"):
            if key in values:
                values[key] = {**getattr(base, key), **values[key]}
        return cls(**{**asdict(base), "intake_years": base.intake_years, **values})

    def as_dict(self) -> dict:
        doc = asdict(self)
        doc["intake_years"] = list(self.intake_years)
        return doc


def _int(value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not a whole number")
    if value < least:
        raise ValueError(f"{value} must be at least {least}")
    return value


def _mapping(keys: tuple[str, ...], least: int):
    def parse(value: object) -> dict[str, int]:
        if not isinstance(value, dict):
            raise ValueError(f"must be a mapping with keys {', '.join(keys)}")
        out = {}
        for k, v in value.items():
            if k not in keys:
                raise ValueError(f"unknown key '{k}'; use {', '.join(keys)}")
            out[k] = _int(v, least)
        return out
    return parse


def _string(value: object) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not text")
    return str(value)


def _years(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of years, e.g. [2018, 2019, 2020]")
    years = tuple(_int(v, 1990) for v in value)
    if len(set(years)) != len(years):
        raise ValueError("a year is listed twice")
    return tuple(sorted(years))


_SCENARIO_PARSERS = {
    "name": _string,
    "description": _string,
    "total_posts": lambda v: _int(v, 0),
    "poverty_floor": lambda v: _int(v, 0),
    "weights": _mapping(POVERTY, 1),
    "annual_intake": _mapping(PROGRAMMES, 0),
    "years_of_study": _mapping(PROGRAMMES, 1),
    "intake_years": _years,
    "surplus_penalty": lambda v: _int(v, 0),
}


class DataProblems:
    """Collects cross-file problems so that the planner sees all of them at once."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, frame: pd.DataFrame | None, row: object, text: str) -> None:
        source = frame.attrs.get("source", "") if frame is not None else ""
        where = f"row {int(row)}" if row is not None and row == row else ""
        prefix = ", ".join(p for p in (source, where) if p)
        self.lines.append(f"{prefix}: {text}" if prefix else text)

    def raise_if_any(self, what: str) -> None:
        if self.lines:
            raise FupinError(f"{what}: {len(self.lines)} problem(s), nothing was solved or written:\n  "
                             + "\n  ".join(self.lines))


def row_numbers(frame: pd.DataFrame) -> pd.Series:
    """The spreadsheet rows if the frame came from a file, else positions counted from 2."""
    if "row" in frame.columns:
        return frame["row"]
    import pandas as pd

    return pd.Series(range(2, len(frame) + 2), index=frame.index)


def county_lookup(counties: pd.DataFrame) -> dict[str, str]:
    """Code or name -> code, so needs files may name counties either way."""
    lookup = {}
    for code, name in zip(counties["code"], counties["name"]):
        lookup[str(name)] = str(code)
    for code in counties["code"]:
        lookup[str(code)] = str(code)
    return lookup


@dataclass(frozen=True)
class County:
    code: str
    name: str
    poverty: str
    special_post_capacity: int | None = None


def _is_count(value: object) -> bool:
    if isinstance(value, bool):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return number == number and number >= 0 and number.is_integer()


def check_counties(frame: pd.DataFrame, problems: DataProblems, need_capacity: bool) -> dict[str, County]:
    """Counties by code; duplicate codes or names, unknown poverty levels and bad capacities are problems."""
    for column in ("code", "name", "poverty"):
        if column not in frame.columns:
            problems.add(frame, None, f"counties: missing column '{column}'")
            return {}
    if need_capacity and "special_post_capacity" not in frame.columns:
        problems.add(frame, None, "counties: missing column 'special_post_capacity' (特岗容量)")
        return {}
    counties: dict[str, County] = {}
    seen_rows: dict[str, int] = {}
    for row, rec in zip(row_numbers(frame), frame.to_dict("records")):
        code, name = str(rec["code"]).strip(), str(rec["name"]).strip()
        for key in (code, name):
            if key in seen_rows:
                problems.add(frame, row, f"county '{key}' appears twice (also row {seen_rows[key]})")
        seen_rows.setdefault(code, row)
        seen_rows.setdefault(name, row)
        poverty = rec["poverty"]
        if poverty not in POVERTY:
            problems.add(frame, row, f"poverty '{poverty}' is not one of {', '.join(POVERTY)}")
        capacity = rec.get("special_post_capacity")
        if capacity is None or capacity != capacity:
            if need_capacity:
                problems.add(frame, row, f"county {code}: special_post_capacity is empty")
            capacity = None
        elif not _is_count(capacity):
            problems.add(frame, row, f"county {code}: special_post_capacity {capacity} is not a whole number >= 0")
            capacity = None
        else:
            capacity = int(capacity)
        counties.setdefault(code, County(code, name, str(poverty), capacity))
    if not counties:
        problems.add(frame, None, "counties: no counties listed")
    return counties


def check_keyed_counts(frame: pd.DataFrame, problems: DataProblems, lookup: dict[str, str],
                       keys: tuple[str, ...], allowed: dict[str, tuple], count: str) -> dict[tuple, int]:
    """{(county code, *keys): count}; unknown counties, unknown categories, negatives, duplicates are problems."""
    missing = [c for c in ("county", *keys, count) if c not in frame.columns]
    if missing:
        problems.add(frame, None, f"missing column(s): {', '.join(missing)}")
        return {}
    out: dict[tuple, int] = {}
    first_row: dict[tuple, object] = {}
    for row, rec in zip(row_numbers(frame), frame.to_dict("records")):
        county = lookup.get(str(rec["county"]).strip())
        bad = False
        if county is None:
            problems.add(frame, row, f"unknown county '{rec['county']}': it is not in counties.csv")
            bad = True
        for key in keys:
            if key in allowed and rec[key] not in allowed[key]:
                problems.add(frame, row, f"{key} '{rec[key]}' is not one of {', '.join(map(str, allowed[key]))}")
                bad = True
        value = rec[count]
        if not _is_count(value):
            problems.add(frame, row, f"{count} {value} is not a whole number >= 0"
                         + (" (it is negative)" if isinstance(value, (int, float)) and value < 0 else ""))
            bad = True
        if bad:
            continue
        key = (county, *(int(rec[k]) if k == "year" else rec[k] for k in keys))
        if key in out:
            problems.add(frame, row, f"duplicate row for {' / '.join(map(str, key))} (first at row {first_row[key]})")
            continue
        out[key] = int(value)
        first_row[key] = row
    return out
