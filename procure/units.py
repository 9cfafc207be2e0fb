"""Units of weight seen on Chinese purchase slips, converted to milligrams exactly.

The ledger stores mass as integer milligrams so that sums are exact on every database and a
kilogram figure with 3 decimals (whole grams) can always be shown by rounding half up.
"""

from __future__ import annotations

from decimal import Decimal

MG_PER_KG = 1_000_000

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
