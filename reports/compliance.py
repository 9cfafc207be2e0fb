"""View models for the compliance reports, built from procure.quota results and the ledger rows.

Every figure is computed by procure.quota and formatted by procure.units (kg 3 decimals, yuan 2,
shares 4, half up), so a report shows exactly what `fupin procure compliance` shows for the same
month; this module only chooses and lays out the figures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.cells import month_bounds, month_label, parse_month
from common.errors import FupinError
from db.models import AuditEvent, Canteen, Category, Institution, Purchase, Supplier
from procure import quota
from procure.formats import tally_figures
from procure.quota import (
    CanteenCompliance,
    MonthCompliance,
    Rollup,
    Status,
    Tally,
    months_compliant,
    over_period,
    rollup,
)
from procure.rules import QuotaRule, Standing, standing
from procure.units import kg, share, yuan
from procure.wording import rule_text

from .i18n import LABELS, LANGS, STATUS_TEXT
from .render import Table

PROVINCE = "province"
CHART_MONTHS = 12
MAX_MONTHS = 36
CHINA = dt.timezone(dt.timedelta(hours=8))
SUMMARY_FIGURES = ["total_kg", "pa_kg", "share_qty", "total_amount", "pa_amount", "share_amount", "status",
           "shortfall_kg", "shortfall_amount"]
FIGURE_LABEL = {"total_kg": "total_kg", "pa_kg": "pa_kg", "share_qty": "share_qty", "total_amount": "total_yuan",
                "pa_amount": "pa_yuan", "share_amount": "share_amount", "status": "status",
                "shortfall_kg": "shortfall_kg", "shortfall_amount": "shortfall_yuan"}


@dataclass
class ChartData:
    months: list[str]
    series: list[tuple[str, list[Fraction | None]]]
    threshold: Fraction


@dataclass(frozen=True)
class LedgerLine:
    """One ledger row as the report uses it; all of it goes into the fingerprint."""

    id: int
    date: dt.date
    institution: str
    canteen: str
    canteen_name: str
    supplier: str
    supplier_name: str
    eligibility: str
    certificate: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    category: str
    counts: bool
    product: str
    quantity: str
    unit: str
    qty_mg: int
    amount_fen: int
    ref: str
    line: int
    is_pa: bool
    pa_source: str
    pa_certificate: str | None
    reverses_id: int | None

    def canonical(self) -> str:
        return json.dumps([str(v) if isinstance(v, dt.date) else v for v in self.__dict__.values()],
                          ensure_ascii=False)


@dataclass
class ReportView:
    lang: str
    t: dict[str, str]
    scope: str  # institution code or PROVINCE
    scope_name: str
    months: list[str]
    rule: QuotaRule
    rule_text: str
    data_taken: str
    fingerprint: str
    entry_ids: list[int]
    summary: Table
    details: list[Table]
    exceptions: list[Table]
    appendix: Table | None
    chart: ChartData
    snapshot: dict
    lines: dict[int, LedgerLine]
    issue_no: int | None = None
    previous_no: int | None = None
    amendment: bool = False
    changes: list[str] = field(default_factory=list)
    chain_head: str = ""  # the ledger's hash chain head when the report was built (db.chain)

    @property
    def title(self) -> str:
        return self.t["title_province" if self.scope == PROVINCE else "title_institution"]

    @property
    def heading(self) -> str:
        """The report's title, composed once: the province's title already says 全省 (Province)."""
        return self.title if self.scope == PROVINCE else f"{self.scope_name} {self.title}"

    @property
    def period_label(self) -> str:
        return self.months[0] if len(self.months) == 1 else f"{self.months[0]} .. {self.months[-1]}"

    @property
    def report_key(self) -> str:
        """Same key = same report: language and file format do not make a different report."""
        r = self.rule
        return f"compliance|{self.scope}|{self.months[0]}|{self.months[-1]}|{r.threshold}|{r.basis}|{r.scope}"


def parse_period(month: str | None, period: str | None) -> list[str]:
    """--month YYYY-MM or --period YYYY-MM..YYYY-MM -> the months, in order."""
    if bool(month) == bool(period):
        raise FupinError("give either --month YYYY-MM or --period YYYY-MM..YYYY-MM (e.g. 2025-01..2025-03)")
    text = month or period
    first_text, sep, last_text = text.partition("..")
    if period and not sep:
        raise FupinError(f"--period '{period}' is not a range: write it as YYYY-MM..YYYY-MM, e.g. 2025-01..2025-03")
    try:
        first = parse_month(first_text)
        last = parse_month(last_text) if sep else first
    except ValueError as exc:
        raise FupinError(f"--{'period' if period else 'month'}: {exc}") from None
    if last < first:
        raise FupinError(f"--period '{period}' ends before it starts")
    months = _months_between(first, last)
    if len(months) > MAX_MONTHS:
        raise FupinError(f"--period '{period}' covers {len(months)} months; at most {MAX_MONTHS}")
    return months


def _months_between(first: dt.date, last: dt.date) -> list[str]:
    out, day = [], first
    while day <= last:
        out.append(month_label(day))
        day = month_bounds(day)[1]
    return out


def _last_months(last: str, n: int) -> list[str]:
    day = parse_month(last)
    y, m = day.year, day.month - (n - 1)
    while m < 1:
        y, m = y - 1, m + 12
    return _months_between(dt.date(y, m, 1), day)


def ledger_lines(session: Session, months: list[str], institution: str | None) -> list[LedgerLine]:
    start = month_bounds(parse_month(months[0]))[0]
    end = month_bounds(parse_month(months[-1]))[1]
    q = (select(Purchase, Canteen, Institution.code, Supplier, Category)
         .join(Canteen, Purchase.canteen_id == Canteen.id).join(Institution, Canteen.institution_id == Institution.id)
         .join(Supplier, Purchase.supplier_id == Supplier.id).join(Category, Purchase.category_id == Category.id)
         .where(Purchase.purchase_date >= start, Purchase.purchase_date < end).order_by(Purchase.id))
    if institution:
        q = q.where(Institution.code == institution)
    return [LedgerLine(p.id, p.purchase_date, inst, c.code, c.name, s.code, s.name, s.eligibility, s.certificate,
                       s.valid_from, s.valid_to, k.code, k.counts_toward_quota, p.product, p.quantity, p.unit,
                       p.qty_mg, p.amount_fen, p.ref, p.line, p.is_pa, p.pa_source, p.pa_certificate, p.reverses_id)
            for p, c, inst, s, k in session.execute(q)]


def fingerprint(lines: list[LedgerLine], scope: str, months: list[str], rule: QuotaRule) -> str:
    """sha256 of the report's scope, period, rule and every ledger row it was built from."""
    h = hashlib.sha256()
    h.update(json.dumps([scope, months, str(rule.threshold), rule.basis.value, rule.scope.value]).encode())
    for line in lines:
        h.update(b"\n" + line.canonical().encode())
    return h.hexdigest()


def _figures(tally: Tally, short_mg: Fraction, short_fen: Fraction, status: str) -> dict[str, str]:
    return {**tally_figures(tally), "status": status, "shortfall_kg": kg(short_mg), "shortfall_amount": yuan(short_fen)}


def _figure_columns(t: dict[str, str]) -> list[str]:
    return [t[FIGURE_LABEL[f]] for f in SUMMARY_FIGURES]


def _row(figs: dict[str, str], status_text: str) -> list[str]:
    return [status_text if f == "status" else figs[f] for f in SUMMARY_FIGURES]


def _live(lines: list[LedgerLine]) -> list[LedgerLine]:
    """Entries still standing: neither a void nor voided (a void carries its original's date)."""
    voided = {ln.reverses_id for ln in lines if ln.reverses_id is not None}
    return [ln for ln in lines if ln.reverses_id is None and ln.id not in voided]


def _certificate_issues(lines: list[LedgerLine], t: dict[str, str]) -> list[list[str]]:
    rows = []
    for ln in _live(lines):
        if ln.eligibility != "certified":
            continue
        where = standing(ln.valid_from, ln.valid_to, ln.date)
        if where == Standing.VALID:
            continue
        issue = t[where.value].format(days=(ln.valid_to - ln.date).days if ln.valid_to else "")
        rows.append([str(ln.date), ln.canteen, ln.supplier_name, ln.certificate or "—",
                     str(ln.valid_to or "—"), ln.product, kg(ln.qty_mg), yuan(ln.amount_fen),
                     f"{ln.ref}/{ln.line}", issue])
    return rows


def _short_rows(results: list[MonthCompliance], rule: QuotaRule, with_institution: bool) -> list[list[str]]:
    rows = []
    for res in results:
        for c in res.canteens:
            if c.status == Status.SHORT:
                rows.append([res.month, *([c.institution] if with_institution else []), c.canteen, c.canteen_name,
                             share(c.tally.share(rule.basis)), kg(c.shortfall_mg), yuan(c.shortfall_fen)])
    return rows


def _status_text(statuses: list[Status], t_status: dict) -> tuple[str, str]:
    """(snapshot value, display): one month shows its status, a period 'compliant months/months bought'."""
    if len(statuses) == 1:
        return statuses[0].value, t_status[statuses[0]]
    ok, bought = months_compliant(statuses)
    return f"{ok}/{bought}", f"{ok}/{bought}"


def build(session: Session, months: list[str], institution: str | None, rule: QuotaRule, lang: str,
          now: dt.datetime) -> ReportView:
    """The view model of one compliance report (an institution's, or the province summary)."""
    if lang not in LANGS:
        raise FupinError(f"--lang '{lang}': use one of {', '.join(LANGS)}")
    t = LABELS[lang]
    chart_months = _last_months(months[-1], CHART_MONTHS)
    by_month = {m: quota.month_compliance(session, m, rule, institution, now.date())
                for m in sorted(set(chart_months) | set(months))}
    period = [by_month[m] for m in months]
    lines = ledger_lines(session, months, institution)
    scope = institution or PROVINCE
    if institution and not period[0].canteens:
        raise FupinError(f"institution '{institution}' has no canteens: see `fupin procure list canteens`")
    if institution:
        name = session.scalar(select(Institution.name).where(Institution.code == institution))
        summary, details, snapshot = _institution_tables(period, rule, t, lang)
        series = [(name, [by_month[m].institutions[0].tally.share(rule.basis) if by_month[m].institutions
                          else None for m in chart_months])]
        for code, cname in [(c.canteen, c.canteen_name) for c in period[-1].canteens]:
            series.append((f"{code} {cname}", [
                next((c.tally.share(rule.basis) for c in by_month[m].canteens if c.canteen == code), None)
                for m in chart_months]))
        appendix = _appendix(lines, t)
    else:
        name = t["province"]
        summary, details, snapshot = _province_tables(period, rule, t, lang)
        series = [(name, [by_month[m].province.tally.share(rule.basis) for m in chart_months])]
        for r in period[-1].institutions:
            series.append((f"{r.code} {r.name}", [
                next((i.tally.share(rule.basis) for i in by_month[m].institutions if i.code == r.code), None)
                for m in chart_months]))
        appendix = None
    short_cols = [t["month"], *([t["institution"]] if not institution else []), t["code"], t["canteen"],
                  t["share"], t["shortfall_kg"], t["shortfall_yuan"]]
    exceptions = [
        Table("short", t["short"], short_cols, _short_rows(period, rule, not institution),
              set(range(len(short_cols) - 3, len(short_cols))), empty=t["no_exceptions"],
              shares={len(short_cols) - 3}, names={len(short_cols) - 4}, keys=len(short_cols) - 3),
        Table("certificates", t["certificates"],
              [t["date"], t["canteen"], t["supplier"], t["certificate"], t["valid_to"], t["product"], "kg",
               t["total_yuan"], t["ref"], t["issue"]], _certificate_issues(lines, t), {6, 7},
              empty=t["no_exceptions"], keys=2),
    ]
    snapshot["entries"] = [ln.id for ln in lines]
    return ReportView(
        lang=lang, t=t, scope=scope, scope_name=name, months=months, rule=rule, rule_text=rule_text(rule, lang),
        data_taken=f"{now.astimezone(CHINA):%Y-%m-%d %H:%M} (UTC+8)",
        fingerprint=fingerprint(lines, scope, months, rule), entry_ids=[ln.id for ln in lines],
        summary=summary, details=details, exceptions=exceptions, appendix=appendix,
        chart=ChartData(chart_months, series, Fraction(rule.threshold)), snapshot=snapshot,
        lines={ln.id: ln for ln in lines})


def _figure_layout(first: int, names: set[int]) -> dict:
    """How the summary figures from column `first` on are printed: shares as percentages; a split
    keeps the quantities, the amounts, and status with shortfall together."""
    at = {f: first + k for k, f in enumerate(SUMMARY_FIGURES)}
    return {"shares": {at["share_qty"], at["share_amount"]}, "names": names, "keys": first,
            "groups": [[at["total_kg"], at["pa_kg"], at["share_qty"]],
                       [at["total_amount"], at["pa_amount"], at["share_amount"]],
                       [at["status"], at["shortfall_kg"], at["shortfall_amount"]]]}


def _institution_tables(period: list[MonthCompliance], rule: QuotaRule, t: dict, lang: str):
    by_canteen: dict[str, list[CanteenCompliance]] = {}
    for res in period:
        for c in res.canteens:
            by_canteen.setdefault(c.canteen, []).append(c)
    rows, snapshot = [], {"rows": {}}
    for code, per_month in by_canteen.items():
        months = rollup(code, per_month[0].canteen_name, per_month)
        status, shown = _status_text([c.status for c in per_month], STATUS_TEXT[lang])
        figs = _figures(months.tally, months.shortfall_mg, months.shortfall_fen, status)
        snapshot["rows"][code] = {"name": per_month[0].canteen_name, **figs}
        rows.append([code, per_month[0].canteen_name, *_row(figs, shown)])
    total = over_period([r.institutions[0] for r in period if r.institutions])
    total_figs = _figures(total.tally, total.shortfall_mg, total.shortfall_fen, f"{total.compliant}/{total.canteens}")
    snapshot["rows"]["total"] = {"name": "", **total_figs}
    columns = [t["code"], t["canteen"], *_figure_columns(t)]
    numeric = set(range(2, len(columns))) - {len(columns) - 3}
    summary = Table("summary", t["summary"], columns, rows, numeric,
                    totals=[["", t["total"], *_row(total_figs, total_figs["status"])]],
                    **_figure_layout(2, names={1}))
    cats: dict[tuple[str, str], list] = {}
    for res in period:
        for c in res.canteens:
            for k in c.categories:
                cats.setdefault((c.canteen, k.code), [k.name, k.counts_toward_quota, Tally()])[2] += k.tally
    cat_rows = [[canteen, name, t["yes"] if counts else t["no"], kg(tl.total_mg), kg(tl.pa_mg), share(tl.share_qty),
                 yuan(tl.total_fen), yuan(tl.pa_fen), share(tl.share_amount)]
                for (canteen, _), (name, counts, tl) in cats.items()]
    details = [Table("categories", t["categories"],
                     [t["canteen"], t["category"], t["counts"], t["total_kg"], t["pa_kg"], t["share_qty"],
                      t["total_yuan"], t["pa_yuan"], t["share_amount"]], cat_rows, set(range(3, 9)),
                     shares={5, 8}, names={1}, keys=3, groups=[[3, 4, 5], [6, 7, 8]])]
    return summary, details, snapshot


def _province_tables(period: list[MonthCompliance], rule: QuotaRule, t: dict, lang: str):
    by_inst: dict[str, list[Rollup]] = {}
    for res in period:
        for r in res.institutions:
            by_inst.setdefault(r.code, []).append(r)
    merged = [over_period(rs) for rs in by_inst.values()]

    def rank_key(r: Rollup):
        s = r.tally.share(rule.basis)
        return (s is None, -(s or 0), r.code)

    rows, snapshot = [], {"rows": {}}
    for rank, r in enumerate(sorted(merged, key=rank_key), start=1):
        figs = _figures(r.tally, r.shortfall_mg, r.shortfall_fen, f"{r.compliant}/{r.canteens}")
        snapshot["rows"][r.code] = {"name": r.name, **figs}
        rows.append([str(rank), r.code, r.name, *_row(figs, figs["status"])])
    total = over_period([res.province for res in period])
    total_figs = _figures(total.tally, total.shortfall_mg, total.shortfall_fen, f"{total.compliant}/{total.canteens}")
    snapshot["rows"]["total"] = {"name": "", **total_figs}
    columns = [t["rank"], t["code"], t["institution"], *_figure_columns(t)]
    columns[3 + SUMMARY_FIGURES.index("status")] = t["canteens_ok"]
    numeric = set(range(3, len(columns))) | {0}
    summary = Table("summary", t["province_summary"], columns, rows, numeric,
                    totals=[["", "", t["total"], *_row(total_figs, total_figs["status"])]],
                    **_figure_layout(3, names={2}))
    return summary, [], snapshot


def _appendix(lines: list[LedgerLine], t: dict[str, str]) -> Table:
    pa = [ln for ln in _live(lines) if ln.is_pa and ln.counts]
    rows = [[str(ln.date), ln.canteen, ln.supplier_name, ln.product, kg(ln.qty_mg), yuan(ln.amount_fen),
             t.get("source_" + ln.pa_source, ln.pa_source), ln.pa_certificate or "—", f"{ln.ref}/{ln.line}"]
            for ln in pa]
    totals = [["", "", "", t["appendix_total"], kg(sum(ln.qty_mg for ln in pa)), yuan(sum(ln.amount_fen for ln in pa)),
               "", "", ""]]
    return Table("appendix", t["appendix"], [t["date"], t["canteen"], t["supplier"], t["product"], "kg",
                                             t["total_yuan"], t["source"], t["certificate"], t["ref"]],
                 rows, {4, 5}, totals, empty=t["no_exceptions"], keys=2)


def describe_changes(view: ReportView, previous_snapshot: dict, previous_at: dt.datetime,
                     session: Session) -> list[str]:
    """What differs from the previous issue: reopened months, entries added or gone, changed figures."""
    t = view.t
    out: list[str] = []
    if previous_at.tzinfo is None:
        previous_at = previous_at.replace(tzinfo=dt.UTC)
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity == "month", AuditEvent.action == "reopen",
                                                      AuditEvent.entity_key.in_(view.months))
                             .order_by(AuditEvent.id))
    for e in events:
        at = e.at if e.at.tzinfo else e.at.replace(tzinfo=dt.UTC)
        if at >= previous_at:
            out.append(t["reopened"].format(month=e.entity_key, at=f"{at.astimezone(CHINA):%Y-%m-%d %H:%M}",
                                            who=e.actor, reason=e.reason or ""))
    old_ids, new_ids = set(previous_snapshot.get("entries", [])), set(view.snapshot["entries"])
    added = sorted(new_ids - old_ids)
    if added:
        out.append(f"{t['entries_added']}: " + "; ".join(_entry_text(view.lines[i], t) for i in added))
    gone = sorted(old_ids - new_ids)
    if gone:
        out.append(f"{t['entries_gone']}: " + ", ".join(f"#{i}" for i in gone))
    old_rows, new_rows = previous_snapshot.get("rows", {}), view.snapshot["rows"]
    for code in [*new_rows, *[c for c in old_rows if c not in new_rows]]:
        old, new = old_rows.get(code, {}), new_rows.get(code, {})
        diffs = [f"{t[FIGURE_LABEL[f]]} {old.get(f, '—')} → {new.get(f, '—')}"
                 for f in SUMMARY_FIGURES if old.get(f) != new.get(f)]
        if diffs:
            label = code if code == "total" else f"{code} {new.get('name') or old.get('name', '')}"
            out.append(f"{t['total'] if code == 'total' else label}: " + "; ".join(diffs))
    if not added and not gone and len(out) == 0:
        out.append(t["other_change"])
    return out


def _entry_text(ln: LedgerLine, t: dict[str, str]) -> str:
    void = f" ({t['void_of'].format(n=ln.reverses_id)})" if ln.reverses_id else ""
    return (f"#{ln.id} {ln.date} {ln.canteen} {ln.supplier_name} {ln.product} {kg(ln.qty_mg)} kg "
            f"¥{yuan(ln.amount_fen)}{void}")
