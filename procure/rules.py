"""The quota rule: one typed settings table with the plan's defaults (item 19)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from common.errors import FupinError


class Basis(StrEnum):
    QUANTITY = "quantity"  # the plan counts quantity (数量)
    AMOUNT = "amount"  # the finance offices' value view


class Scope(StrEnum):
    POOLED = "pooled"  # all counting categories together
    PER_CATEGORY = "per_category"  # every counting category on its own


@dataclass(frozen=True)
class QuotaRule:
    """At least `threshold` of each month's farm produce from poverty-alleviation sources."""

    threshold: Decimal = Decimal("0.20")
    basis: Basis = Basis.QUANTITY
    scope: Scope = Scope.POOLED

    def __post_init__(self) -> None:
        if not (Decimal(0) <= self.threshold <= Decimal(1)):
            raise FupinError(f"threshold must be between 0 and 1, got {self.threshold}")

    def with_overrides(self, threshold=None, basis=None, scope=None) -> "QuotaRule":
        return replace(
            self,
            threshold=self.threshold if threshold is None else Decimal(str(threshold)),
            basis=self.basis if basis is None else Basis(basis),
            scope=self.scope if scope is None else Scope(scope),
        )


DEFAULT_RULE = QuotaRule()
