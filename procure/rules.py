"""The ledger's rules and defaults, in one typed settings table: the quota (plan item 19), what a
single purchase line may hold, and the supplier's poverty-alleviation window."""

from __future__ import annotations

import datetime as dt
import os
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
# What one purchase line may hold. Beyond these a line is a typing error (a canteen does not buy
# 1,000 t or ¥10,000,000 of produce on one invoice line), and refusing it keeps every monthly sum
# far inside the databases' 64-bit integers.


@dataclass(frozen=True)
class LineLimits:
    """Bounds of a single purchase line; each can be set by an environment variable."""

    max_kg: Decimal = Decimal(1_000_000)  # 1,000 t (FUPIN_MAX_LINE_KG)
    max_yuan: Decimal = Decimal(10_000_000)  # FUPIN_MAX_LINE_YUAN
    earliest_date: dt.date = dt.date(2000, 1, 1)  # FUPIN_EARLIEST_DATE
    # The ledger's own ceilings, whatever the settings: PostgreSQL's INTEGER for line numbers, and
    # amounts a 64-bit sum of a million lines cannot overflow.
    MAX_LINE_NUMBER = 2**31 - 1
    CEILING_KG = Decimal(10**9)
    CEILING_YUAN = Decimal(10**10)

    def __post_init__(self) -> None:
        if not (0 < self.max_kg <= self.CEILING_KG):
            raise FupinError(f"the largest line must be between 0 and {self.CEILING_KG:,} kg, got {self.max_kg}")
        if not (0 < self.max_yuan <= self.CEILING_YUAN):
            raise FupinError(f"the largest line must be between 0 and {self.CEILING_YUAN:,} yuan, got {self.max_yuan}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "LineLimits":
        env = os.environ if environ is None else environ
        values: dict = {}
        for key, name, parse in (("max_kg", "FUPIN_MAX_LINE_KG", Decimal), ("max_yuan", "FUPIN_MAX_LINE_YUAN", Decimal),
                                 ("earliest_date", "FUPIN_EARLIEST_DATE", dt.date.fromisoformat)):
            if env.get(name):
                try:
                    values[key] = parse(env[name].strip())
                except (ArithmeticError, ValueError):
                    raise FupinError(f"{name}='{env[name]}' is not a "
                                     f"{'date (YYYY-MM-DD)' if key == 'earliest_date' else 'number'}") from None
        return cls(**values)


# ---------------------------------------------------------------------------------------------
# How a large purchase file is imported (the same lines and messages whatever these are).


@dataclass(frozen=True)
class BulkImport:
    """A file of `helper_from_rows` rows or more is read, parsed and hashed in a helper process while
    this one inserts: two cores at work, for about half a second of the helper's start-up, which
    only a large file earns back (an API request, a form or a small file never pays it). Only while
    a second core is idle: the 1-minute load average (this import counts one) below the cores less
    `idle_margin`; on a busy machine the two processes would share a core and take longer than one
    (measured: 16-19 s against 13.8 s for a million lines). The first `lead_rows` rows are this
    process's own: it parses and inserts them while the helper starts up (a new interpreter and its
    imports, about half a second), and the helper reads past them."""

    helper_from_rows: int = 100_000
    idle_margin: float = 0.5
    lead_rows: int = 50_000

    def lead_rows_of(self, suffix: str) -> int:
        """The lead for a file of this suffix: a CSV's rows the helper reads past quickly, a workbook's
        cost it as much to read past as to read (so there the helper reads them all)."""
        return self.lead_rows if suffix.lower() in (".csv", ".txt") else 0

    def uses_helper(self, rows: int) -> bool:
        cores = len(os.sched_getaffinity(0))
        return rows >= self.helper_from_rows and cores > 1 and os.getloadavg()[0] < cores - self.idle_margin


BULK_IMPORT = BulkImport()


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
