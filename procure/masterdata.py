"""Institutions, canteens, suppliers, categories and packaging weights: loaded from files, by code."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.cells import (
    choice,
    is_blank,
    optional_text,
    parse_code,
    parse_bool,
    parse_optional_date,
    parse_positive_decimal,
    required_text,
)
from common.errors import FupinError, InputFileError, RowProblem
from common.tables import Field, Row, parse_rows, read_table
from db.models import (
    Canteen,
    Category,
    Eligibility,
    Institution,
    InstitutionKind,
    Operator,
    PackagingWeight,
    Supplier,
)

from . import audit
from .units import CANONICAL_UNITS, is_weight_unit, normalise_unit

parse_kind = choice({
    "university": InstitutionKind.UNIVERSITY, "大学": InstitutionKind.UNIVERSITY, "本科": InstitutionKind.UNIVERSITY,
    "普通高校": InstitutionKind.UNIVERSITY,
    "higher_vocational": InstitutionKind.HIGHER_VOCATIONAL, "高职": InstitutionKind.HIGHER_VOCATIONAL,
    "高职院校": InstitutionKind.HIGHER_VOCATIONAL, "高等职业院校": InstitutionKind.HIGHER_VOCATIONAL,
    "secondary_vocational": InstitutionKind.SECONDARY_VOCATIONAL, "中职": InstitutionKind.SECONDARY_VOCATIONAL,
    "中专": InstitutionKind.SECONDARY_VOCATIONAL, "中等职业学校": InstitutionKind.SECONDARY_VOCATIONAL,
}, "kind of institution")
parse_operator = choice({
    "self": Operator.SELF, "自营": Operator.SELF,
    "contractor": Operator.CONTRACTOR, "承包": Operator.CONTRACTOR, "外包": Operator.CONTRACTOR,
}, "canteen operator")
parse_eligibility = choice({
    "certified": Eligibility.CERTIFIED, "认定": Eligibility.CERTIFIED, "扶贫产品认定": Eligibility.CERTIFIED,
    "mall": Eligibility.MALL, "商城": Eligibility.MALL, "扶贫网": Eligibility.MALL, "爱心扶贫网": Eligibility.MALL,
    "village": Eligibility.VILLAGE, "帮扶村": Eligibility.VILLAGE, "定点帮扶村": Eligibility.VILLAGE,
    "none": Eligibility.NONE, "无": Eligibility.NONE, "否": Eligibility.NONE, "非扶贫": Eligibility.NONE,
}, "supplier eligibility")


@dataclass(frozen=True)
class MasterKind:
    name: str
    model: type
    key: str
    fields: list[Field]
    parsers: dict[str, Callable[[object], object]]


CODE = Field("code", ("代码", "编码", "编号"))
NAME = Field("name", ("名称", "名字"))

KINDS: dict[str, MasterKind] = {
    "institutions": MasterKind("institutions", Institution, "code",
        [CODE, NAME, Field("kind", ("类型", "类别", "院校类型"))],
        {"code": parse_code, "name": required_text, "kind": parse_kind}),
    "canteens": MasterKind("canteens", Canteen, "code",
        [CODE, Field("institution", ("院校", "学校", "院校代码")), NAME,
         Field("operator", ("经营方式", "经营"), required=False),
         Field("contractor", ("承包方", "承包商"), required=False)],
        {"code": parse_code, "institution": parse_code, "name": required_text, "operator": lambda v: None if is_blank(v) else parse_operator(v),
         "contractor": optional_text}),
    "suppliers": MasterKind("suppliers", Supplier, "code",
        [CODE, NAME, Field("eligibility", ("扶贫资格", "资格", "来源类型")),
         Field("certificate", ("证书编号", "认定证书", "证书号"), required=False),
         Field("county", ("认定县", "发证县", "市县"), required=False),
         Field("valid_from", ("有效期起", "生效日期"), required=False),
         Field("valid_to", ("有效期止", "失效日期"), required=False)],
        {"code": parse_code, "name": required_text, "eligibility": parse_eligibility, "certificate": optional_text,
         "county": optional_text, "valid_from": parse_optional_date, "valid_to": parse_optional_date}),
    "categories": MasterKind("categories", Category, "code",
        [CODE, NAME, Field("counts_toward_quota", ("计入比例", "是否计入", "计入"))],
        {"code": parse_code, "name": required_text, "counts_toward_quota": parse_bool}),
    "packaging": MasterKind("packaging", PackagingWeight, "product,unit",
        [Field("product", ("品名", "产品")), Field("unit", ("单位", "包装单位")),
         Field("kg_per_unit", ("kg", "每件公斤", "每单位公斤", "重量"))],
        {"product": required_text, "unit": required_text, "kg_per_unit": parse_positive_decimal}),
}


@dataclass
class MasterImportResult:
    kind: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[str] = field(default_factory=list)


def _parse_rows(kind: MasterKind, rows: list[Row]) -> tuple[list[tuple[Row, dict]], list[RowProblem]]:
    parsed, problems = parse_rows(rows, kind.parsers)
    fitting = []
    for row, values in parsed:
        for name in kind.parsers:
            values.setdefault(name, None)  # an optional column the file lacks
        too_long = _too_long(kind, row, values)
        problems += too_long or check_master_row(kind.name, row, values)
        if not too_long:
            fitting.append((row, values))
    return fitting, problems


def _too_long(kind: MasterKind, row: Row, values: dict) -> list[RowProblem]:
    """Text longer than its column (the schema's own limit), the same on SQLite and PostgreSQL."""
    out = []
    for name, value in values.items():
        column = kind.model.__table__.c.get(name)
        length = getattr(getattr(column, "type", None), "length", None)
        if isinstance(value, str) and length is not None and len(value) > length:
            out.append(RowProblem(row.number, row.columns[name],
                                  f"is {len(value):,} characters long; at most {length:,} fit: shorten it"))
    return out


def check_master_row(kind: str, row: Row, v: dict) -> list[RowProblem]:
    out = []
    if kind == "suppliers":
        if v["eligibility"] == Eligibility.CERTIFIED and not v["certificate"]:
            out.append(RowProblem(row.number, row.columns.get("certificate", "certificate"),
                                  "a certified supplier needs its certificate number (证书编号)"))
        if v["valid_from"] and v["valid_to"] and v["valid_from"] > v["valid_to"]:
            out.append(RowProblem(row.number, row.columns["valid_to"],
                                  f"valid_to {v['valid_to']} is before valid_from {v['valid_from']}"))
    if kind == "canteens":
        if v["operator"] is None:
            v["operator"] = Operator.CONTRACTOR if v["contractor"] else Operator.SELF
        if v["operator"] == Operator.CONTRACTOR and not v["contractor"]:
            out.append(RowProblem(row.number, row.columns.get("contractor", "contractor"),
                                  "a contractor-run canteen needs the contractor's name (承包方)"))
    if kind == "packaging":
        if is_weight_unit(v["unit"]):
            out.append(RowProblem(row.number, row.columns["unit"],
                                  f"'{v['unit']}' is already a weight unit ({CANONICAL_UNITS}); list only packaging units here"))
        v["unit"] = normalise_unit(v["unit"])
        v["kg_per_unit"] = str(v["kg_per_unit"].normalize())
    return out


def import_master(session: Session, kind_name: str, path: Path | str, actor: str) -> MasterImportResult:
    """Load or update master data of one kind from a CSV/XLSX file; all rows or none."""
    if kind_name not in KINDS:
        raise FupinError(f"unknown kind '{kind_name}': use one of {', '.join(KINDS)}")
    kind = KINDS[kind_name]
    rows = read_table(path, kind.fields)
    parsed, problems = _parse_rows(kind, rows)
    key_fields = kind.key.split(",")
    seen: dict[tuple, int] = {}
    for row, values in parsed:
        key = tuple(values[k] for k in key_fields)
        if key in seen:
            problems.append(RowProblem(row.number, row.columns[key_fields[0]],
                                       f"{'/'.join(map(str, key))} also on row {seen[key]}"))
        seen.setdefault(key, row.number)
    if kind_name == "canteens":
        institutions = {i.code: i for i in session.scalars(select(Institution))}
        for row, values in parsed:
            inst = institutions.get(values["institution"])
            if inst is None:
                problems.append(RowProblem(row.number, row.columns["institution"],
                                           f"unknown institution '{values['institution']}': import institutions first"))
            values["institution_id"] = inst.id if inst else None
            del values["institution"]
    if not parsed and not problems:
        raise FupinError(f"{path}: no rows under the header: nothing to import")
    if problems:
        raise InputFileError(str(path), sorted(problems, key=lambda p: p.row))

    existing = {tuple(getattr(o, k) for k in key_fields): o for o in session.scalars(select(kind.model))}
    result = MasterImportResult(kind_name)
    for row, values in parsed:
        key = tuple(values[k] for k in key_fields)
        obj = existing.get(key)
        if obj is None:
            session.add(kind.model(**values))
            audit.record(session, actor, "add", kind_name, "/".join(key), {"values": values})
            result.added += 1
            continue
        diff = {k: (getattr(obj, k), v) for k, v in values.items() if getattr(obj, k) != v}
        if not diff:
            result.unchanged += 1
            continue
        for k, (_, new) in diff.items():
            setattr(obj, k, new)
        audit.record(session, actor, "update", kind_name, "/".join(key),
                     {k: {"old": old, "new": new} for k, (old, new) in diff.items()})
        result.updated += 1
        result.changes.append(f"{'/'.join(key)}: " + ", ".join(f"{k} {old} → {new}" for k, (old, new) in diff.items()))
    session.flush()
    return result


def packaging_weights(session: Session) -> dict[tuple[str, str], Decimal]:
    return {(p.product, p.unit): Decimal(p.kg_per_unit) for p in session.scalars(select(PackagingWeight))}
