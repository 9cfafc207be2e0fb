"""Parsing the cells people type into purchase slips and spreadsheets.

Each parser takes the raw cell (text from CSV, or a typed value from XLSX) and returns a clean
value or raises ValueError with a reason written for the person who typed it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Callable, Sequence

# Excel's day 0 is 1899-12-30 (its 1900 leap-year bug makes this the correct epoch after Feb 1900).
EXCEL_EPOCH = dt.date(1899, 12, 30)
EXCEL_SERIAL_MIN = (dt.date(1990, 1, 1) - EXCEL_EPOCH).days
EXCEL_SERIAL_MAX = (dt.date(2100, 1, 1) - EXCEL_EPOCH).days

_DATE_PATTERNS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_NUMBER = re.compile(r"^[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$")
_MONEY = re.compile(r"^¥?(?P<number>[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?)元?$")
# Characters no cell may hold: C0 and C1 controls (NUL among them) and the invisible direction
# controls (U+202A-U+202E, U+2066-U+2069, and the marks U+200E, U+200F, U+061C), which make text
# display in another order than it is stored ("ABC\u202efdp.exe" shows as "ABCexe.pdf").
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORBIDDEN_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_TRUE = {"yes", "y", "true", "t", "1", "是", "对", "√"}
_FALSE = {"no", "n", "false", "f", "0", "否", "不", "×"}


def clean_text(value: object) -> str:
    """Cell as text: full-width forms folded (NFKC), surrounding space removed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def is_blank(value: object) -> bool:
    return clean_text(value) == ""


def parse_date(value: object) -> dt.date:
    """A date from ISO, slashes, dots, 2024年3月5日, 20240305, an Excel date cell or serial."""
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise ValueError(f"'{value}' has a time of day; enter the date only")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_excel_serial(value)
    text = clean_text(value)
    if not text:
        raise ValueError("is empty: enter a date such as 2025-03-05")
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return _from_excel_serial(float(text))
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                return dt.date(y, mo, d)
            except ValueError:
                raise ValueError(f"'{text}' is not a real date (no day {d} in {y}-{mo:02d})") from None
    raise ValueError(f"'{text}' is not a date: write it as YYYY-MM-DD, e.g. 2025-03-05")


def _from_excel_serial(serial: float) -> dt.date:
    if serial != int(serial):
        raise ValueError(f"'{serial}' looks like an Excel date with a time of day; enter the date only")
    if not (EXCEL_SERIAL_MIN <= serial < EXCEL_SERIAL_MAX):
        raise ValueError(f"'{serial:g}' is not a date: write it as YYYY-MM-DD, e.g. 2025-03-05")
    return EXCEL_EPOCH + dt.timedelta(days=int(serial))


def parse_optional_date(value: object) -> dt.date | None:
    return None if is_blank(value) else parse_date(value)


def parse_month(text: str) -> dt.date:
    """'YYYY-MM' -> the first day of that month."""
    m = _MONTH.match(clean_text(text))
    if not m or not (1 <= int(m.group(2)) <= 12):
        raise ValueError(f"'{text}' is not a month: write it as YYYY-MM, e.g. 2025-03")
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def month_bounds(first: dt.date) -> tuple[dt.date, dt.date]:
    """[first day, first day of the next month)."""
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt


def month_label(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_decimal(value: object) -> Decimal:
    """A number; thousands separators allowed (1,234.5), full-width digits folded."""
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # openpyxl hands numeric cells over as float; repr gives the shortest exact-looking text.
        return Decimal(repr(value))
    text = clean_text(value).replace(" ", "")
    if not text:
        raise ValueError("is empty: enter a number")
    if not _NUMBER.match(text):
        raise ValueError(f"'{text}' is not a number")
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern already guarantees a number
        raise ValueError(f"'{text}' is not a number") from None


def parse_positive_decimal(value: object) -> Decimal:
    number = parse_decimal(value)
    if number <= 0:
        raise ValueError(f"'{clean_text(value)}' must be greater than 0 (to correct an entry, void it)")
    return number


def parse_money_fen(value: object) -> int:
    """Yuan to integer fen: a number, optionally ¥ (or ￥) before it and 元 after it ('¥1,234.50',
    '1234.5元'); more than 2 decimals, or any other text around the number, refused."""
    raw = value
    if isinstance(value, str) or value is None:
        text = clean_text(value)  # NFKC folds the full-width ￥ into ¥
        m = _MONEY.match(text.replace(" ", ""))
        if not m:
            if not text:
                raise ValueError("is empty: enter the amount in yuan, e.g. 230.50")
            raise ValueError(f"'{visible(text)}' is not a number of yuan: write it as 1234.50, "
                             "optionally with ¥ before it or 元 after it (¥1,234.50 or 1234.50元)")
        raw = m.group("number")
    yuan = parse_decimal(raw)
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"'{clean_text(value)}' has more than 2 decimals; amounts are in yuan and fen")
    if fen <= 0:
        raise ValueError(f"'{clean_text(value)}' must be greater than 0 (to correct an entry, void it)")
    return int(fen)


# The column forms below read a whole column's plain cells at once and answer UNSURE for every
# other cell, which then goes through the cell parser above: one meaning of a cell, two speeds.
UNSURE = object()
_PLAIN_YUAN = re.compile(r"(\d{1,12})(?:\.(\d{1,2}))?")


_CENTS_COLUMN = re.compile(r"(?:[0-9]{1,12}\.[0-9]{2}\n)*")


def plain_money_fen(cells: Sequence[object], max_fen: int) -> list:
    """parse_money_fen of each plain amount ('1234', '1234.5', '1234.50', more than 0 and at most
    `max_fen`); UNSURE for every other cell."""
    # The common column first, read as one text: every cell ASCII digits with two decimals. The
    # cells are joined by line breaks, so that as many numbers as cells means one number a cell.
    try:
        joined = "\n".join(cells) + "\n"
    except TypeError:  # a cell that is not text
        joined = ""
    if joined and _CENTS_COLUMN.fullmatch(joined):
        values = list(map(int, joined.replace(".", "").split()))
        if len(values) == len(cells) and min(values) > 0 and max(values) <= max_fen:
            return values
    out: list = []
    match = _PLAIN_YUAN.fullmatch
    for cell in cells:
        m = match(cell) if cell.__class__ is str else None
        if m is None:
            out.append(UNSURE)
            continue
        yuan, fen = m.groups()
        value = int(yuan) * 100 + (int(fen) * (10 if len(fen) == 1 else 1) if fen else 0)
        out.append(value if 0 < value <= max_fen else UNSURE)
    return out


def plain_texts(cells: Sequence[object], max_length: int, multiline: bool = False, blank: object = UNSURE) -> list:
    """check_text(clean_text(cell)) of each text cell that is plainly fine (`blank` for an empty one);
    UNSURE for every other cell. The column is checked as one text: no control character anywhere
    and already in NFKC form (the spaces joining the cells join nothing: a space is a starter, so
    the whole is NFKC exactly when each cell is)."""
    forbidden = _FORBIDDEN_MULTILINE if multiline else _FORBIDDEN
    texts = [c for c in cells if c.__class__ is str]
    joined = " ".join(texts)
    plain = None
    if forbidden.search(joined) is not None or not unicodedata.is_normalized("NFKC", joined):
        plain = {c for c in texts if forbidden.search(c) is None and unicodedata.is_normalized("NFKC", c)}
    out: list = []
    for cell in cells:
        if cell.__class__ is str and (plain is None or cell in plain):
            text = cell.strip()
            out.append(text if text and len(text) <= max_length else blank if not text else UNSURE)
        elif cell is None:
            out.append(blank)
        else:
            out.append(UNSURE)
    return out


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = clean_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"'{clean_text(value)}' is not yes/no (use yes/no, true/false, 1/0 or 是/否)")


def visible(text: str, limit: int = 60) -> str:
    """`text` as a message may quote it: invisible controls written out (\\u202e), at most `limit` characters."""
    shown = _FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return shown if len(shown) <= limit else shown[:limit - 1] + "…"


def inert(text: str) -> str:
    """Text to display: direction controls written out, so nothing shows in another order than it is stored."""
    return _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def check_text(text: str, max_length: int | None = None, multiline: bool = False) -> str:
    """`text` unless it holds a control or direction character (tabs and line breaks are allowed
    where `multiline`), or is longer than `max_length` characters."""
    bad = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN).search(text)
    if bad:
        ch = bad.group()
        what = ("an invisible direction control, which makes text display in another order than it is"
                if _BIDI.match(ch) else "a control character" + (" (NUL)" if ch == "\x00" else ""))
        raise ValueError(f"holds {what} (U+{ord(ch):04X}) at character {bad.start() + 1}: remove it")
    if max_length is not None and len(text) > max_length:
        raise ValueError(f"is {len(text):,} characters long; at most {max_length:,} fit: shorten it")
    return text


def required_text(value: object, max_length: int | None = None) -> str:
    """Text that must not be empty."""
    text = clean_text(value)
    if not text:
        raise ValueError("is empty")
    return check_text(text, max_length)


def required(what: str, max_length: int | None = None) -> Callable[[object], str]:
    """A parser of text that must not be empty; the message names `what` to enter."""
    def parse(value: object) -> str:
        text = clean_text(value)
        if not text:
            raise ValueError(f"is empty: enter the {what}")
        return check_text(text, max_length)
    return parse


def optional_text(value: object, max_length: int | None = None, multiline: bool = False) -> str | None:
    return check_text(clean_text(value), max_length, multiline) or None


def parse_code(value: object, max_length: int | None = None) -> str:
    """An identifier (an institution's, canteen's, supplier's or category's code): not empty, no
    controls, and not starting with = + - @, which spreadsheets read as the start of a formula."""
    text = required_text(value, max_length)
    if text[0] in "=+-@":
        raise ValueError(f"'{visible(text)}' starts with '{text[0]}': a code is an identifier; "
                         "start it with a letter or a digit")
    return text


def choice(aliases: dict[str, str], what: str) -> Callable[[object], str]:
    """A parser of one of a few words: each accepted spelling (English or Chinese) maps to its value."""
    def parse(value: object) -> str:
        text = clean_text(value)
        key = aliases.get(text) or aliases.get(text.lower())
        if key is None:
            allowed = ", ".join(sorted(set(aliases.values())))
            raise ValueError(f"'{text}' is not a {what}; use one of: {allowed} (or the Chinese term)")
        return key
    return parse


def parse_count(value: object) -> int:
    """A whole number >= 0 (people, posts, places)."""
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"'{clean_text(value)}' is not a whole number")
    if number < 0:
        raise ValueError(f"'{clean_text(value)}' is negative; enter 0 or more")
    return int(number)
