"""How figures are shown in the PDFs, in one place: thousands separators and shares as percentages.

The figures themselves come already rounded from procure.units (kg 3 decimals, yuan 2, shares 4,
half up) or from the planning view models; this only regroups their digits, so the PDF shows
exactly the value the CSV, JSON and XLSX carry (`3086803.52` is printed `3,086,803.52`, the share
`0.2914` is printed `29.14%`: the same half-up rounding, two places of a percentage being four of a share).
"""

from __future__ import annotations

import re
from decimal import Decimal

from procure.units import percent

NONE = "—"
_NUMBER = re.compile(r"^([+\-−]?)(\d+)(\.\d+)?$")


def grouped(value: object) -> str:
    """A number with thousands separators ('-1234567.50' -> '-1,234,567.50'); other text unchanged."""
    text = str(value)
    match = _NUMBER.match(text)
    if not match:
        return text
    sign, whole, fraction = match.groups()
    return f"{sign}{int(whole):,}{fraction or ''}"


def share_percent(value: object) -> str:
    """A share as printed by procure.units.share ('0.2914') as a percentage ('29.14%'); — when none."""
    text = str(value)
    if text in ("", NONE):
        return NONE
    if not _NUMBER.match(text):
        return text
    return percent(Decimal(text))


def number(value: object, places: int | None = None) -> str:
    """An int or float of a plan as shown: grouped, a float with `places` decimals (else as short as exact)."""
    if value is None:
        return NONE
    if isinstance(value, float):
        if places is not None:
            return f"{value:,.{places}f}"
        if value == int(value):
            return f"{int(value):,}"
        return grouped(f"{value:.4f}".rstrip("0").rstrip("."))
    return grouped(value)


def signed(value: int) -> str:
    """A change: '+1,234', '-5', '0'."""
    return f"{value:+,d}" if value else "0"
