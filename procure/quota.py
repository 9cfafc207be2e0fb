"""Monthly quota compliance, aggregated in the database, decided on exact values.

Sums come from one GROUP BY over the month's ledger (integer mg and fen); shares, shortfalls and
the status are exact fractions of those sums, rounded half up only for display.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from sqlalchemy import BigInteger, case, func, literal, select
from sqlalchemy.orm import Session

from common.cells import month_bounds, month_label, parse_month
from common.errors import FupinError
from db.models import Canteen, Category, Institution, Purchase

from .rules import Basis, QuotaRule, Scope


class Status(StrEnum):
    COMPLIANT = "compliant"
    SHORT = "short"
    NO_PURCHASES = "no_purchases"


@dataclass(frozen=True)
class Tally:
    """Exact sums: mass in mg, money in fen."""

    total_mg: int = 0
    pa_mg: int = 0
    total_fen: int = 0
    pa_fen: int = 0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(self.total_mg + other.total_mg, self.pa_mg + other.pa_mg,
                     self.total_fen + other.total_fen, self.pa_fen + other.pa_fen)

    @property
    def share_qty(self) -> Fraction | None:
        return Fraction(self.pa_mg, self.total_mg) if self.total_mg else None

    @property
    def share_amount(self) -> Fraction | None:
        return Fraction(self.pa_fen, self.total_fen) if self.total_fen else None

    def share(self, basis: Basis) -> Fraction | None:
        """The share the rule's basis judges: of quantity, or of amount."""
        return self.share_amount if basis == Basis.AMOUNT else self.share_qty

    def shortfall_mg(self, threshold: Decimal) -> Fraction:
        return shortfall(threshold, self.total_mg, self.pa_mg)

    def shortfall_fen(self, threshold: Decimal) -> Fraction:
        return shortfall(threshold, self.total_fen, self.pa_fen)

    def meets(self, rule: QuotaRule) -> bool:
        if rule.basis == Basis.AMOUNT:
            return self.shortfall_fen(rule.threshold) == 0
        return self.shortfall_mg(rule.threshold) == 0

    @property
    def bought(self) -> bool:
        return bool(self.total_mg or self.total_fen)


def shortfall(threshold: Decimal, total: int | Fraction, pa: int | Fraction) -> Fraction:
    """What is still missing to reach the threshold: max(0, threshold x total - pa), exact."""
    return max(Fraction(0), Fraction(threshold) * total - pa)


def judged_parts(counting: list[Tally], rule: QuotaRule) -> list[Tally]:
    """The scope rule. Pooled: the month's counting categories together; per category: each on its own."""
    return [t for t in counting if t.bought] if rule.scope == Scope.PER_CATEGORY else [sum(counting, Tally())]


def status_of(counting: list["Tally"], rule: QuotaRule) -> Status:
    if not sum(counting, Tally()).bought:
        return Status.NO_PURCHASES
    return Status.COMPLIANT if all(t.meets(rule) for t in judged_parts(counting, rule)) else Status.SHORT


def months_compliant(statuses: list[Status]) -> tuple[int, int]:
    """Over a period: (months compliant, months with purchases)."""
    return (sum(s == Status.COMPLIANT for s in statuses), sum(s != Status.NO_PURCHASES for s in statuses))


@dataclass
class CategoryLine:
    code: str
    name: str
    counts_toward_quota: bool
    tally: Tally


@dataclass
class Projection:
    """Where the month ends if buying goes on at the pace so far."""

    days_elapsed: int
    days_in_month: int
    projected_total_mg: Fraction
    projected_pa_mg: Fraction
    pa_mg_still_needed: Fraction


@dataclass
class CanteenCompliance:
    institution: str
    institution_name: str
    canteen: str
    canteen_name: str
    month: str
    threshold: Decimal
    tally: Tally
    status: Status
    shortfall_mg: Fraction
    shortfall_fen: Fraction
    categories: list[CategoryLine] = field(default_factory=list)
    projection: Projection | None = None


@dataclass
class Rollup:
    code: str
    name: str
    tally: Tally
    shortfall_mg: Fraction
    shortfall_fen: Fraction
    canteens: int
    compliant: int
    short: int
    no_purchases: int

    def __add__(self, other: "Rollup") -> "Rollup":
        """The same institution (or the province) over two periods: sums and counts added."""
        return Rollup(self.code, self.name, self.tally + other.tally, self.shortfall_mg + other.shortfall_mg,
                      self.shortfall_fen + other.shortfall_fen, self.canteens + other.canteens,
                      self.compliant + other.compliant, self.short + other.short,
                      self.no_purchases + other.no_purchases)


def over_period(rollups: list[Rollup]) -> Rollup:
    """One roll-up of several months' roll-ups of the same institution (or the province)."""
    total = rollups[0]
    for r in rollups[1:]:
        total = total + r
    return total


@dataclass
class MonthCompliance:
    month: str
    rule: QuotaRule
    canteens: list[CanteenCompliance]
    institutions: list[Rollup]
    province: Rollup
    as_of: dt.date


# Sums are taken in two halves, value // 2**32 and value % 2**32 (truncated as both databases
# divide), each of which a 64-bit SUM holds for billions of rows; Python adds them back exactly. A
# plain SUM raises "integer overflow" on SQLite once a month's mg pass 9.2 x 10^18, whatever the
# lines are (the importer refuses lines that large, but a ledger may hold older ones).
_HALF = 2**32


def _exact_sum(column, only_pa: bool = False) -> list:
    values = case((Purchase.is_pa, column), else_=0) if only_pa else column
    # op("/"): integer division as written; SQLAlchemy's `/` would divide as decimals.
    return [func.sum(values.op("/")(literal(_HALF, BigInteger))), func.sum(values % literal(_HALF, BigInteger))]


def _sums(session: Session, start: dt.date, end: dt.date):
    q = (select(Purchase.canteen_id, Purchase.category_id,
                *_exact_sum(Purchase.qty_mg), *_exact_sum(Purchase.qty_mg, True),
                *_exact_sum(Purchase.amount_fen), *_exact_sum(Purchase.amount_fen, True))
         .where(Purchase.purchase_date >= start, Purchase.purchase_date < end)
         .group_by(Purchase.canteen_id, Purchase.category_id))
    out = {}
    for canteen, category, *halves in session.execute(q):
        t, p, a, pa = (int(high) * _HALF + int(low) for high, low in zip(halves[::2], halves[1::2]))
        out[(canteen, category)] = Tally(t, p, a, pa)
    return out


def _shortfalls(counting: list[Tally], rule: QuotaRule) -> tuple[Fraction, Fraction]:
    parts = judged_parts(counting, rule)
    return (sum((t.shortfall_mg(rule.threshold) for t in parts), Fraction(0)),
            sum((t.shortfall_fen(rule.threshold) for t in parts), Fraction(0)))


def _projection(tally: Tally, first: dt.date, today: dt.date, rule: QuotaRule) -> Projection | None:
    if (today.year, today.month) != (first.year, first.month):
        return None
    days = calendar.monthrange(first.year, first.month)[1]
    pace = Fraction(days, today.day)
    total, pa = tally.total_mg * pace, tally.pa_mg * pace
    needed = shortfall(rule.threshold, total, tally.pa_mg)
    return Projection(today.day, days, total, pa, needed)


def rollup(code: str, name: str, rows: list[CanteenCompliance]) -> Rollup:
    """Canteen lines (of one institution, the province, or one canteen over months) summed and counted."""
    return Rollup(
        code, name, sum((r.tally for r in rows), Tally()),
        sum((r.shortfall_mg for r in rows), Fraction(0)), sum((r.shortfall_fen for r in rows), Fraction(0)),
        len(rows), sum(r.status == Status.COMPLIANT for r in rows), sum(r.status == Status.SHORT for r in rows),
        sum(r.status == Status.NO_PURCHASES for r in rows),
    )


def first_day(month: str) -> dt.date:
    """The first day of `month` (YYYY-MM), or a FupinError saying how to write it."""
    try:
        return parse_month(month)
    except ValueError as exc:
        raise FupinError(f"--month: {exc}") from None


def month_compliance(session: Session, month: str, rule: QuotaRule, institution: str | None = None,
                     today: dt.date | None = None) -> MonthCompliance:
    """Every canteen's compliance for `month` (YYYY-MM), with institution and province roll-ups."""
    first = first_day(month)
    today = today or dt.date.today()
    start, end = month_bounds(first)
    sums = _sums(session, start, end)
    categories = list(session.scalars(select(Category).order_by(Category.code)))
    q = select(Canteen, Institution).join(Institution).order_by(Institution.code, Canteen.code)
    if institution:
        if session.scalar(select(Institution.id).where(Institution.code == institution)) is None:
            raise FupinError(f"unknown institution '{institution}': see `fupin procure list institutions`")
        q = q.where(Institution.code == institution)
    lines: list[CanteenCompliance] = []
    for canteen, inst in session.execute(q):
        cats = [CategoryLine(c.code, c.name, c.counts_toward_quota, sums[(canteen.id, c.id)])
                for c in categories if (canteen.id, c.id) in sums]
        counting = [c.tally for c in cats if c.counts_toward_quota]
        tally = sum(counting, Tally())
        short_mg, short_fen = _shortfalls(counting, rule)
        lines.append(CanteenCompliance(
            inst.code, inst.name, canteen.code, canteen.name, month_label(first), rule.threshold, tally,
            status_of(counting, rule), short_mg, short_fen, cats, _projection(tally, first, today, rule)))
    by_inst: dict[tuple[str, str], list[CanteenCompliance]] = {}
    for line in lines:
        by_inst.setdefault((line.institution, line.institution_name), []).append(line)
    institutions = [rollup(code, name, rows) for (code, name), rows in by_inst.items()]
    return MonthCompliance(month_label(first), rule, lines, institutions, rollup("province", "全省", lines), today)
