"""The ledger's use cases. Each takes an open unit of work (`db.unit_of_work`), does one thing and
commits it itself; a failure commits nothing. The command line (commands/procure.py) and the web
application call these functions and nothing else of the ledger, so a rule never has a second copy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlalchemy import select

from common.cells import parse_date
from common.errors import FupinError
from db import UnitOfWork, chain
from db.models import (
    AuditEvent,
    Canteen,
    Category,
    Institution,
    PackagingWeight,
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


def log_purchase(uow: UnitOfWork, actor: str, today: dt.date | None = None, **fields: object) -> ImportResult:
    """One purchase, with the same checks as an import; nothing is added if it is already there."""
    result = ledger.log_purchase(uow.session, actor, today=today, **fields)
    uow.commit()
    return result


def import_purchases(uow: UnitOfWork, path: Path | str, actor: str, dry_run: bool = False,
                     today: dt.date | None = None, progress: Callable[[int, int | None], None] | None = None
                     ) -> ImportResult:
    """A purchase file, all lines or none, never twice; a dry run checks it and writes nothing.
    `progress(rows read, rows expected or None)` is called as a long file is read."""
    result = ledger.import_purchases(uow.session, path, actor, dry_run=dry_run, today=today, progress=progress)
    if not dry_run:
        uow.commit()
    return result


def void_entry(uow: UnitOfWork, entry_id: int, reason: str, actor: str) -> int:
    """Void an entry by a reversing entry; returns the reversal's id."""
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


def month_entries(uow: UnitOfWork, month: str, canteen: str | None = None) -> list[EntryLine]:
    """A month's ledger entries, voids included, in entry order."""
    return [EntryLine(p.id, p.purchase_date, p.canteen.code, p.supplier.code, p.category.code, p.product,
                      p.quantity, p.unit, p.qty_mg, p.amount_fen, p.ref, p.line, p.is_pa, p.reverses_id)
            for p in ledger.entries(uow.session, month, canteen)]


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
