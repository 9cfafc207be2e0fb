"""The purchase ledger: log, import, void, month close and reopen. Nothing is ever deleted."""

from __future__ import annotations

import bisect
import datetime as dt
import difflib
import gc
import hashlib
import heapq
import itertools
import operator
from array import array
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from common.cells import (
    UNSURE,
    check_text,
    clean_text,
    is_blank,
    month_label,
    optional_text,
    parse_date,
    parse_decimal,
    parse_money_fen,
    parse_month,
    parse_positive_decimal,
    plain_money_fen,
    plain_texts,
    required,
    visible,
)
from common.errors import FupinError, InputFileError, ProblemList, RowProblem
from common.helper_process import HelperProcess, Inbox
from common.tables import Chunk, Field, Row, TableReader
from db import bulk, chain
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
from .rules import BULK_IMPORT, LineLimits, eligible_on
from .units import CANONICAL_UNITS, FEN_PER_YUAN, KG_PER_UNIT, normalise_unit, to_mg

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


@dataclass
class ImportResult:
    """What an import or a logged line did. A large file's result keeps the first lines' values
    (`KEPT` of each list) and counts and sums them all: a million dicts would not fit in memory."""

    added: list[dict] = field(default_factory=list)
    already_present: list[tuple[int | None, int]] = field(default_factory=list)  # (row, entry id)
    batch_id: int | None = None
    ids: Sequence[int] = ()  # the new entries' ids, consecutive
    # Lines accepted but not counted: a supplier whose status did not cover the purchase date.
    notices: list[RowProblem] = field(default_factory=list)
    lines_added: int = 0
    lines_present: int = 0
    notice_count: int = 0
    added_mg: int = 0
    added_fen: int = 0

    KEPT = 1_000

    def _add(self, lines: list[tuple], rows: list[int | None], notices: list[str | None], column: str) -> None:
        self.lines_added += len(lines)
        self.added_mg += sum(map(_at(LINE.index("qty_mg")), lines))
        self.added_fen += sum(map(_at(LINE.index("amount_fen")), lines))
        self.added += [_values(line) for line in lines[:self.KEPT - len(self.added)]]
        for row, notice in zip(rows, notices):
            if notice is not None:
                self.notice_count += 1
                if len(self.notices) < self.KEPT:
                    self.notices.append(RowProblem(row, column, notice))

    def _present_many(self, rows: list[int], entry_ids: list[int]) -> None:
        """Lines already present (rows as stored: -1 for none)."""
        self.lines_present += len(entry_ids)
        room = self.KEPT - len(self.already_present)
        if room > 0:
            self.already_present += [(_row_number(r), e) for r, e in zip(rows[:room], entry_ids[:room])]

    def _present(self, row: int | None, entry_id: int) -> None:
        self.lines_present += 1
        if len(self.already_present) < self.KEPT:
            self.already_present.append((row, entry_id))


class _Known:
    """A master row's columns, read once: no session behind it, so a helper process can be given it."""

    def __init__(self, obj: object, names: Iterable[str]):
        self.__dict__.update((name, getattr(obj, name)) for name in names)


class _Directory:
    """Canteens, suppliers and categories found by code or by an unambiguous name."""

    def __init__(self, session: Session, model: type, what: str, listing: str):
        self.what, self.listing = what, listing
        names = [c.key for c in sa_inspect(model).column_attrs]
        self.by_code = {o.code: _Known(o, names) for o in session.scalars(select(model))}
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


# A parsed line as the database is handed it (dates as ISO text, is_pa as 0/1), in this order; key_seq
# is 1 unless voided entries came before under the same (supplier, ref, line).
LINE = ("purchase_date", "canteen_id", "supplier_id", "category_id", "product", "quantity", "unit", "qty_mg",
        "amount_fen", "ref", "line", "is_pa", "pa_source", "pa_certificate", "note", "key_seq")
_KEY = (LINE.index("supplier_id"), LINE.index("ref"), LINE.index("line"))
_key_of = operator.itemgetter(*_KEY)
# The order of a row's problems: its cells in field order, then its date, then its mass.
_STEP = {f.name: i for i, f in enumerate(PURCHASE_FIELDS)} | {"day": len(PURCHASE_FIELDS), "mass": len(PURCHASE_FIELDS) + 1}


class _Problem(ValueError):
    """A line's problem found after its cells parsed: in which field, and why."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field_name = field_name


class _Memo(dict):
    """A cell parser's answer for each distinct text cell, found once: a column of a million cells
    holds a few hundred dates or suppliers. A cell that does not parse is remembered as its error."""

    def __init__(self, parse: Callable[[object], object]):
        super().__init__()
        self.parse = parse

    def __missing__(self, cell: object) -> object:
        if len(self) > 100_000:
            self.clear()
        try:
            answer = self.parse(cell)
        except ValueError as exc:
            answer = exc
        self[cell] = answer
        return answer

    def column(self, cells: Sequence[object]) -> list:
        # Only text is remembered: 1, 1.0 and True are equal as keys but not as cells.
        if all(c.__class__ is str for c in set(cells)):
            return list(map(self.__getitem__, cells))
        parse = self.parse
        return [self[c] if c.__class__ is str else _attempt(parse, c) for c in cells]


class _Derived(dict):
    """A rule's answer for each distinct combination of parsed values (a date, a supplier and a day ...)."""

    def __init__(self, rule: Callable[..., object]):
        super().__init__()
        self.rule = rule

    def __missing__(self, key: tuple) -> object:
        if len(self) > 100_000:
            self.clear()
        answer = self[key] = None if None in key else _attempt(lambda k: self.rule(*k), key)
        return answer

    def map(self, keys: Iterable[tuple]) -> list:
        return list(map(self.__getitem__, keys))


_FLIP = bytes([1, 0]) + bytes(254)  # bytearray.translate table: a row's "bad" flag into its "keep" flag
_first = operator.itemgetter(0)
_last = operator.itemgetter(-1)


def _grouped(found: list[tuple]) -> Iterator[tuple[int, list[tuple]]]:
    for idx, group in itertools.groupby(found, key=_first):
        yield idx, [r[1:] for r in group]


def _at(i: int) -> Callable:
    return operator.itemgetter(i)


def _doubtful(values: list) -> bool:
    """Whether a column holds a cell left to the cell parser or one that did not parse."""
    return any(kind is object or issubclass(kind, ValueError) for kind in set(map(type, values)))


def _attempt(parse: Callable[[object], object], cell: object) -> object:
    try:
        return parse(cell)
    except ValueError as exc:
        return exc


class _LineParser:
    """Turns raw purchase rows into ledger values, collecting every problem.

    There is one parser of a cell's meaning: `_cell_parsers`. A row (`parse`) goes through it cell by
    cell; a chunk of rows (`parse_chunk`) goes column by column, remembering the answer for each
    distinct cell, and reads the plain forms of amounts and text directly, handing every other cell
    to the same cell parser, so that each message, row and column is the same either way."""

    def __init__(self, session: Session, today: dt.date, limits: LineLimits | None = None):
        self.today = today
        self.limits = limits or LineLimits.from_env()
        self.canteens = _Directory(session, Canteen, "canteen", "fupin procure list canteens")
        self.suppliers = _Directory(session, Supplier, "supplier", "fupin procure list suppliers")
        self.categories = _Directory(session, Category, "category", "fupin procure list categories")
        self.packaging = packaging_weights(session)
        self.closed = set(session.scalars(select(MonthClose.month).where(MonthClose.closed)))
        self._prepare()

    _GIVEN = ("today", "limits", "canteens", "suppliers", "categories", "packaging", "closed")

    def __getstate__(self) -> dict:
        """What a helper process needs to parse as this parser does (its remembered answers are rebuilt)."""
        return {name: getattr(self, name) for name in self._GIVEN}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._prepare()

    def _prepare(self) -> None:
        # Each object's id, read once: an attribute lookup costs a tenth of a microsecond a row.
        self._id = {o: o.id for d in (self.canteens, self.suppliers, self.categories) for o in d.by_code.values()}
        self._cell = self._cell_parsers()
        self._memos = {name: _Memo(self._cell[name]) for name in self._cell if name not in ("amount", "ref", "note")}
        # The quantity is kept as entered: "60.0" and "60" are the same Decimal but not the same text.
        self._memos["quantity"] = _Memo(lambda cell: str(self._quantity(cell)))
        self._days = _Derived(self._check_date)
        self._masses = _Derived(lambda product, quantity, unit: self._mass(product, Decimal(quantity), unit))
        self._standing = _Derived(lambda supplier, day: (day.isoformat(), *self._eligibility(supplier, day)))

    def _cell_parsers(self) -> dict[str, Callable[[object], object]]:
        return {
            "date": parse_date,
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

    # -- a row, cell by cell ------------------------------------------------------------------

    def parse(self, row: Row) -> tuple[tuple | None, str | None, list[RowProblem]]:
        """The row's line (in LINE order) and its notice, or None and every problem found in it."""
        problems: list[RowProblem] = []
        cells: dict = {}
        for name, parse in self._cell.items():
            try:
                cells[name] = parse(row.values.get(name))
            except ValueError as exc:
                problems.append(RowProblem(row.number, row.columns.get(name, name), str(exc)))
                cells[name] = None
        try:
            if cells["date"] is not None:
                self._check_date(cells["date"])
        except _Problem as exc:
            problems.append(RowProblem(row.number, row.columns[exc.field_name], str(exc)))
        mg = None
        if cells["product"] is not None and cells["quantity"] is not None and cells["unit"] is not None:
            try:
                mg = self._mass(cells["product"], cells["quantity"], cells["unit"])
            except _Problem as exc:
                problems.append(RowProblem(row.number, row.columns[exc.field_name], str(exc)))
        if problems:
            return None, None, problems
        supplier, day = cells["supplier"], cells["date"]
        is_pa, source, certificate, notice = self._eligibility(supplier, day)
        line = (day.isoformat(), cells["canteen"].id, supplier.id, cells["category"].id, cells["product"],
                str(cells["quantity"]), cells["unit"], mg, cells["amount"], cells["ref"], cells["line"], is_pa, source,
                certificate, cells["note"], 1)
        return line, notice, []

    # -- a chunk, column by column -------------------------------------------------------------

    def parse_chunk(self, chunk: Chunk) -> tuple[list[tuple], list[int | None], list[str | None], list[RowProblem]]:
        """The chunk's good lines (in LINE order), their row numbers and notices, and every problem
        of the others, in row order and within a row in the order `parse` finds them."""
        n, numbers, columns = len(chunk), chunk.numbers, chunk.columns
        found: list[tuple[int, int, RowProblem]] = []
        bad = bytearray(n)
        cells: dict[str, list] = {}
        for name, parse in self._cell.items():
            raw = chunk.cells.get(name) or [None] * n
            if name == "amount":
                values = plain_money_fen(raw, self.limits.max_yuan * FEN_PER_YUAN)
            elif name in ("ref", "note"):
                values = plain_texts(raw, _LENGTH[name], multiline=name == "note", blank=None if name == "note" else UNSURE)
            else:
                values = self._memos[name].column(raw)
            if _doubtful(values):
                for i, value in enumerate(values):
                    if value is UNSURE:
                        values[i] = value = _attempt(parse, raw[i])
                    if isinstance(value, ValueError):
                        found.append((i, _STEP[name], RowProblem(numbers[i], columns.get(name, name), str(value))))
                        bad[i] = 1
                        values[i] = None
            cells[name] = values
        days = cells["date"]
        checked = self._days.map(zip(days))
        masses = self._masses.map(zip(cells["product"], cells["quantity"], cells["unit"]))
        for step, answers in (("day", checked), ("mass", masses)):
            if _doubtful(answers):
                for i, answer in enumerate(answers):
                    if isinstance(answer, _Problem):
                        found.append((i, _STEP[step], RowProblem(numbers[i], columns[answer.field_name], str(answer))))
                        bad[i] = 1
        standing = self._standing.map(zip(cells["supplier"], days))
        keep = bad.translate(_FLIP)
        good = {name: list(itertools.compress(values, keep)) for name, values in cells.items()}
        standing, masses = list(itertools.compress(standing, keep)), list(itertools.compress(masses, keep))
        ids = self._id.__getitem__
        lines = list(zip(map(_at(0), standing), map(ids, good["canteen"]), map(ids, good["supplier"]),
                         map(ids, good["category"]), good["product"], good["quantity"], good["unit"], masses,
                         good["amount"], good["ref"], good["line"], map(_at(1), standing), map(_at(2), standing),
                         map(_at(3), standing), good["note"], itertools.repeat(1)))
        found.sort(key=lambda p: (p[0], p[1]))
        return (lines, list(itertools.compress(numbers, keep)), list(map(_at(4), standing)),
                [p for _, _, p in found])

    # -- the rules of a line, once its cells are parsed ---------------------------------------

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

    def _check_date(self, day: dt.date) -> None:
        """Not before the earliest date, not in the future, not in a closed month."""
        if day < self.limits.earliest_date:
            raise _Problem("date", f"{day} is before {self.limits.earliest_date}: check the year "
                                   "(the earliest date is FUPIN_EARLIEST_DATE)")
        if day > self.today:
            raise _Problem("date", f"{day} is in the future")
        if month_label(day) in self.closed:
            raise _Problem("date", f"month {month_label(day)} is closed: ask for it to be reopened "
                                   f"(fupin procure reopen --month {month_label(day)} --reason ...)")

    def _mass(self, product: str, quantity: Decimal, unit: str) -> int:
        """Quantity x the unit's (or the product's packaging) weight, in exact milligrams."""
        kg_per_unit = KG_PER_UNIT.get(normalise_unit(unit)) or self.packaging.get((product, normalise_unit(unit)))
        if kg_per_unit is None:
            raise _Problem("unit", f"unknown unit '{unit}' for '{product}': use {CANONICAL_UNITS}, or define "
                                   f"its weight: fupin procure unit-weight '{product}' '{unit}' KG")
        if quantity * kg_per_unit > self.limits.max_kg:
            raise _Problem("quantity", f"{quantity} {unit} is {quantity * kg_per_unit:,} kg, more than one purchase "
                                       f"line can hold ({self.limits.max_kg:,} kg): check the quantity and the unit "
                                       "(the limit is FUPIN_MAX_LINE_KG)")
        try:
            return to_mg(quantity, kg_per_unit)
        except ValueError as exc:
            raise _Problem("quantity", f"'{quantity}' {exc}") from None

    def _eligibility(self, supplier, day: dt.date) -> tuple[int, str, str | None, str | None]:
        """Eligibility judged on the purchase date: (is_pa, source, certificate, notice when it does not count)."""
        is_pa = eligible_on(supplier.eligibility, supplier.valid_from, supplier.valid_to, day)
        notice = None
        if not is_pa and supplier.eligibility != "none":
            period = f"{supplier.valid_from or '…'} to {supplier.valid_to or '…'}"
            notice = (f"{supplier.code} is '{supplier.eligibility}' only from {period}, not on {day}: "
                      "the line is recorded but does not count toward the quota")
        return (int(is_pa), supplier.eligibility if is_pa else "none", supplier.certificate if is_pa else None,
                notice)




def _line_number(value: object) -> int:
    if is_blank(value):
        return 1
    number = parse_decimal(value)
    if number != number.to_integral_value() or not 1 <= number <= LineLimits.MAX_LINE_NUMBER:
        raise ValueError(f"'{visible(clean_text(value))}' is not a line number (1, 2, 3 ...)")
    return int(number)


# -- writing: each chunk checked against the ledger and inserted inside the one transaction ---------

_KEYS = "fupin_import_keys"
_STAGE = "fupin_import_stage"
_INSERTED = (*LINE, "id", "reverses_id", "batch_id", "created_by", "created_at", "row_hash")
# Fields compared when the same (supplier, ref, line) arrives again.
_SAME_LINE = ("purchase_date", "canteen_id", "category_id", "product", "qty_mg", "amount_fen")
_SAME_AT = tuple(LINE.index(f) for f in _SAME_LINE)
_same_of = operator.itemgetter(*_SAME_AT)
_same_found = operator.itemgetter(*range(2, 2 + len(_SAME_LINE)))  # in a row of _Writer._existing


def _hasher(constants: dict) -> Callable[[tuple], str]:
    """The row hash of a line (in LINE order) with the import's own columns (`_Writer.constants`)."""
    return chain.row_hasher("purchases", LINE, constants, ("ref", "note", "qty_mg", "amount_fen"))


class _Writer:
    """Checks each chunk's lines against the ledger and this file, and inserts the new ones.

    The keys of a chunk go into a temporary table and one join finds every entry already under them
    (an anti-join for the rest); new lines are inserted with ids reserved ahead and their row hashes
    computed here, so that the hash chain's seal is handed the new rows instead of reading them back.
    A line whose key an earlier row of the file took is found in the ledger (the earlier row was
    added) or among the entries earlier rows claimed (it was there already)."""

    def __init__(self, session: Session, actor: str, batch_id: int | None, columns: dict):
        self.conn = session.connection()
        self.result = ImportResult()
        self.many_lines_hint, self.ref_column, self.supplier_column = "line" in columns, columns["ref"], columns["supplier"]
        table = Purchase.__table__
        now = utcnow()
        self.constants = {"reverses_id": None, "batch_id": batch_id, "created_by": actor, "created_at": now}
        stored = table.c.created_at.type.dialect_impl(self.conn.dialect).bind_processor(self.conn.dialect)
        self.tail = (None, batch_id, actor, stored(now) if stored else now)
        self.hash = _hasher(self.constants)
        bulk.temp_table(self.conn, _KEYS, table, ("supplier_id", "ref", "line"), "idx INTEGER")
        if bulk.is_postgresql(self.conn):
            bulk.temp_table(self.conn, _STAGE, table, _INSERTED)
        newest = self.conn.execute(select(func.max(table.c.id))).scalar() or 0
        self.claimed = bytearray(newest // 8 + 1)  # entries already there that a row of this file matched
        self.claimed_ids, self.claimed_rows = array("q"), array("q")
        self.claimed_max = 0
        self.added_ids, self.added_rows = array("q"), array("q")
        self.sealable: chain.Sealable | None = None
        self.optimistic = True  # see write
        self.late_indexes: bulk.LateIndexes | None = None  # indexes dropped after the first lines went in

    def write(self, lines: list[tuple], rows: list[int | None], notices: list[str | None],
              hashes: list[str] | None = None) -> list[RowProblem]:
        """Adds the chunk's new lines (`hashes`: their row hashes, when a helper process computed them);
        returns the problems of the others (in row order).

        While chunks hold only new lines (a first import), a chunk is inserted straight away with
        its conflicts skipped: when every line went in, no key of it was in the ledger or twice in
        the file, and nothing else is to be checked. Otherwise that insert is undone and the chunk
        goes the way below, as do the chunks after it until one holds no line already there."""
        if self.optimistic and lines and self._insert(lines, rows, notices, hashes, new_only=True):
            return []
        keys = list(map(_key_of, lines))
        problems: list[tuple[int, RowProblem]] = []
        probe = range(len(lines))
        if len(set(keys)) < len(keys):
            first_row: dict[tuple, int | None] = {}
            probe = []
            for i, key in enumerate(keys):
                if key in first_row:
                    problems.append((i, self._twice(rows[i], lines[i], first_row[key])))
                else:
                    first_row[key] = rows[i]
                    probe.append(i)
        skip: set[int] = set(range(len(lines))).difference(probe)
        found = list(self._existing(keys, probe))
        self.optimistic = not found and not skip
        if self._all_present(found, lines, rows):
            skip.update(map(_first, found))
            found = []
        for i, entries in _grouped(found):
            live = [e for e in entries if not e[-1]]
            if not live:
                lines[i] = (*lines[i][:-1], len(entries) + 1)  # key_seq: the voided entries come first
                if hashes is not None:
                    hashes[i] = self.hash(lines[i])
                continue
            skip.add(i)
            entry = live[0]
            earlier = self._earlier_row(entry[0])
            if earlier is not UNSURE:
                problems.append((i, self._twice(rows[i], lines[i], earlier)))
                continue
            self._claim(entry[0], rows[i])
            if entry[1:7] == _same_of(lines[i]):
                self.result._present(rows[i], entry[0])
                continue
            diff = [f for f, at, old in zip(_SAME_LINE, _SAME_AT, entry[1:7]) if old != lines[i][at]]
            if diff:
                line = lines[i]
                problems.append((i, RowProblem(
                    rows[i], self.ref_column, f"ref '{line[_KEY[1]]}' line {line[_KEY[2]]} is already entry "
                    f"#{entry[0]} with different {', '.join(diff)}; to correct it, void #{entry[0]} "
                    f"(fupin procure void {entry[0]} --reason ...) and enter the line again")))
            else:
                self.result._present(rows[i], entry[0])
        if skip:
            keep = [i not in skip for i in range(len(lines))]
            lines, rows, notices = (list(itertools.compress(x, keep)) for x in (lines, rows, notices))
            hashes = None if hashes is None else list(itertools.compress(hashes, keep))
        if lines:
            # Inserted even once a problem is found (the import is then rolled back), so that a later
            # row with the same key is still named.
            self._insert(lines, rows, notices, hashes)
        problems.sort(key=lambda p: p[0])
        return [p for _, p in problems]

    def _twice(self, row: int | None, line: tuple, earlier: int | None) -> RowProblem:
        hint = "" if self.many_lines_hint else " (if the invoice has several lines, add a 'line' (行号) column numbering them)"
        return RowProblem(row, self.ref_column, f"ref '{line[_KEY[1]]}' line {line[_KEY[2]]} of this supplier is "
                                                  f"also on row {earlier}{hint}")

    def _all_present(self, found: list[tuple], lines: list[tuple], rows: list[int | None]) -> bool:
        """The common case of a re-import, settled a chunk at a time: every line found has one entry,
        not voided, the same, and taken by no earlier row of this file (ids above those claimed before,
        below those added)."""
        if not found:
            return False
        at, ids = list(map(_first, found)), list(map(_at(1), found))
        if (len(set(at)) < len(at) or any(map(_last, found)) or min(ids) <= self.claimed_max
                or (self.added_ids and max(ids) >= self.added_ids[0])
                or list(map(_same_found, found)) != [_same_of(lines[i]) for i in at]):
            return False
        taken = list(map(rows.__getitem__, at))
        if None in taken:
            taken = [-1 if r is None else r for r in taken]
        # ids above those claimed before: claimed_max is the largest, the bits are set in one loop.
        self.claimed_max = max(ids)
        if self.claimed_max < len(self.claimed) * 8:
            claimed = self.claimed
            for entry_id in ids:
                claimed[entry_id >> 3] |= 1 << (entry_id & 7)
            self.claimed_ids.extend(ids)
            self.claimed_rows.extend(taken)
        else:
            for entry_id, row in zip(ids, taken):
                self._claim(entry_id, _row_number(row))
        self.result._present_many(taken, ids)
        return True

    def _existing(self, keys: list[tuple], probe: Sequence[int]) -> Iterator[tuple]:
        """(index, id, compared fields..., voided) of every entry under a probed line's key, by index and id."""
        if not probe:
            return
        bulk.empty(self.conn, _KEYS)
        bulk.load(self.conn, _KEYS, ("idx", "supplier_id", "ref", "line"),
                  map(operator.add, zip(probe), map(keys.__getitem__, probe)))
        bulk.analyze(self.conn, _KEYS)
        compared = ", ".join(bulk.iso_date(self.conn, "p." + f) if f == "purchase_date" else "p." + f for f in _SAME_LINE)
        found = bulk.rows(
            self.conn, f"SELECT k.idx, p.id, {compared}, "
            "EXISTS (SELECT 1 FROM purchases r WHERE r.reverses_id = p.id) "
            f"FROM {_KEYS} k JOIN purchases p ON p.ref = k.ref AND p.supplier_id = k.supplier_id AND p.line = k.line "
            "WHERE p.key_seq IS NOT NULL ORDER BY k.idx, p.id")
        yield from found

    def _earlier_row(self, entry_id: int) -> object:
        """The row of this file that already took the entry's key, or UNSURE when none did."""
        if self.added_ids and entry_id >= self.added_ids[0]:  # one writer at a time: a new id is ours
            return _row_number(self.added_rows[bisect.bisect_left(self.added_ids, entry_id)])
        if entry_id < len(self.claimed) * 8 and self.claimed[entry_id >> 3] & (1 << (entry_id & 7)):
            return _row_number(self.claimed_rows[self.claimed_ids.index(entry_id)])
        return UNSURE

    def _claim(self, entry_id: int, row: int | None) -> None:
        self.claimed_max = max(self.claimed_max, entry_id)
        if entry_id < len(self.claimed) * 8:
            self.claimed[entry_id >> 3] |= 1 << (entry_id & 7)
            self.claimed_ids.append(entry_id)
            self.claimed_rows.append(-1 if row is None else row)

    def _insert(self, lines: list[tuple], rows: list[int | None], notices: list[str | None],
                hashes: list[str] | None, new_only: bool = False) -> bool:
        """Inserts the lines with ids reserved ahead and their row hashes. With `new_only`, only when
        every line is new: a line whose (supplier, ref, line, key_seq 1) an entry or an earlier line
        already has is skipped by the unique key, and then the lines that went in are taken out
        again and False is returned."""
        table = Purchase.__table__
        first = bulk.reserve_ids(self.conn, table, len(lines))
        if hashes is None:
            hashes = list(map(self.hash, lines))
        ids = range(first, first + len(lines))
        # Each line with its id, constants and hash appended (_INSERTED's order), tuple by tuple in C.
        records = list(map(operator.add, lines, zip(ids, *map(itertools.repeat, self.tail), hashes)))
        if bulk.is_postgresql(self.conn):
            # COPY into the staging table, then one set-based insert: the PostgreSQL way to load many rows.
            bulk.empty(self.conn, _STAGE)
            bulk.load(self.conn, _STAGE, _INSERTED, records)
            cols = ", ".join(_INSERTED)
            # The staging table holds the rows as copied, in id order; no ORDER BY, whose sort of a chunk
            # went to disk (a chunk is more than work_mem).
            inserted = self.conn.exec_driver_sql(
                f"INSERT INTO purchases ({cols}) SELECT {cols} FROM {_STAGE}"
                + (" ON CONFLICT DO NOTHING" if new_only else "")).rowcount
        else:
            inserted = bulk.load(self.conn, "purchases", _INSERTED, records, skip_conflicts=new_only)
        del records
        if new_only and inserted != len(lines):
            if inserted:
                self.conn.exec_driver_sql(f"DELETE FROM purchases WHERE id >= {first}")
            bulk.release_ids(self.conn, table, first)
            return False
        self.result._add(lines, rows, notices, self.supplier_column)
        if self.late_indexes is not None:
            self.late_indexes.rows_added()
        self.added_ids.extend(ids)
        self.added_rows.extend(rows if None not in rows else [-1 if r is None else r for r in rows])
        if self.sealable is None:
            self.sealable = chain.Sealable(first, first - 1, hashlib.sha256())
        if first != self.sealable.last_id + 1:
            self.sealable.first_id = -1  # not consecutive: the seal reads the rows back
        self.sealable.add(zip(ids, hashes))
        self.sealable.last_id = ids[-1]
        return True

    def hand_to_seal(self, session: Session) -> None:
        if self.sealable is not None and self.sealable.first_id > 0:
            session.info.setdefault(chain.HANDED, {})["purchases"] = self.sealable

    def close(self) -> None:
        bulk.drop_table(self.conn, _KEYS)
        bulk.drop_table(self.conn, _STAGE)


def _row_number(stored: int) -> int | None:
    return None if stored == -1 else stored


def _values(line: tuple) -> dict:
    values = dict(zip(LINE, line))
    values["purchase_date"] = dt.date.fromisoformat(values["purchase_date"])
    values["is_pa"] = bool(values["is_pa"])
    return values




CHUNK_ROWS = 10_000
INDEXES_AFTER = 100_000  # a file of this many rows, as many as the ledger holds, builds the date index at the end
LISTED_PROBLEMS = 1_000  # a file with more bad rows lists these and counts the rest


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """An import makes millions of short-lived tuples and no reference cycles; the cyclic collector
    would scan them again and again, for a third of the import's time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Parsed:
    """A chunk parsed: its good lines (in LINE order), their row numbers, notices and (when a helper
    process parsed it) row hashes, the problems of its other rows, and how many rows it had."""

    lines: list[tuple]
    rows: list[int | None]
    notices: list[str | None]
    problems: list[RowProblem]
    hashes: list[str] | None
    size: int


def _parsed(chunks: Iterable[Chunk], parser: _LineParser, hasher: Callable[[tuple], str] | None = None,
            hashing: Inbox | None = None) -> Iterator[_Parsed]:
    """Each chunk parsed; its lines hashed by `hasher` while the importing process says (`hashing`)
    that it expects new lines."""
    for chunk in chunks:
        lines, rows, notices, bad = parser.parse_chunk(chunk)
        hashes = list(map(hasher, lines)) if hasher is not None and hashing.latest() else None
        yield _Parsed(lines, rows, notices, bad, hashes, len(chunk))


def _parsed_reader(reader: TableReader, parser: _LineParser, chunk_rows: int, hasher=None,
                   hashing: Inbox | None = None, skip_chunks: int = 0) -> Iterator[_Parsed | ProblemList]:
    """A file's chunks parsed, past the first `skip_chunks` (read, not parsed), then the reader's own
    problems (cells outside any column), the chunks read past included."""
    chunks = reader.chunks(chunk_rows)
    for _ in itertools.islice(chunks, skip_chunks):
        pass
    yield from _parsed(chunks, parser, hasher, hashing)
    yield reader.problems


def _parsed_file(path: Path, parser: _LineParser, chunk_rows: int, constants: dict, skip_chunks: int,
                 hashing: Inbox) -> Iterator[_Parsed | ProblemList]:
    """_parsed_reader in a helper process, which opens the file again, reads past the first
    `skip_chunks` chunks (the importing process parses those itself) and also hashes the lines while
    the importing process expects them to be new (a re-import's lines are not inserted)."""
    with _no_cyclic_gc():
        reader = TableReader(path, PURCHASE_FIELDS, max_problems=LISTED_PROBLEMS)
        try:
            yield from _parsed_reader(reader, parser, chunk_rows, _hasher(constants), hashing, skip_chunks)
        finally:
            reader.close()


class _FileStage:
    """A file's chunks parsed: here, or for a large file (BulkImport) in a helper process, which also
    hashes them, while this process checks and inserts the chunks before; this process parses the
    first chunks itself while the helper starts. After the last chunk, `stray` holds the reader's
    own problems."""

    def __init__(self, reader: TableReader, parser: _LineParser, writer: _Writer):
        self.stray = ProblemList()
        self.writer = writer
        self.helper = None
        if BULK_IMPORT.uses_helper(reader.expected_rows or 0):
            lead = BULK_IMPORT.lead_rows_of(reader.path.suffix) // CHUNK_ROWS
            self.hashing = writer.optimistic
            self.helper = HelperProcess(_parsed_file, reader.path, parser, CHUNK_ROWS, writer.constants, lead,
                                        told=self.hashing, what=f"reading {reader.path.name}")
            # The helper's reader reports the stray cells of the whole file, these lead chunks' too.
            self.items = itertools.chain(_parsed(itertools.islice(reader.chunks(CHUNK_ROWS), lead), parser),
                                         self.helper)
        else:
            self.items = _parsed_reader(reader, parser, CHUNK_ROWS)

    def __iter__(self) -> Iterator[_Parsed]:
        for item in self.items:
            if isinstance(item, ProblemList):
                self.stray = item
                continue
            yield item
            if self.helper is not None:
                # New lines are hashed where there is time: by the helper while it is ahead of this
                # process, here (_Writer._insert) while this process would wait for it.
                hashing = self.writer.optimistic and self.helper.ready()
                if hashing != self.hashing:
                    self.hashing = hashing
                    self.helper.tell(hashing)

    def close(self) -> None:
        if self.helper is not None:
            self.helper.close()


def _write_lines(parsed: Iterable[_Parsed], writer: _Writer,
                 progress: Callable[[int], None] | None = None) -> tuple[ImportResult, ProblemList]:
    """Every parsed chunk checked and its new lines inserted; the caller keeps or rolls back the inserts."""
    problems = ProblemList(LISTED_PROBLEMS)
    for p in parsed:
        written = writer.write(p.lines, p.rows, p.notices, p.hashes)
        problems.extend(list(heapq.merge(p.problems, written, key=lambda p: p.row or 0)))
        if progress is not None:
            progress(p.size)
    return writer.result, problems


def import_purchases(session: Session, path: Path | str, actor: str, dry_run: bool = False,
                     today: dt.date | None = None, progress: Callable[[int, int | None], None] | None = None
                     ) -> ImportResult:
    """All-or-nothing, idempotent import of a CSV/XLSX purchase file, read in chunks inside one
    transaction. `progress(rows, expected)` is called as rows are read (expected: an estimate of the
    file's rows, or None)."""
    path = Path(path)
    with _no_cyclic_gc(), bulk.large_cache(session.connection()):
        reader = TableReader(path, PURCHASE_FIELDS, max_problems=LISTED_PROBLEMS)
        try:
            return _import(session, reader, actor, dry_run, today or dt.date.today(), progress)
        finally:
            reader.close()


def _all_or_nothing(session: Session, actor: str, batch_name: str, columns: dict[str, str], dry_run: bool,
                    write: Callable[[_Writer], ImportResult]) -> tuple[ImportResult, ImportBatch | None]:
    """Run `write`, which inserts lines as it checks them and raises on any problem, inside a savepoint:
    a dry run, nothing new or any error rolls it all back. Returns the result and, when lines were
    added, their import batch (the caller completes its record)."""
    savepoint = session.begin_nested()
    batch = None
    if not dry_run:
        batch = ImportBatch(file_name=batch_name, file_sha256="", lines_added=0, imported_by=actor)
        session.add(batch)
        session.flush()
    writer = _Writer(session, actor, batch.id if batch else None, columns)
    try:
        result = write(writer)
        if dry_run or not result.lines_added:
            savepoint.rollback()
            return result, None
        writer.hand_to_seal(session)  # before the savepoint's commit, which already seals
        savepoint.commit()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    finally:
        writer.close()
    batch.lines_added, result.batch_id = result.lines_added, batch.id
    ids = writer.added_ids
    result.ids = range(ids[0], ids[-1] + 1) if ids[-1] - ids[0] + 1 == len(ids) else ids.tolist()
    return result, batch


def _import(session: Session, reader: TableReader, actor: str, dry_run: bool, today: dt.date,
            progress: Callable[[int, int | None], None] | None) -> ImportResult:
    parser = _LineParser(session, today)
    done = 0

    def counted(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, reader.expected_rows)

    def write(writer: _Writer) -> ImportResult:
        # A file as large as the ledger builds the date index once at the end (db.bulk.LateIndexes).
        # When anything below raises, the savepoint's rollback brings the index back.
        writer.late_indexes = bulk.LateIndexes(writer.conn, Purchase.__table__, reader.expected_rows or 0,
                                               INDEXES_AFTER)
        stage = _FileStage(reader, parser, writer)
        try:
            result, problems = _write_lines(stage, writer, counted)
        finally:
            stage.close()
        if stage.stray:
            raise InputFileError(str(reader.path), stage.stray.listed, stage.stray.more)
        if not done:
            raise FupinError(f"{reader.path}: no purchase lines under the header: nothing to import")
        if problems:
            raise InputFileError(str(reader.path), problems.listed, problems.more)
        if not dry_run:  # a dry run is rolled back, which brings the index back
            writer.late_indexes.build()
        return result

    result, batch = _all_or_nothing(session, actor, reader.path.name, reader.columns, dry_run, write)
    if batch is None:
        return result
    with open(reader.path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    batch.file_sha256 = digest
    audit.record(session, actor, "import", "import_batch", batch.id,
                 {"file": reader.path.name, "sha256": digest, "lines_added": result.lines_added,
                  "already_present": result.lines_present, "first_id": result.ids[0], "last_id": result.ids[-1]})
    return result


def import_lines(session: Session, lines: list[dict], actor: str, source: str, dry_run: bool = False,
                 today: dt.date | None = None) -> ImportResult:
    """All-or-nothing import of lines given as field -> value (the JSON API): row = the line's position."""
    if not lines:
        raise FupinError(f"{source}: no purchase lines: nothing to import")
    columns = {name: name for name in PURCHASE_FIELD_NAMES}
    chunk = Chunk(list(range(1, len(lines) + 1)), {name: [line.get(name) for line in lines] for name in columns},
                  columns)

    def write(writer: _Writer) -> ImportResult:
        result, problems = _write_lines(_parsed([chunk], _LineParser(session, today or dt.date.today())), writer)
        if problems:
            raise InputFileError(source, problems.listed, problems.more)
        return result

    result, batch = _all_or_nothing(session, actor, source[:500], columns, dry_run, write)
    if batch is not None:
        audit.record(session, actor, "import", "import_batch", batch.id,
                     {"source": source, "lines_added": result.lines_added, "already_present": result.lines_present,
                      "first_id": result.ids[0], "last_id": result.ids[-1]})
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
    chunk = Chunk([None], {name: [value] for name, value in fields.items()}, columns)
    writer = _Writer(session, actor, None, columns)
    try:
        result, problems = _write_lines(_parsed([chunk], _LineParser(session, today or dt.date.today())), writer)
    finally:
        writer.close()
    if problems:
        raise InputFileError("fupin procure log", problems.listed, problems.more)
    if result.lines_added:
        result.ids = writer.added_ids.tolist()
        writer.hand_to_seal(session)
        audit.record(session, actor, "log", "purchase", result.ids[0], result.added[0])
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
