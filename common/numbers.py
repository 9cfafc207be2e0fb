"""Rounding, in one place: half up (away from zero), exact on fractions, decimals and integers.

Every figure fupin shows or writes is rounded here, for display only; sums and decisions use
the exact values.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


def round_half_up(value: Fraction | Decimal | int, places: int) -> Decimal:
    """`value` to `places` decimals, halves away from zero: 0.0005 -> 0.001, -0.0005 -> -0.001."""
    exact = Fraction(value)
    scaled = abs(exact) * 10**places
    whole = int(scaled + Fraction(1, 2))
    out = Decimal(whole).scaleb(-places)
    return -out if exact < 0 else out
