"""Reading CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX files into rows keyed by field.

Every row keeps its spreadsheet row number (the header is row 1) and every field its column
letter, so that problems can be reported where the user will look for them.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .cells import clean_text, is_blank
from .errors import FupinError, InputFileError, RowProblem


def column_letter(number: int) -> str:
    """Spreadsheet column name of a 1-based column number ("A", "AB")."""
    from openpyxl.utils.cell import get_column_letter
    return get_column_letter(number)


@dataclass(frozen=True)
class Field:
    name: str
    aliases: tuple[str, ...]
    required: bool = True


@dataclass
class Row:
    number: int
    values: dict[str, object]
    columns: dict[str, str]  # field -> "C (supplier)"


def _header_key(text: object) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip().lower().replace(" ", "_")


def decode_csv(data: bytes, path: str) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FupinError(f"{path}: cannot read the text: save the file as CSV UTF-8 (or GBK) and try again")


def _raw_rows(path: Path) -> list[list[object]]:
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FupinError(f"{path}: no such file") from None
    except OSError as exc:
        raise FupinError(f"{path}: cannot read: {exc.strerror}") from None
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl  # here, not at the top: it is a fifth of every command's start-up
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise FupinError(f"{path}: not a readable .xlsx workbook ({exc}); save it again from Excel") from None
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    if suffix in (".csv", ".txt"):
        text = decode_csv(data, str(path))
        try:
            return [list(r) for r in csv.reader(io.StringIO(text, newline=""))]
        except csv.Error as exc:
            raise FupinError(f"{path}: not a valid CSV file: {exc}") from None
    if suffix == ".xls":
        raise FupinError(f"{path}: old .xls workbooks are not read; in Excel use Save As → .xlsx or CSV UTF-8")
    raise FupinError(f"{path}: unknown file type '{suffix}': use .csv or .xlsx")


def read_table(path: Path | str, fields: list[Field], optional_extra: tuple[str, ...] = ()) -> list[Row]:
    """Rows of `path` keyed by field name; wrong or missing headers raise InputFileError."""
    path = Path(path)
    raw = _raw_rows(path)
    while raw and all(is_blank(c) for c in raw[0]):
        raw.pop(0)
    if not raw:
        raise FupinError(f"{path}: the file is empty: the first row must hold the column headers")
    header, body = raw[0], raw[1:]
    lookup: dict[str, str] = {}
    for f in fields:
        for alias in (f.name, *f.aliases):
            lookup[_header_key(alias)] = f.name
    problems: list[RowProblem] = []
    index: dict[str, int] = {}
    for i, title in enumerate(header):
        if is_blank(title):
            continue
        col = column_letter(i + 1)
        name = lookup.get(_header_key(title))
        if name is None:
            if _header_key(title) in optional_extra:
                continue
            expected = ", ".join(f.name for f in fields)
            problems.append(RowProblem(1, f"{col} ({title})", f"unknown column; expected columns: {expected}"))
        elif name in index:
            problems.append(RowProblem(1, f"{col} ({title})", f"column '{name}' appears twice"))
        else:
            index[name] = i
    for f in fields:
        if f.required and f.name not in index:
            aliases = "/".join(a for a in f.aliases if a)
            problems.append(RowProblem(1, None, f"missing column '{f.name}'" + (f" ({aliases})" if aliases else "")))
    if problems:
        raise InputFileError(str(path), problems)
    # Named as the user's own header says, so a Chinese sheet gets "C (供应商)".
    columns = {name: f"{column_letter(i + 1)} ({clean_text(header[i])})" for name, i in index.items()}
    rows: list[Row] = []
    for offset, cells in enumerate(body):
        if all(is_blank(c) for c in cells):
            continue
        values = {name: (cells[i] if i < len(cells) else None) for name, i in index.items()}
        for i, cell in enumerate(cells):
            if (i >= len(header) or is_blank(header[i])) and not is_blank(cell):
                problems.append(RowProblem(offset + 2, column_letter(i + 1), "a value in a column without a header"))
        rows.append(Row(number=offset + 2, values=values, columns=columns))
    if problems:
        raise InputFileError(str(path), problems)
    return rows


def parse_rows(rows: list[Row], parsers: dict[str, Callable[[object], object]],
               blank_is_none: tuple[str, ...] = ()) -> tuple[list[tuple[Row, dict]], list[RowProblem]]:
    """Each row's cells through their field's parser: the rows whose every cell parsed, and a
    problem (row, column, reason) for every cell that did not. A field the file lacks is left out;
    a blank cell of a field in `blank_is_none` is None without being parsed."""
    parsed: list[tuple[Row, dict]] = []
    problems: list[RowProblem] = []
    for row in rows:
        values: dict[str, object] = {}
        ok = True
        for name, parse in parsers.items():
            if name not in row.values:
                continue
            raw = row.values[name]
            if name in blank_is_none and is_blank(raw):
                values[name] = None
                continue
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                problems.append(RowProblem(row.number, row.columns[name], str(exc)))
                ok = False
        if ok:
            parsed.append((row, values))
    return parsed, problems


# OWASP's CSV-injection guidance: a spreadsheet runs a cell that starts with = + - @ (or a tab or
# carriage return before one) as a formula. Such text gets a leading apostrophe, which spreadsheets
# show as text; figures (a plain number, "-2" included) stay as they are.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def neutralise(value: object) -> object:
    """A CSV cell that no spreadsheet will run: text starting like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def csv_text(columns: list[str], rows: list[dict]) -> str:
    """CSV (UTF-8 text, `\n` line ends) with a header and one line per dict; other keys are ignored.
    Text that a spreadsheet would run as a formula is neutralised (see `neutralise`)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: neutralise(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()
