"""The ledger's use cases. Each takes an open unit of work (`db.unit_of_work`), does one thing and
commits it itself; a failure commits nothing. The command line (commands/procure.py) and the web
application call these functions and nothing else of the ledger, so a rule never has a second copy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select

from common.cells import clean_text, month_bounds, parse_date
from common.errors import FupinError, InputFileError, RowProblem
from common.tables import Row, read_table
from db import UnitOfWork, chain
from db.models import (
    AuditEvent,
    Canteen,
    Category,
    ImportBatch,
    Institution,
    PackagingWeight,
    Purchase,
    Supplier,
)

from . import audit, ledger, masterdata, quota
from .ledger import ImportResult
from .masterdata import MasterImportResult
from .rules import QuotaRule


def import_master(uow: UnitOfWork, kind: str, path: Path | str, actor: str) -> MasterImportResult:
    """Load or update one kind of master data from a file, by code; all rows or none."""
    result = masterdata.import_master(uow.session, kind, path, actor)
    uow.commit()
    return result


def set_unit_weight(uow: UnitOfWork, product: str, unit: str, kg: str, actor: str) -> None:
    ledger.set_unit_weight(uow.session, product, unit, kg, actor)
    uow.commit()


class OutOfScope(InputFileError):
    """Lines for canteens that are not the user's: the whole file or request is refused."""


class NotYours(FupinError):
    """An entry or canteen the user may not see (the web answers 404, so as not to confirm it exists)."""


Canteens = frozenset[int] | None  # the canteen ids a user may write to; None: every canteen


def _check_scope(uow: UnitOfWork, rows: list[Row], allowed: Canteens, source: str, dry_run=None) -> None:
    """Refuse lines for canteens that are not the user's; the refusal lists the lines' other problems
    too (from `dry_run`, a check that writes nothing), so the user sees every bad row at once."""
    if allowed is None:
        return
    bad = [RowProblem(row.number, row.columns.get("canteen", "canteen"),
                      f"canteen '{clean_text(row.values.get('canteen'))}' is not one of yours: "
                      "you may enter purchases only for your own canteens")
           for row, canteen_id in ledger.canteens_named(uow.session, rows) if canteen_id not in allowed]
    if bad:
        others: list[RowProblem] = []
        if dry_run is not None:
            try:
                dry_run()
            except InputFileError as exc:
                others = exc.problems
        raise OutOfScope(source, sorted(bad + others, key=lambda p: (p.row or 0)))


def log_purchase(uow: UnitOfWork, actor: str, today: dt.date | None = None, allowed_canteens: Canteens = None,
                 **fields: object) -> ImportResult:
    """One purchase, with the same checks as an import; nothing is added if it is already there."""
    _check_scope(uow, [Row(None, dict(fields), {n: f"--{n}" for n in fields})], allowed_canteens, "the purchase")
    result = ledger.log_purchase(uow.session, actor, today=today, **fields)
    uow.commit()
    return result


def import_purchases(uow: UnitOfWork, path: Path | str, actor: str, dry_run: bool = False,
                     today: dt.date | None = None, allowed_canteens: Canteens = None,
                     progress: Callable[[int, int | None], None] | None = None) -> ImportResult:
    """A purchase file, all lines or none, never twice; a dry run checks it and writes nothing.
    With `allowed_canteens`, a line for any other canteen refuses the whole file.
    `progress(rows read, rows expected or None)` is called as a long file is read."""
    if allowed_canteens is not None:
        _check_scope(uow, read_table(path, ledger.PURCHASE_FIELDS), allowed_canteens, str(path),
                     lambda: ledger.import_purchases(uow.session, path, actor, dry_run=True, today=today))
    result = ledger.import_purchases(uow.session, path, actor, dry_run=dry_run, today=today, progress=progress)
    if not dry_run:
        uow.commit()
    return result


def add_lines(uow: UnitOfWork, lines: list[dict], actor: str, dry_run: bool = False, today: dt.date | None = None,
              allowed_canteens: Canteens = None, source: str = "API request") -> ImportResult:
    """Lines given as field -> value (the JSON API), as an import: all or none, never twice."""
    rows = [Row(i, dict(line), {n: n for n in ledger.PURCHASE_FIELD_NAMES}) for i, line in enumerate(lines, 1)]
    _check_scope(uow, rows, allowed_canteens, source,
                 lambda: ledger.import_lines(uow.session, lines, actor, source, dry_run=True, today=today))
    result = ledger.import_lines(uow.session, lines, actor, source, dry_run=dry_run, today=today)
    if not dry_run:
        uow.commit()
    return result


def previous_import(uow: UnitOfWork, sha256: str) -> ImportBatch | None:
    """The earlier import of a file with these exact bytes, if any."""
    return uow.session.scalar(select(ImportBatch).where(ImportBatch.file_sha256 == sha256)
                              .order_by(ImportBatch.id.desc()).limit(1))


def void_entry(uow: UnitOfWork, entry_id: int, reason: str, actor: str, allowed_canteens: Canteens = None) -> int:
    """Void an entry by a reversing entry; returns the reversal's id."""
    if allowed_canteens is not None:
        entry = uow.session.get(Purchase, entry_id)
        if entry is None or entry.canteen_id not in allowed_canteens:
            raise NotYours(f"no ledger entry #{entry_id} among your canteens")
    reversal = ledger.void_entry(uow.session, entry_id, reason, actor)
    uow.commit()
    return reversal.id


def close_month(uow: UnitOfWork, month: str, actor: str) -> None:
    ledger.close_month(uow.session, month, actor)
    uow.commit()


def reopen_month(uow: UnitOfWork, month: str, reason: str, actor: str) -> None:
    ledger.reopen_month(uow.session, month, reason, actor)
    uow.commit()


def today_or(as_of: str | None) -> dt.date:
    """The date a projection is made on: `as_of` (any date form fupin reads), else today."""
    if not as_of:
        return dt.date.today()
    try:
        return parse_date(as_of)
    except ValueError as exc:
        raise FupinError(f"--as-of {exc}") from None


def month_compliance(uow: UnitOfWork, month: str, rule: QuotaRule, institution: str | None = None,
                     today: dt.date | None = None) -> quota.MonthCompliance:
    """Every canteen's compliance for a month, with the roll-ups (reads only)."""
    return quota.month_compliance(uow.session, month, rule, institution, today)


@dataclass(frozen=True)
class EntryLine:
    """A ledger entry as a listing shows it (plain values, usable after the transaction)."""

    id: int
    date: dt.date
    canteen: str
    supplier: str
    category: str
    product: str
    quantity: str
    unit: str
    qty_mg: int
    amount_fen: int
    ref: str
    line: int
    is_pa: bool
    reverses_id: int | None


def month_entries(uow: UnitOfWork, month: str, canteen: str | None = None, newest_first: bool = False,
                  limit: int | None = None, offset: int = 0) -> list[EntryLine]:
    """A month's ledger entries, voids included, in entry order (or newest first), a page at a time."""
    start, end = month_bounds(quota.first_day(month))
    q = (select(Purchase.id, Purchase.purchase_date, Canteen.code, Supplier.code, Category.code, Purchase.product,
                Purchase.quantity, Purchase.unit, Purchase.qty_mg, Purchase.amount_fen, Purchase.ref, Purchase.line,
                Purchase.is_pa, Purchase.reverses_id)
         .join(Canteen, Purchase.canteen_id == Canteen.id).join(Supplier, Purchase.supplier_id == Supplier.id)
         .join(Category, Purchase.category_id == Category.id)
         .where(Purchase.purchase_date >= start, Purchase.purchase_date < end)
         .order_by(Purchase.id.desc() if newest_first else Purchase.id).offset(offset).limit(limit))
    if canteen:
        found = uow.session.scalar(select(Canteen.id).where(Canteen.code == canteen))
        if found is None:
            raise FupinError(f"unknown canteen '{canteen}': see `fupin procure list canteens`")
        q = q.where(Purchase.canteen_id == found)
    return [EntryLine(*row) for row in uow.session.execute(q)]


def voided_among(uow: UnitOfWork, ids: list[int]) -> set[int]:
    """Which of these entries a later entry voids."""
    if not ids:
        return set()
    return set(uow.session.scalars(select(Purchase.reverses_id).where(Purchase.reverses_id.in_(ids))))


def count_entries(uow: UnitOfWork, month: str, canteen_id: int) -> int:
    start, end = month_bounds(quota.first_day(month))
    return uow.session.scalar(select(func.count(Purchase.id)).where(
        Purchase.canteen_id == canteen_id, Purchase.purchase_date >= start, Purchase.purchase_date < end))


MASTER_LISTS = {"institutions": (Institution, ["code", "name", "kind"]),
                "canteens": (Canteen, ["code", "name", "operator", "contractor"]),
                "suppliers": (Supplier, ["code", "name", "eligibility", "certificate", "county", "valid_from",
                                         "valid_to"]),
                "categories": (Category, ["code", "name", "counts_toward_quota"]),
                "packaging": (PackagingWeight, ["product", "unit", "kg_per_unit"])}


def master_list(uow: UnitOfWork, kind: str) -> tuple[list[str], list[list[str]]]:
    """The columns and rows (as text) of one kind of master data, by its first column."""
    if kind not in MASTER_LISTS:
        raise FupinError(f"unknown kind '{kind}': use one of {', '.join(MASTER_LISTS)}")
    model, columns = MASTER_LISTS[kind]
    rows = [["" if getattr(o, c) is None else str(getattr(o, c)) for c in columns]
            for o in uow.session.scalars(select(model).order_by(getattr(model, columns[0])))]
    return columns, rows


def verify_ledger(uow: UnitOfWork, earlier_head: str | None = None) -> chain.Verification:
    """Recompute the hash chain over every ledger entry, audit event and issued report (reads only)."""
    return chain.verify(uow.session.connection(), earlier_head)


def audit_trail(uow: UnitOfWork, limit: int = 50, entity: str | None = None,
                key: str | None = None) -> list[AuditEvent]:
    """Audit events, newest first."""
    return audit.trail(uow.session, limit, entity, key)
