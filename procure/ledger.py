"""The purchase ledger: log, import, void, month close and reopen. Nothing is ever deleted."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, aliased

from common.cells import (
    check_text,
    clean_text,
    is_blank,
    month_label,
    parse_date,
    parse_decimal,
    parse_money_fen,
    parse_month,
    optional_text,
    parse_positive_decimal,
    required,
    visible,
)
from common.errors import FupinError, InputFileError, RowProblem
from common.tables import Field, Row, read_table
from db import chain
from db.models import (
    Canteen,
    Category,
    ImportBatch,
    MonthClose,
    PackagingWeight,
    Purchase,
    Supplier,
    utcnow,
)

from . import audit
from .masterdata import check_master_row, packaging_weights
from .rules import LineLimits, eligible_on
from .units import FEN_PER_YUAN, CANONICAL_UNITS, KG_PER_UNIT, normalise_unit, to_mg

PURCHASE_FIELDS = [
    Field("date", ("日期", "采购日期")),
    Field("canteen", ("食堂", "食堂代码")),
    Field("supplier", ("供应商", "供应商代码")),
    Field("category", ("品类", "类别")),
    Field("product", ("品名", "产品", "商品")),
    Field("quantity", ("数量",)),
    Field("unit", ("单位",)),
    Field("amount", ("金额", "金额(元)", "金额（元）")),
    Field("ref", ("单号", "发票号", "订单号")),
    Field("line", ("行号",), required=False),
    Field("note", ("备注",), required=False),
]
PURCHASE_FIELD_NAMES = [f.name for f in PURCHASE_FIELDS]
# The schema's own limits: a text longer than its column is refused here, with its row and column,
# the same on SQLite (which would store it) and PostgreSQL (which would refuse it without either).
_LENGTH = {name: Purchase.__table__.c[name].type.length for name in ("product", "unit", "ref", "note", "quantity")}
# Fields compared when the same (supplier, ref, line) arrives again.
_SAME_LINE = ("purchase_date", "canteen_id", "category_id", "product", "qty_mg", "amount_fen")
_KEY_CHUNK = 900


@dataclass
class ImportResult:
    added: list[dict] = field(default_factory=list)
    already_present: list[tuple[int | None, int]] = field(default_factory=list)  # (row, entry id)
    batch_id: int | None = None
    ids: list[int] = field(default_factory=list)
    # Lines accepted but not counted: a supplier whose status did not cover the purchase date.
    notices: list[RowProblem] = field(default_factory=list)

    @property
    def added_mg(self) -> int:
        return sum(a["qty_mg"] for a in self.added)

    @property
    def added_fen(self) -> int:
        return sum(a["amount_fen"] for a in self.added)


class _Directory:
    """Canteens, suppliers and categories found by code or by an unambiguous name."""

    def __init__(self, session: Session, model: type, what: str, listing: str):
        self.what, self.listing = what, listing
        self.by_code = {o.code: o for o in session.scalars(select(model))}
        self.by_name: dict[str, list] = {}
        for o in self.by_code.values():
            self.by_name.setdefault(o.name, []).append(o)

    def find(self, text: str):
        if text in self.by_code:
            return self.by_code[text]
        named = self.by_name.get(text, [])
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            codes = ", ".join(o.code for o in named)
            raise ValueError(f"{self.what} name '{text}' is shared by {codes}: use the code")
        if not text:
            raise ValueError(f"is empty: enter the {self.what} code")
        near = difflib.get_close_matches(text, list(self.by_code) + list(self.by_name), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise ValueError(f"unknown {self.what} '{text}'{hint}: see `{self.listing}`")


class _LineParser:
    """Turns raw purchase rows into ledger values, collecting every problem."""

    def __init__(self, session: Session, today: dt.date, limits: LineLimits | None = None):
        self.today = today
        self.limits = limits or LineLimits.from_env()
        self.canteens = _Directory(session, Canteen, "canteen", "fupin procure list canteens")
        self.suppliers = _Directory(session, Supplier, "supplier", "fupin procure list suppliers")
        self.categories = _Directory(session, Category, "category", "fupin procure list categories")
        self.packaging = packaging_weights(session)
        self.closed = set(session.scalars(select(MonthClose.month).where(MonthClose.closed)))
        self.notices: dict[int | None, RowProblem] = {}
        self._dates: dict[object, dt.date] = {}

    def _date(self, raw: object) -> dt.date:
        key = raw if isinstance(raw, (str, int, float, dt.date)) else str(raw)
        day = self._dates.get(key)
        if day is None:
            day = self._dates[key] = parse_date(raw)
        return day

    def parse(self, row: Row) -> tuple[dict | None, list[RowProblem]]:
        """The row's ledger values, or None and every problem found in it."""
        problems: list[RowProblem] = []
        cells = self._cells(row, problems)
        if cells["date"] is not None:
            self._check_date(row, cells["date"], problems)
        qty_mg = self._mass(row, cells, problems)
        if problems:
            return None, problems
        return self._values(row, cells, qty_mg), []

    def _cells(self, row: Row, problems: list[RowProblem]) -> dict:
        """Each cell through its parser; a cell that does not parse is None and a problem."""
        parsers = {
            "date": self._date,
            "canteen": lambda x: self.canteens.find(check_text(clean_text(x))),
            "supplier": lambda x: self.suppliers.find(check_text(clean_text(x))),
            "category": lambda x: self.categories.find(check_text(clean_text(x))),
            "product": required("product name (品名)", _LENGTH["product"]),
            "quantity": self._quantity,
            "unit": required(f"unit ({CANONICAL_UNITS})", _LENGTH["unit"]),
            "amount": self._amount,
            "ref": required("invoice or mall order number (单号)", _LENGTH["ref"]),
            "line": _line_number,
            "note": lambda x: optional_text(x, _LENGTH["note"], multiline=True),
        }
        cells: dict = {}
        for name, parse in parsers.items():
            try:
                cells[name] = parse(row.values.get(name))
            except ValueError as exc:
                problems.append(RowProblem(row.number, row.columns.get(name, name), str(exc)))
                cells[name] = None
        return cells

    def _quantity(self, value: object) -> Decimal:
        quantity = parse_positive_decimal(value)
        check_text(str(quantity), _LENGTH["quantity"])  # kept as entered, exactly
        return quantity

    def _amount(self, value: object) -> int:
        fen = parse_money_fen(value)
        if fen > self.limits.max_yuan * FEN_PER_YUAN:
            raise ValueError(f"'{visible(clean_text(value))}' yuan is more than one purchase line can hold "
                             f"(¥{self.limits.max_yuan:,}): check the amount (the limit is FUPIN_MAX_LINE_YUAN)")
        return fen

    def _check_date(self, row: Row, day: dt.date, problems: list[RowProblem]) -> None:
        """Not before the earliest date, not in the future, not in a closed month."""
        if day < self.limits.earliest_date:
            problems.append(RowProblem(row.number, row.columns["date"],
                                       f"{day} is before {self.limits.earliest_date}: check the year "
                                       "(the earliest date is FUPIN_EARLIEST_DATE)"))
        elif day > self.today:
            problems.append(RowProblem(row.number, row.columns["date"], f"{day} is in the future"))
        elif month_label(day) in self.closed:
            problems.append(RowProblem(row.number, row.columns["date"],
                                       f"month {month_label(day)} is closed: ask for it to be reopened "
                                       f"(fupin procure reopen --month {month_label(day)} --reason ...)"))

    def _mass(self, row: Row, cells: dict, problems: list[RowProblem]) -> int | None:
        """Quantity x the unit's (or the product's packaging) weight, in exact milligrams."""
        product, quantity, unit = cells["product"], cells["quantity"], cells["unit"]
        if unit is None or product is None or quantity is None:
            return None
        kg_per_unit = KG_PER_UNIT.get(normalise_unit(unit)) or self.packaging.get((product, normalise_unit(unit)))
        if kg_per_unit is None:
            problems.append(RowProblem(row.number, row.columns["unit"],
                                       f"unknown unit '{unit}' for '{product}': use {CANONICAL_UNITS}, or define "
                                       f"its weight: fupin procure unit-weight '{product}' '{unit}' KG"))
            return None
        if quantity * kg_per_unit > self.limits.max_kg:
            problems.append(RowProblem(row.number, row.columns["quantity"],
                                       f"{quantity} {unit} is {quantity * kg_per_unit:,} kg, more than one purchase "
                                       f"line can hold ({self.limits.max_kg:,} kg): check the quantity and the unit "
                                       "(the limit is FUPIN_MAX_LINE_KG)"))
            return None
        try:
            return to_mg(quantity, kg_per_unit)
        except ValueError as exc:
            problems.append(RowProblem(row.number, row.columns["quantity"], f"'{quantity}' {exc}"))
            return None

    def _values(self, row: Row, cells: dict, qty_mg: int) -> dict:
        """The ledger row, with eligibility judged on the purchase date (and a notice when it does not count)."""
        supplier, day = cells["supplier"], cells["date"]
        is_pa = eligible_on(supplier.eligibility, supplier.valid_from, supplier.valid_to, day)
        if not is_pa and supplier.eligibility != "none":
            period = f"{supplier.valid_from or '…'} to {supplier.valid_to or '…'}"
            self.notices[row.number] = RowProblem(
                row.number, row.columns["supplier"],
                f"{supplier.code} is '{supplier.eligibility}' only from {period}, not on {day}: "
                "the line is recorded but does not count toward the quota")
        return dict(
            qty_mg=qty_mg, purchase_date=day, canteen_id=cells["canteen"].id, supplier_id=supplier.id,
            category_id=cells["category"].id, product=cells["product"], quantity=str(cells["quantity"]),
            unit=cells["unit"], amount_fen=cells["amount"], ref=cells["ref"], line=cells["line"], is_pa=is_pa,
            pa_source=supplier.eligibility if is_pa else "none",
            pa_certificate=supplier.certificate if is_pa else None, note=cells["note"],
        )


def _line_number(value: object) -> int:
    if is_blank(value):
        return 1
    number = parse_decimal(value)
    if number != number.to_integral_value() or not 1 <= number <= LineLimits.MAX_LINE_NUMBER:
        raise ValueError(f"'{visible(clean_text(value))}' is not a line number (1, 2, 3 ...)")
    return int(number)


def _live_entries(session: Session, keys: set[tuple[int, str, int]]) -> dict[tuple, list]:
    """Entries under each (supplier, ref, line), with the id of the entry that voided each, if any."""
    found: dict[tuple, list] = {}
    reversal = aliased(Purchase)
    refs = sorted({r for _, r, _ in keys})
    for i in range(0, len(refs), _KEY_CHUNK):
        # By ref alone, which leads the unique index; plain column rows, not ORM objects, since
        # a re-import of a large file reads every line back.
        q = (select(Purchase.id, Purchase.supplier_id, Purchase.ref, Purchase.line,
                    *(getattr(Purchase, f) for f in _SAME_LINE), reversal.id.label("reversed_by"))
             .outerjoin(reversal, reversal.reverses_id == Purchase.id)
             .where(Purchase.key_seq.is_not(None), Purchase.ref.in_(refs[i:i + _KEY_CHUNK])))
        for p in session.execute(q):
            key = (p.supplier_id, p.ref, p.line)
            if key in keys:
                found.setdefault(key, []).append((p, p.reversed_by))
    return found


def _prepare(session: Session, rows: Iterable[Row], source: str, today: dt.date,
             many_lines_hint: bool) -> tuple[ImportResult, list[dict]]:
    parser = _LineParser(session, today)
    problems: list[RowProblem] = []
    lines: list[tuple[Row, dict]] = []
    first_row: dict[tuple, int | None] = {}
    for row in rows:
        values, row_problems = parser.parse(row)
        problems += row_problems
        if values is None:
            continue
        key = (values["supplier_id"], values["ref"], values["line"])
        if key in first_row:
            hint = "" if many_lines_hint else " (if the invoice has several lines, add a 'line' (行号) column numbering them)"
            problems.append(RowProblem(row.number, row.columns["ref"],
                                       f"ref '{values['ref']}' line {values['line']} of this supplier is also on row "
                                       f"{first_row[key]}{hint}"))
            continue
        first_row[key] = row.number
        lines.append((row, values))
    existing = _live_entries(session, set(first_row)) if lines else {}
    result = ImportResult()
    to_add: list[dict] = []
    for row, values in lines:
        key = (values["supplier_id"], values["ref"], values["line"])
        entries = existing.get(key, [])
        live = [p for p, reversed_by in entries if reversed_by is None]
        if live:
            p = live[0]
            diff = [f for f in _SAME_LINE if getattr(p, f) != values[f]]
            if not diff:
                result.already_present.append((row.number, p.id))
                continue
            problems.append(RowProblem(row.number, row.columns["ref"],
                                       f"ref '{values['ref']}' line {values['line']} is already entry #{p.id} with "
                                       f"different {', '.join(diff)}; to correct it, void #{p.id} "
                                       f"(fupin procure void {p.id} --reason ...) and enter the line again"))
            continue
        values["key_seq"] = len(entries) + 1
        to_add.append(values)
        if row.number in parser.notices:
            result.notices.append(parser.notices[row.number])
    if problems:
        raise InputFileError(source, sorted(problems, key=lambda p: (p.row or 0)))
    result.added = to_add
    return result, to_add


def _insert(session: Session, lines: list[dict], actor: str, batch_id: int | None) -> None:
    now = utcnow()
    for values in lines:
        values.update(created_by=actor, created_at=now, batch_id=batch_id, reverses_id=None)
        values["row_hash"] = chain.row_hash_if_complete("purchases", values)  # spares the seal a re-read
    # A plain executemany: RETURNING with many rows is quadratic in SQLAlchemy's batching.
    session.connection().execute(insert(Purchase.__table__), lines)


def import_purchases(session: Session, path: Path | str, actor: str, dry_run: bool = False,
                     today: dt.date | None = None) -> ImportResult:
    """All-or-nothing, idempotent import of a CSV/XLSX purchase file."""
    path = Path(path)
    raw = read_table(path, PURCHASE_FIELDS)
    if not raw:
        raise FupinError(f"{path}: no purchase lines under the header: nothing to import")
    has_line_column = "line" in raw[0].columns
    result, to_add = _prepare(session, raw, str(path), today or dt.date.today(), has_line_column)
    if dry_run or not to_add:
        return result
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    batch = ImportBatch(file_name=path.name, file_sha256=digest, lines_added=len(to_add), imported_by=actor)
    session.add(batch)
    session.flush()
    result.batch_id = batch.id
    _insert(session, to_add, actor, batch.id)
    result.ids = list(session.scalars(select(Purchase.id).where(Purchase.batch_id == batch.id).order_by(Purchase.id)))
    audit.record(session, actor, "import", "import_batch", batch.id,
                 {"file": path.name, "sha256": digest, "lines_added": len(to_add),
                  "already_present": len(result.already_present),
                  "first_id": min(result.ids), "last_id": max(result.ids)})
    return result


def import_lines(session: Session, lines: list[dict], actor: str, source: str, dry_run: bool = False,
                 today: dt.date | None = None) -> ImportResult:
    """All-or-nothing import of lines given as field -> value (the JSON API): row = 1-based position."""
    if not lines:
        raise FupinError(f"{source}: no purchase lines: nothing to import")
    rows = [Row(number=i, values=dict(line), columns={name: name for name in PURCHASE_FIELD_NAMES})
            for i, line in enumerate(lines, start=1)]
    result, to_add = _prepare(session, rows, source, today or dt.date.today(), True)
    if dry_run or not to_add:
        return result
    batch = ImportBatch(file_name=source[:500], file_sha256="", lines_added=len(to_add), imported_by=actor)
    session.add(batch)
    session.flush()
    result.batch_id = batch.id
    _insert(session, to_add, actor, batch.id)
    result.ids = list(session.scalars(select(Purchase.id).where(Purchase.batch_id == batch.id).order_by(Purchase.id)))
    audit.record(session, actor, "import", "import_batch", batch.id,
                 {"source": source, "lines_added": len(to_add), "already_present": len(result.already_present),
                  "first_id": min(result.ids), "last_id": max(result.ids)})
    return result


def canteens_named(session: Session, rows: list[Row]) -> list[tuple[Row, int]]:
    """(row, canteen id) for each row whose canteen cell names a known canteen (code or unique name)."""
    directory = _Directory(session, Canteen, "canteen", "fupin procure list canteens")
    out = []
    for row in rows:
        try:
            out.append((row, directory.find(clean_text(row.values.get("canteen"))).id))
        except ValueError:
            continue  # the import itself reports it
    return out


def log_purchase(session: Session, actor: str, today: dt.date | None = None, **fields: object) -> ImportResult:
    """One purchase from the command line; the same checks as an import."""
    columns = {name: f"--{name}" for name in fields}
    row = Row(number=None, values=dict(fields), columns=columns)
    result, to_add = _prepare(session, [row], "fupin procure log", today or dt.date.today(), True)
    if to_add:
        entry = Purchase(**to_add[0], created_by=actor)
        session.add(entry)
        session.flush()
        result.ids = [entry.id]
        audit.record(session, actor, "log", "purchase", result.ids[0],
                     {k: v for k, v in to_add[0].items() if k not in ("created_at",)})
    return result


def _require_open(session: Session, day: dt.date) -> None:
    label = month_label(day)
    if session.scalar(select(MonthClose.closed).where(MonthClose.month == label)):
        raise FupinError(f"month {label} is closed: reopen it first (fupin procure reopen --month {label} --reason ...)")


def void_entry(session: Session, entry_id: int, reason: str, actor: str) -> Purchase:
    """Record a reversing entry for `entry_id`; the original stays in the ledger."""
    if not reason or not reason.strip():
        raise FupinError("a void needs a reason: --reason '...'")
    original = session.get(Purchase, entry_id)
    if original is None:
        raise FupinError(f"no ledger entry #{entry_id}: see `fupin procure entries --month YYYY-MM`")
    if original.reverses_id is not None:
        raise FupinError(f"entry #{entry_id} is itself the void of #{original.reverses_id}; "
                         "enter the line again instead")
    already = session.scalar(select(Purchase.id).where(Purchase.reverses_id == entry_id))
    if already is not None:
        raise FupinError(f"entry #{entry_id} was already voided by entry #{already}")
    _require_open(session, original.purchase_date)
    reversal = Purchase(
        purchase_date=original.purchase_date, canteen_id=original.canteen_id, supplier_id=original.supplier_id,
        category_id=original.category_id, product=original.product, quantity=f"-{original.quantity}",
        unit=original.unit, qty_mg=-original.qty_mg, amount_fen=-original.amount_fen, ref=original.ref,
        line=original.line, key_seq=None, is_pa=original.is_pa, pa_source=original.pa_source,
        pa_certificate=original.pa_certificate, reverses_id=original.id, note=reason.strip(), created_by=actor,
    )
    session.add(reversal)
    session.flush()
    audit.record(session, actor, "void", "purchase", entry_id, {"reversal_id": reversal.id}, reason.strip())
    return reversal


def close_month(session: Session, month: str, actor: str) -> None:
    label = month_label(parse_month(month))
    state = session.get(MonthClose, label)
    if state is not None and state.closed:
        raise FupinError(f"month {label} is already closed (by {state.changed_by} at {state.changed_at:%Y-%m-%d %H:%M})")
    if state is None:
        session.add(MonthClose(month=label, closed=True, changed_by=actor))
    else:
        state.closed, state.changed_by, state.changed_at = True, actor, utcnow()
    audit.record(session, actor, "close", "month", label)


def reopen_month(session: Session, month: str, reason: str, actor: str) -> None:
    label = month_label(parse_month(month))
    if not reason or not reason.strip():
        raise FupinError("reopening a month needs a reason: --reason '...'")
    state = session.get(MonthClose, label)
    if state is None or not state.closed:
        raise FupinError(f"month {label} is not closed")
    state.closed, state.changed_by, state.changed_at = False, actor, utcnow()
    audit.record(session, actor, "reopen", "month", label, reason=reason.strip())


def set_unit_weight(session: Session, product: str, unit: str, kg: str, actor: str) -> None:
    """Define (or change) how many kg one packaging unit of a product weighs."""
    try:
        weight = parse_positive_decimal(kg)
    except ValueError as exc:
        raise FupinError(f"--kg {exc}") from None
    try:
        values = {"product": check_text(clean_text(product), _LENGTH["product"]),
                  "unit": check_text(clean_text(unit), _LENGTH["unit"]), "kg_per_unit": weight}
    except ValueError as exc:
        raise FupinError(f"PRODUCT or UNIT {exc}") from None
    problems = check_master_row("packaging", Row(None, values, {"unit": "UNIT"}), values)
    if problems or not values["product"]:
        raise FupinError(str(problems[0]) if problems else "the product name is empty")
    obj = session.scalar(select(PackagingWeight).where(PackagingWeight.product == values["product"],
                                                       PackagingWeight.unit == values["unit"]))
    old = obj.kg_per_unit if obj else None
    if obj is None:
        session.add(PackagingWeight(**values))
    else:
        obj.kg_per_unit = values["kg_per_unit"]
    audit.record(session, actor, "add" if old is None else "update", "packaging",
                 f"{values['product']}/{values['unit']}", {"old": old, "new": values["kg_per_unit"]})
