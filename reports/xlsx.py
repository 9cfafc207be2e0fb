"""The report's tables as a workbook: one sheet per table, figures as exact decimals."""

from __future__ import annotations

import io
import re
from decimal import Decimal, InvalidOperation

from .compliance import ReportView
from .render import Table

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _cell(value: str, numeric: bool):
    # Decimal, never float: openpyxl writes its exact text into the sheet.
    if numeric and _NUMBER.match(value):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def _formats(value) -> str | None:
    if isinstance(value, Decimal):
        places = -value.as_tuple().exponent
        return "0" if places <= 0 else "0." + "0" * places
    return None


def _append(ws, values: list) -> None:
    """A row whose text stays text: openpyxl would store any string starting with '=' as a formula,
    so a supplier named '=HYPERLINK(...)' would become a live link in the finance office's workbook."""
    ws.append(values)
    for cell, value in zip(ws[ws.max_row], values):
        if isinstance(value, str):
            cell.data_type = "s"
        elif fmt := _formats(value):
            cell.number_format = fmt


def _sheet(wb, title: str, table: Table) -> None:
    from openpyxl.styles import Font

    ws = wb.create_sheet(title[:31])
    _append(ws, list(table.columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in [*table.rows, *table.totals]:
        _append(ws, [_cell(v, i in table.numeric) for i, v in enumerate(row)])
    for i, column in enumerate(table.columns, start=1):
        width = max([len(str(column))] + [len(str(r[i - 1])) for r in table.rows[:200]]) + 2
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(width * 1.3, 50)


def workbook_bytes(view: ReportView) -> bytes:
    from openpyxl import Workbook  # here, not at the top: PDF reports need not load it

    t = view.t
    wb = Workbook()
    info = wb.active
    info.title = t["issue_no"][:31]
    meta = [(t["title_province" if view.scope == "province" else "title_institution"], view.scope_name),
            (t["institution"], view.scope), (t["period"], view.period_label), (t["rule"], view.rule_text),
            (t["data_taken"], view.data_taken), (t["issue_no"], view.issue_no),
            (t["fingerprint"], view.fingerprint), (t["entries"], len(view.entry_ids)),
            (t["chain_head"], view.chain_head)]
    if view.amendment:
        meta.append((t["amendment"], t["amends"].format(n=view.previous_no)))
        meta += [("", c) for c in view.changes]
    for row in meta:
        _append(info, list(row))
    info.column_dimensions["A"].width = 20
    info.column_dimensions["B"].width = 80
    for table in [view.summary, *view.details, *view.exceptions, *([view.appendix] if view.appendix else [])]:
        _sheet(wb, table.title, table)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
