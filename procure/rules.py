"""The quota rule: one typed settings table with the plan's defaults (item 19)."""

from __future__ import annotations

import datetime as dt
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


# ---------------------------------------------------------------------------------------------
# The supplier's poverty-alleviation window: the one statement of when a purchase counts.

EXPIRY_WARNING_DAYS = 30  # a report lists certified purchases made this close to the certificate's end


class Standing(StrEnum):
    """Where a purchase date stands against a supplier's validity window."""

    VALID = "valid"
    EXPIRING = "expiring"  # valid, within EXPIRY_WARNING_DAYS of the end
    NOT_YET = "not_yet"  # before valid_from
    EXPIRED = "expired"  # after valid_to


def standing(valid_from: dt.date | None, valid_to: dt.date | None, day: dt.date,
             warning_days: int = EXPIRY_WARNING_DAYS) -> Standing:
    """Bounds inclusive; an empty bound is open."""
    if valid_from is not None and day < valid_from:
        return Standing.NOT_YET
    if valid_to is not None and day > valid_to:
        return Standing.EXPIRED
    if valid_to is not None and (valid_to - day).days <= warning_days:
        return Standing.EXPIRING
    return Standing.VALID


def eligible_on(eligibility: str, valid_from: dt.date | None, valid_to: dt.date | None, day: dt.date) -> bool:
    """A poverty-alleviation source on `day`: an eligibility other than 'none', within its window."""
    return eligibility != "none" and standing(valid_from, valid_to, day) in (Standing.VALID, Standing.EXPIRING)
