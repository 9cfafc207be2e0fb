"""Units, in one place: weights seen on Chinese purchase slips to exact milligrams, fen to yuan,
and how kg, yuan and shares are shown (rounded half up by common.numbers, for display only).

The ledger stores mass as integer milligrams and money as integer fen, so that sums are exact
on every database; kg are shown with 3 decimals (whole grams), yuan with 2, shares with 4.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from common.numbers import round_half_up

MG_PER_KG = 1_000_000
FEN_PER_YUAN = 100
KG_PLACES, YUAN_PLACES, SHARE_PLACES, PERCENT_PLACES = 3, 2, 4, 2

# Multipliers to kilograms. 斤 and 两 are the modern market units (500 g, 50 g).
KG_PER_UNIT: dict[str, Decimal] = {
    "kg": Decimal(1),
    "公斤": Decimal(1),
    "千克": Decimal(1),
    "g": Decimal("0.001"),
    "克": Decimal("0.001"),
    "斤": Decimal("0.5"),
    "市斤": Decimal("0.5"),
    "两": Decimal("0.05"),
    "t": Decimal(1000),
    "吨": Decimal(1000),
}

CANONICAL_UNITS = "kg/公斤, g/克, 斤, 两, t/吨"


def normalise_unit(unit: str) -> str:
    """Lower-case Latin units and strip spaces, so 'KG' and ' kg ' are the same unit."""
    return unit.strip().lower()


def is_weight_unit(unit: str) -> bool:
    return normalise_unit(unit) in KG_PER_UNIT


def to_mg(quantity: Decimal, kg_per_unit: Decimal) -> int:
    """Quantity times kg-per-unit in milligrams; raises ValueError if finer than 1 mg."""
    mg = quantity * kg_per_unit * MG_PER_KG
    if mg != mg.to_integral_value():
        raise ValueError("is more precise than 1 milligram")
    return int(mg)


def mg_to_kg(mg: int) -> Decimal:
    """Exact kilograms of a mass in milligrams (no rounding)."""
    return Decimal(mg) / MG_PER_KG


def fen_to_yuan(fen: int) -> Decimal:
    """Exact yuan of an amount in fen."""
    return Decimal(fen) / FEN_PER_YUAN


def kg(mg: int | Fraction) -> str:
    """Milligrams shown as kg with 3 decimals, half up: 500 mg -> '0.001'."""
    return str(round_half_up(Fraction(mg) / MG_PER_KG, KG_PLACES))


def yuan(fen: int | Fraction) -> str:
    """Fen shown as yuan with 2 decimals, half up."""
    return str(round_half_up(Fraction(fen) / FEN_PER_YUAN, YUAN_PLACES))


def share(value: Fraction | Decimal | None) -> str:
    """A share as a fraction with 4 decimals ('0.2914'), '' when there is none (nothing bought)."""
    return "" if value is None else str(round_half_up(value, SHARE_PLACES))


def percent(value: Fraction | Decimal | None, none: str = "—") -> str:
    """A share as a percentage with 2 decimals ('29.14%'), `none` when there is none."""
    return none if value is None else f"{round_half_up(Fraction(value) * 100, PERCENT_PLACES)}%"
