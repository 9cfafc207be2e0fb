"""Reading CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX files into rows keyed by field.

Every row keeps its spreadsheet row number (the header is row 1) and every field its column
letter, so that problems can be reported where the user will look for them.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import operator
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .cells import clean_text, is_blank
from .errors import FupinError, InputFileError, ProblemList, RowProblem


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


def _csv_encoding(path: Path) -> tuple[str, int]:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312); the file is read in
    blocks, never held whole; and how many line breaks it holds."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        breaks = 0
        try:
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    decoder.decode(block)
                    breaks += block.count(b"\n")
                decoder.decode(b"", final=True)
            return encoding, breaks
        except UnicodeDecodeError:
            continue
    raise FupinError(f"{path}: cannot read the text: save the file as CSV UTF-8 (or GBK) and try again")


def _raw_rows(path: Path, facts: dict) -> Iterator[Sequence[object]]:
    """The file's rows one at a time (a CSV is never held whole, an XLSX sheet is read in read-only
    mode); facts["rows"] is set to an estimate of how many there are."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            yield from _xlsx_rows(path, facts)
        elif suffix in (".csv", ".txt"):
            encoding, facts["rows"] = _csv_encoding(path)
            with open(path, encoding=encoding, newline="") as fh:
                try:
                    yield from csv.reader(fh)
                except csv.Error as exc:
                    raise FupinError(f"{path}: not a valid CSV file: {exc}") from None
        elif suffix == ".xls":
            path.stat()
            raise FupinError(f"{path}: old .xls workbooks are not read; in Excel use Save As → .xlsx or CSV UTF-8")
        else:
            path.stat()
            raise FupinError(f"{path}: unknown file type '{suffix}': use .csv or .xlsx")
    except FileNotFoundError:
        raise FupinError(f"{path}: no such file") from None
    except OSError as exc:
        raise FupinError(f"{path}: cannot read: {exc.strerror}") from None


def _xlsx_rows(path: Path, facts: dict) -> Iterator[Sequence[object]]:
    import openpyxl  # here, not at the top: it is a fifth of every command's start-up
    from openpyxl.utils.exceptions import InvalidFileException

    path.stat()
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise FupinError(f"{path}: not a readable .xlsx workbook ({exc}); save it again from Excel") from None
    try:
        facts["rows"] = wb.worksheets[0].max_row
        yield from wb.worksheets[0].iter_rows(values_only=True)
    finally:
        wb.close()


_first_cell = operator.itemgetter(0)


def _blank_row(cells: Sequence[object]) -> bool:
    for cell in cells:
        if cell is None or cell == "":
            continue
        # ASCII is its own NFKC form, so str.isspace decides it without normalising.
        if cell.__class__ is str and cell.isascii():
            if not cell.isspace():
                return False
        elif not is_blank(cell):
            return False
    return True


@dataclass
class Chunk:
    """Consecutive rows of a table, column by column: the parsers work on whole columns."""

    numbers: list[int]  # spreadsheet row numbers
    cells: dict[str, Sequence[object]]  # field -> its cell in each row (None where the row is short)
    columns: dict[str, str]  # field -> "C (supplier)"

    def __len__(self) -> int:
        return len(self.numbers)

    def row(self, i: int) -> Row:
        return Row(self.numbers[i], {name: cells[i] for name, cells in self.cells.items()}, self.columns)


class TableReader:
    """A table read in chunks of rows, for files too large to hold: the header is checked when the
    reader is made (InputFileError), and the cells found outside any column are collected in
    `problems` while the chunks are read."""

    def __init__(self, path: Path | str, fields: list[Field], optional_extra: tuple[str, ...] = (),
                 max_problems: int | None = None):
        self.path = Path(path)
        self.problems = ProblemList(max_problems)
        self._facts: dict = {}
        self._rows = _raw_rows(self.path, self._facts)
        header = self._header()
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
            self._rows.close()
            raise InputFileError(str(self.path), problems)
        self.index = index
        # Named as the user's own header says, so a Chinese sheet gets "C (供应商)".
        self.columns = {name: f"{column_letter(i + 1)} ({clean_text(header[i])})" for name, i in index.items()}
        self._width = len(header)
        self._unnamed = [i for i, title in enumerate(header) if is_blank(title)]
        self._number = 1  # the header is row 1, whatever blank rows came before it

    @property
    def expected_rows(self) -> int | None:
        """About how many rows the file holds (line breaks in a CSV, the sheet's size in an XLSX)."""
        return self._facts.get("rows")

    def _header(self) -> Sequence[object]:
        for cells in self._rows:
            if not all(is_blank(c) for c in cells):
                return cells
        raise FupinError(f"{self.path}: the file is empty: the first row must hold the column headers")

    def chunks(self, size: int = 20_000) -> Iterator[Chunk]:
        """The non-empty rows, up to `size` at a time."""
        while True:
            batch = list(itertools.islice(self._rows, size))
            consumed = len(batch)
            if self._plain(batch):
                rows, numbers = batch, list(range(self._number + 1, self._number + 1 + consumed))
                self._number += consumed
                yield Chunk(numbers, self._columns(rows), self.columns)
                if consumed < size:
                    return
                continue
            rows = []
            numbers = []
            width, unnamed = self._width, self._unnamed
            for cells in batch:
                self._number += 1
                first = cells[0] if cells else None
                # A first cell of plain text decides that the row is not blank, without the full check.
                if not (first.__class__ is str and first.isascii() and first and not first.isspace()) and _blank_row(cells):
                    continue
                if len(cells) > width or unnamed:
                    self._stray(cells)
                rows.append(cells)
                numbers.append(self._number)
            if rows:
                yield Chunk(numbers, self._columns(rows), self.columns)
            if consumed < size:
                return

    def _plain(self, batch: list[Sequence[object]]) -> bool:
        """Whether no row of `batch` is blank or has a cell outside the named columns, decided a
        column at a time: every first cell is plain text (ASCII, not only spaces), no row is wider
        than the header, and the header names every column."""
        if not batch or self._unnamed or max(map(len, batch)) > self._width or min(map(len, batch)) == 0:
            return False
        firsts = list(map(_first_cell, batch))
        try:
            joined = "".join(firsts)
        except TypeError:  # a first cell that is not text
            return False
        return all(firsts) and joined.isascii() and not any(map(str.isspace, firsts))

    def _stray(self, cells: Sequence[object]) -> None:
        for i, cell in enumerate(cells):
            if (i >= self._width or i in self._unnamed) and not is_blank(cell):
                self.problems.add(RowProblem(self._number, column_letter(i + 1), "a value in a column without a header"))

    def _columns(self, rows: list[Sequence[object]]) -> dict[str, Sequence[object]]:
        needed = max(self.index.values()) + 1
        if min(map(len, rows)) < needed:
            rows = [cells if len(cells) >= needed else (*cells, *[None] * (needed - len(cells))) for cells in rows]
        transposed = list(zip(*rows))
        return {name: transposed[i] for name, i in self.index.items()}

    def close(self) -> None:
        self._rows.close()


def table_file(folder: Path | str, name: str) -> Path:
    """`folder`/`name` (e.g. counties.csv), or the workbook of the same stem (counties.xlsx) when
    only that is there."""
    path = Path(folder) / name
    workbook = path.with_suffix(".xlsx")
    return workbook if not path.exists() and workbook.exists() else path


def read_table(path: Path | str, fields: list[Field], optional_extra: tuple[str, ...] = ()) -> list[Row]:
    """Rows of `path` keyed by field name; wrong or missing headers raise InputFileError."""
    reader = TableReader(path, fields, optional_extra)
    rows = [chunk.row(i) for chunk in reader.chunks() for i in range(len(chunk))]
    if reader.problems:
        raise InputFileError(str(reader.path), reader.problems.listed, reader.problems.more)
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
